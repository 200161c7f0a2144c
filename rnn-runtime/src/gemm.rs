//! Matrix products on a right operand packed once and reused.
//!
//! A recurrent cell multiplies by the same weight matrix at every time step.
//! General GEMM libraries (matrixmultiply, `gemm`) lay both operands out in
//! their panel format on every call, so a 64-step sequence lays the
//! recurrent weights out 64 times, and they allocate their packing buffers
//! per call. Here the right operand `B` (`K x N`) is packed once into
//! [`PackedB`]: column panels of [`NR`] values per row of `B`, zero padded;
//! [`gemm_packed`] then reads the left operand `A` in place through its
//! strides (row-major, or transposed for weight gradients) and needs no
//! memory of its own.
//!
//! The inner kernel computes an `MR x NR` block of `C` in registers: with
//! AVX-512 (detected at run time) for `f32` and `f64`, otherwise a portable
//! loop over fixed-size arrays that the compiler vectorises for the baseline
//! target. Loop order: `K` in blocks of [`KC`], columns in blocks of [`NC`],
//! register blocks of [`MR`] rows (an `MR x KC` block of `A` stays in L1),
//! then the panels of the column block, streamed from L2.

use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::Workspace;

/// Columns of `C` per panel (two AVX-512 vectors of `f32`).
pub const NR: usize = 32;
/// Rows of `C` per register block.
pub const MR: usize = 8;
/// Depth of one pass over a panel: an `MR x KC` block of `A` (16 KiB in
/// `f32`) stays in L1 while the panels stream past it from L2.
pub const KC: usize = 512;
/// Columns of `B` per pass of the row blocks (a `KC x NC` block of packed
/// `B`, 1 MiB in `f32`, is what streams from L2).
pub const NC: usize = 512;
/// Rows of a packed `A` block: `MC x KC` values (256 KiB in `f32`) in L2.
pub const MC: usize = 128;

/// The right operand `B[K x N]` of a product, packed in column panels.
#[derive(Debug, Clone, Default)]
pub struct PackedB<F> {
    k: usize,
    n: usize,
    data: Vec<F>,
}

impl<F: Float> PackedB<F> {
    /// An empty packing (no allocation until the first `pack_*`).
    pub fn new() -> Self {
        PackedB {
            k: 0,
            n: 0,
            data: Vec::new(),
        }
    }

    /// Packs `B = W^T` for a row-major `W[N x K]` with row stride `ldw`
    /// (a weight used as `x W^T`).
    pub fn nt(w: &[F], n: usize, k: usize, ldw: usize) -> Self {
        let mut p = Self::new();
        p.pack_nt(w, n, k, ldw);
        p
    }

    /// Packs a row-major `B[K x N]` with row stride `ldb`.
    pub fn nn(b: &[F], k: usize, n: usize, ldb: usize) -> Self {
        let mut p = Self::new();
        p.pack_nn(b, k, n, ldb);
        p
    }

    /// Packs `W^T` like [`PackedB::nt`] into a buffer from `ws`.
    pub fn nt_in(ws: &mut Workspace<F>, w: &[F], n: usize, k: usize, ldw: usize) -> Self {
        let mut p = Self::from_vec(ws.take_dirty(Self::packed_len(k, n)));
        p.pack_nt(w, n, k, ldw);
        p
    }

    /// Packs `B` like [`PackedB::nn`] into a buffer from `ws`.
    pub fn nn_in(ws: &mut Workspace<F>, b: &[F], k: usize, n: usize, ldb: usize) -> Self {
        let mut p = Self::from_vec(ws.take_dirty(Self::packed_len(k, n)));
        p.pack_nn(b, k, n, ldb);
        p
    }

    /// An empty packing over `data`'s memory.
    pub fn from_vec(data: Vec<F>) -> Self {
        PackedB { k: 0, n: 0, data }
    }

    /// The memory, to give back to a workspace.
    pub fn into_vec(self) -> Vec<F> {
        self.data
    }

    /// Number of values a packed `K x N` operand takes.
    pub fn packed_len(k: usize, n: usize) -> usize {
        k * n.div_ceil(NR) * NR
    }

    /// Sizes the buffer for `K x N` (old contents stay; packing overwrites
    /// every value) and zeroes the padding columns of the last panel.
    fn resize(&mut self, k: usize, n: usize) {
        self.k = k;
        self.n = n;
        let len = Self::packed_len(k, n);
        if self.data.len() >= len {
            self.data.truncate(len);
        } else {
            self.data.resize(len, F::zero());
        }
        let w = n % NR;
        if w != 0 {
            let last = &mut self.data[(n / NR) * k * NR..];
            for kk in 0..k {
                last[kk * NR + w..(kk + 1) * NR].fill(F::zero());
            }
        }
    }

    /// Repacks from `W[N x K]` (see [`PackedB::nt`]), reusing the memory.
    pub fn pack_nt(&mut self, w: &[F], n: usize, k: usize, ldw: usize) {
        self.resize(k, n);
        for_panels(&mut self.data, k * NR, |p, panel| {
            for j in 0..NR.min(n - p * NR) {
                let row = &w[(p * NR + j) * ldw..][..k];
                for (kk, &v) in row.iter().enumerate() {
                    panel[kk * NR + j] = v;
                }
            }
        });
    }

    /// Repacks from `B[K x N]` (see [`PackedB::nn`]), reusing the memory.
    pub fn pack_nn(&mut self, b: &[F], k: usize, n: usize, ldb: usize) {
        self.resize(k, n);
        for_panels(&mut self.data, k * NR, |p, panel| {
            let (j0, w) = (p * NR, NR.min(n - p * NR));
            for (kk, dst) in panel.chunks_exact_mut(NR).enumerate() {
                copy_group::<F, NR>(dst, &b[kk * ldb + j0..][..w]);
            }
        });
    }

    /// Row `p` of `B` (`p < K`) into `out` (`N` values): `out = beta out + B[p]`.
    pub fn copy_row(&self, p: usize, beta: F, out: &mut [F]) {
        let (k, n) = (self.k, self.n);
        assert!(p < k && out.len() >= n, "PackedB: row {p} of {k}");
        for (q, panel) in self.data.chunks_exact(k * NR).enumerate() {
            let (j0, w) = (q * NR, NR.min(n - q * NR));
            let src = &panel[p * NR..][..w];
            let dst = &mut out[j0..j0 + w];
            if beta == F::zero() {
                dst.copy_from_slice(src);
            } else {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = beta * *d + s;
                }
            }
        }
    }

    /// `K`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// `N`.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// The left operand: `A[i][p]` is `data[i * row + p * col]`.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, F> {
    /// The elements.
    pub data: &'a [F],
    /// Distance between rows.
    pub row: usize,
    /// Distance between columns.
    pub col: usize,
}

impl<'a, F> Strided<'a, F> {
    /// A row-major matrix with row stride `ld`.
    pub fn rows(data: &'a [F], ld: usize) -> Self {
        Strided { data, row: ld, col: 1 }
    }

    /// The transpose of a row-major matrix with row stride `ld`.
    pub fn transposed(data: &'a [F], ld: usize) -> Self {
        Strided { data, row: 1, col: ld }
    }
}

/// The transposed left operand `dY^T` of weight-gradient products, laid
/// out as the kernel reads it: for each group of [`MR`] columns of `dY`, its
/// `k` rows as `k` runs of `MR` values.
///
/// A backward pass that produces `dY` one time step at a time copies each
/// step's rows in with [`PanelsA::put_rows`] while they are still in cache;
/// the weight-gradient products after the loop then read the panels
/// straight through, instead of gathering `MR` values from each row of a
/// large, long-evicted buffer.
///
/// ```
/// use rnn_runtime::gemm::{PackedB, PanelsA, gemm_panels};
/// // dY [k=2 x m=3], X [k=2 x n=1]; C = dY^T X.
/// let dy = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut a = PanelsA::new(2, 3);
/// a.put_rows(0, &dy, 3, 2);
/// let x = PackedB::nn(&[1.0, 10.0], 2, 1, 1);
/// let mut c = [0.0_f32; 3];
/// gemm_panels(3, &a, 0, &x, 0.0, &mut c, 1);
/// assert_eq!(c, [41.0, 52.0, 63.0]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct PanelsA<F> {
    k: usize,
    m: usize,
    data: Vec<F>,
}

impl<F: Float> PanelsA<F> {
    /// Room for a `dY` of `k` rows and `m` columns.
    pub fn new(k: usize, m: usize) -> Self {
        Self::from_vec(vec![F::zero(); Self::len_for(k, m)], k, m)
    }

    /// Like [`PanelsA::new`], with memory from `ws` (every value is written
    /// by [`PanelsA::put_rows`] before a product reads it).
    pub fn new_in(ws: &mut Workspace<F>, k: usize, m: usize) -> Self {
        Self::from_vec(ws.take_dirty(Self::len_for(k, m)), k, m)
    }

    fn from_vec(data: Vec<F>, k: usize, m: usize) -> Self {
        PanelsA { k, m, data }
    }

    fn len_for(k: usize, m: usize) -> usize {
        m.div_ceil(MR) * k * MR
    }

    /// Copies rows `r0..r0 + n` of `dY` from `src` (row stride `ld`, the
    /// first `m` values of each row).
    pub fn put_rows(&mut self, r0: usize, src: &[F], ld: usize, n: usize) {
        assert!(r0 + n <= self.k, "PanelsA: rows past k");
        let (k, m) = (self.k, self.m);
        let work = n * m;
        for_panels_if(work >= PAR_COPY_MIN, &mut self.data, k * MR, |s, panel| {
            let (j0, w) = (s * MR, MR.min(m - s * MR));
            let dst = &mut panel[r0 * MR..(r0 + n) * MR];
            for (r, group) in dst.chunks_exact_mut(MR).enumerate() {
                copy_group::<F, MR>(group, &src[r * ld + j0..][..w]);
            }
        });
    }

    /// `k`, the number of rows of `dY`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// `m`, the number of columns of `dY`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// The memory, to give back to a workspace.
    pub fn into_vec(self) -> Vec<F> {
        self.data
    }
}

/// Copies `src` (at most `W` values) to the start of the `W` values of
/// `dst`: a whole group as one fixed-size copy (a few vector moves).
#[inline(always)]
fn copy_group<F: Copy, const W: usize>(dst: &mut [F], src: &[F]) {
    match <&[F; W]>::try_from(src) {
        Ok(full) => *<&mut [F; W]>::try_from(dst).expect("W values") = *full,
        Err(_) => dst[..src.len()].copy_from_slice(src),
    }
}

/// Values below which a copy into panels stays on one thread (one time
/// step's `dY` of the medium workload, 24K values, is split).
const PAR_COPY_MIN: usize = 1 << 13;

/// Runs `f(p, panel)` on every panel of `len` values of `data`, the two
/// halves on two threads when the pool has them and the copy is large.
fn for_panels<F: Send>(data: &mut [F], len: usize, f: impl Fn(usize, &mut [F]) + Sync) {
    let big = data.len() >= 4 * PAR_COPY_MIN;
    for_panels_if(big, data, len, f);
}

fn for_panels_if<F: Send>(split: bool, data: &mut [F], len: usize, f: impl Fn(usize, &mut [F]) + Sync) {
    let panels = data.len() / len.max(1);
    if split && panels >= 2 && rayon::current_num_threads() > 1 {
        let half = panels / 2;
        let (lo, hi) = data.split_at_mut(half * len);
        rayon::join(
            || lo.chunks_exact_mut(len).enumerate().for_each(|(p, d)| f(p, d)),
            || hi.chunks_exact_mut(len).enumerate().for_each(|(p, d)| f(half + p, d)),
        );
    } else {
        data.chunks_exact_mut(len.max(1)).enumerate().for_each(|(p, d)| f(p, d));
    }
}

/// The left operand as the loops read it.
#[derive(Debug, Clone, Copy)]
enum Lhs<'a, F> {
    /// Through its strides: in place if row-major, else packed MC rows at a time.
    Strided(Strided<'a, F>),
    /// Register-block panels of a [`PanelsA`], from panel `first`.
    Panels { data: &'a [F], k: usize, first: usize },
}

impl<'a, F> Lhs<'a, F> {
    /// The operand without its first `rows` rows (a multiple of [`MR`]).
    fn skip(self, rows: usize) -> Self {
        match self {
            Lhs::Strided(a) => Lhs::Strided(Strided {
                data: &a.data[rows * a.row..],
                ..a
            }),
            Lhs::Panels { data, k, first } => Lhs::Panels {
                data,
                k,
                first: first + rows / MR,
            },
        }
    }
}

/// `C[m x N] = beta C + dY[:, col0..col0 + m]^T B` for `dY` in panels (see
/// [`PanelsA`]) and a packed `B` of `K = a.k()` rows; `col0` must be a
/// multiple of [`MR`].
///
/// Panics if `col0` is not, if the columns run past `a.m()`, or if `B` or
/// `C` do not fit the shapes.
pub fn gemm_panels<F: Float>(m: usize, a: &PanelsA<F>, col0: usize, b: &PackedB<F>, beta: F, c: &mut [F], ldc: usize) {
    gemm_panels_parts(m, a, col0, [b], beta, [(c, ldc)]);
}

/// [`gemm_panels`] for several right operands at once: `C_i = beta C_i +
/// dY^T B_i`, as if the `B_i` stood side by side. Each register block of
/// `dY` is read once for all of them (the weight gradients of the input
/// and the recurrent weights share `dY`).
pub fn gemm_panels_parts<F: Float, const N: usize>(
    m: usize,
    a: &PanelsA<F>,
    col0: usize,
    bs: [&PackedB<F>; N],
    beta: F,
    cs: [(&mut [F], usize); N],
) {
    assert!(
        col0.is_multiple_of(MR) && col0 + m <= a.m,
        "gemm_panels: columns {col0}..{} of {}",
        col0 + m,
        a.m
    );
    for b in &bs {
        assert_eq!(a.k, b.k, "gemm_panels: dY has {} rows, B {}", a.k, b.k);
    }
    let lhs = Lhs::Panels {
        data: &a.data,
        k: a.k,
        first: col0 / MR,
    };
    gemm_lhs(m, lhs, bs, beta, cs);
}

/// `C[m x N] = beta C + A[m x K] B` for a packed `B`; `C` row-major with row stride `ldc`.
///
/// Panics if a slice is too short for the shapes (checked once, up front).
///
/// ```
/// use rnn_runtime::gemm::{PackedB, Strided, gemm_packed};
/// // c[1x2] = a[1x3] · w[2x3]^T
/// let w = [1.0_f32, 0.0, 0.0, 0.0, 1.0, 1.0];
/// let b = PackedB::nt(&w, 2, 3, 3);
/// let mut c = [0.0_f32; 2];
/// gemm_packed(1, Strided::rows(&[1.0, 2.0, 3.0], 3), &b, 0.0, &mut c, 2);
/// assert_eq!(c, [1.0, 5.0]);
/// ```
pub fn gemm_packed<F: Float>(m: usize, a: Strided<'_, F>, b: &PackedB<F>, beta: F, c: &mut [F], ldc: usize) {
    let k = b.k;
    if m > 0 && k > 0 {
        assert!(a.data.len() > (m - 1) * a.row + (k - 1) * a.col, "gemm: A too short");
    }
    gemm_lhs(m, Lhs::Strided(a), [b], beta, [(c, ldc)]);
}

/// The `C` of each right operand, with its row stride.
type Outs<'a, F, const N: usize> = [(&'a mut [F], usize); N];

/// Checks every `C`, handles the empty cases, and runs the product.
fn gemm_lhs<F: Float, const N: usize>(m: usize, a: Lhs<'_, F>, bs: [&PackedB<F>; N], beta: F, mut cs: Outs<'_, F, N>) {
    if m == 0 || bs.iter().all(|b| b.n == 0) {
        return;
    }
    for (b, (c, ldc)) in bs.iter().zip(cs.iter_mut()) {
        let n = b.n;
        if n == 0 {
            continue;
        }
        assert!(*ldc >= n && c.len() >= (m - 1) * *ldc + n, "gemm: C too short");
        if b.k == 0 {
            for i in 0..m {
                for v in &mut c[i * *ldc..][..n] {
                    *v = if beta == F::zero() { F::zero() } else { beta * *v };
                }
            }
        }
    }
    if bs[0].k == 0 {
        return;
    }
    gemm_rows(m, a, bs, beta, cs, rayon::current_num_threads());
}

/// Sets how many threads matrix products may use (rayon's global pool).
/// Call it once, before the first product; without it rayon uses one
/// thread per core.
///
/// Errors: [`RnnError::Invalid`] for 0 threads or if the pool was already
/// built with another size.
pub fn set_threads(n: usize) -> Result<(), RnnError> {
    if n == 0 {
        return Err(RnnError::Invalid("the thread count must be at least 1".into()));
    }
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(RnnError::Invalid(format!(
            "cannot use {n} threads: {e} (the pool already has {})",
            rayon::current_num_threads()
        ))),
    }
}

/// Runs `f` on one of the pool's threads when there are several, so the
/// products inside split their rows without handing each one over from
/// outside the pool (which wakes a sleeping thread per product).
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_num_threads() > 1 && rayon::current_thread_index().is_none() {
        rayon::scope(|_| f())
    } else {
        f()
    }
}

/// The number of threads matrix products use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Multiply-adds below which a product stays on one thread (about 20 µs).
const PAR_MIN: usize = 1 << 20;

/// Splits the rows of `C` between `threads` threads (rayon's pool): each
/// part is computed exactly as it would be alone, so the result does not
/// depend on the thread count.
fn gemm_rows<F: Float, const N: usize>(
    m: usize,
    a: Lhs<'_, F>,
    bs: [&PackedB<F>; N],
    beta: F,
    cs: Outs<'_, F, N>,
    threads: usize,
) {
    let work: usize = bs.iter().map(|b| m * b.n * b.k).sum();
    if threads > 1 && m >= 2 * MR && work >= PAR_MIN {
        let top = (m / 2).div_ceil(MR) * MR;
        let mut halves = cs.map(|(c, ldc)| {
            let (t, r) = c.split_at_mut((top * ldc).min(c.len()));
            (Some((t, ldc)), Some((r, ldc)))
        });
        let c_top: Outs<'_, F, N> = core::array::from_fn(|i| halves[i].0.take().expect("top half"));
        let c_rest: Outs<'_, F, N> = core::array::from_fn(|i| halves[i].1.take().expect("bottom half"));
        let a_rest = a.skip(top);
        let half = threads / 2;
        rayon::join(
            || gemm_rows(top, a, bs, beta, c_top, half.max(1)),
            || gemm_rows(m - top, a_rest, bs, beta, c_rest, (threads - half).max(1)),
        );
        return;
    }
    gemm_serial(m, a, bs, beta, cs);
}

fn gemm_serial<F: Float, const N: usize>(m: usize, a: Lhs<'_, F>, bs: [&PackedB<F>; N], beta: F, cs: Outs<'_, F, N>) {
    match a {
        // Row-major A is read in place, and panels as they are.
        Lhs::Strided(s) if s.col == 1 => gemm_blocks(m, ASource::InPlace(s), bs, beta, cs),
        Lhs::Panels { data, k, first } => gemm_blocks(m, ASource::Panels { data, k, first }, bs, beta, cs),
        // Any other layout (the transposed A of weight gradients, whose rows
        // of one k lie a whole row of storage apart) is copied, MC rows at a
        // time, into register-block panels: the kernel then reads the MR
        // values of a k from one cache line.
        Lhs::Strided(s) => {
            F::with_pack_buffer(MC * KC, |buf| gemm_blocks(m, ASource::Pack(s, buf), bs, beta, cs));
        }
    }
}

/// Where [`gemm_blocks`] reads each register block of `A` from.
enum ASource<'a, 'b, F> {
    /// A row-major `A`, in place.
    InPlace(Strided<'a, F>),
    /// Any `A`, copied by [`pack_a`] `MC` rows at a time into the buffer.
    Pack(Strided<'a, F>, &'b mut [F]),
    /// Panels of a [`PanelsA`] with `k` rows each, from panel `first`.
    Panels { data: &'a [F], k: usize, first: usize },
}

/// The loops around the register-block kernel, reading `A` from `a`; the
/// panels of the right operands `bs` are visited as if they stood side by
/// side (panel `q` overall is panel `q - first[i]` of `bs[i]`).
fn gemm_blocks<F: Float, const N: usize>(
    m: usize,
    mut a: ASource<'_, '_, F>,
    bs: [&PackedB<F>; N],
    beta: F,
    mut cs: Outs<'_, F, N>,
) {
    let k = bs[0].k;
    let mut first = [0usize; N];
    for i in 1..N {
        first[i] = first[i - 1] + bs[i - 1].n.div_ceil(NR);
    }
    let panels = first[N - 1] + bs[N - 1].n.div_ceil(NR);
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let beta = if k0 == 0 { beta } else { F::one() };
        let mut p0 = 0;
        while p0 < panels {
            let p1 = (p0 + NC / NR).min(panels);
            let mut i0 = 0;
            while i0 < m {
                let mr = MR.min(m - i0);
                let (a_blk, row, col): (&[F], usize, usize) = match &mut a {
                    ASource::InPlace(s) => (&s.data[i0 * s.row + k0..], s.row, 1),
                    ASource::Pack(s, buf) => {
                        if i0 % MC == 0 {
                            pack_a(buf, *s, i0, k0, MC.min(m - i0), kc);
                        }
                        let panel = (i0 % MC) / MR;
                        (&buf[panel * MR * kc..][..MR * kc], 1, MR)
                    }
                    ASource::Panels { data, k, first } => {
                        let panel = *first + i0 / MR;
                        (&data[panel * *k * MR + k0 * MR..][..MR * kc], 1, MR)
                    }
                };
                for q in p0..p1 {
                    let i = first.iter().rposition(|&f| f <= q).expect("panel of some operand");
                    let (b, (c, ldc)) = (bs[i], &mut cs[i]);
                    let p = q - first[i];
                    let (j0, w) = (p * NR, NR.min(b.n - p * NR));
                    let block = Block {
                        a: a_blk,
                        row,
                        col,
                        panel: &b.data[p * k * NR + k0 * NR..][..kc * NR],
                        kc,
                        mr,
                        w,
                        beta,
                    };
                    F::kernel(&block, &mut c[i0 * *ldc + j0..], *ldc);
                }
                i0 += mr;
            }
            p0 = p1;
        }
        k0 += kc;
    }
}

/// How many k ahead [`pack_a`] asks for its source rows.
const PREFETCH_K: usize = 8;

/// Hints that `data` will be read soon (one request per cache line).
#[inline(always)]
fn prefetch<F>(data: &[F]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = core::mem::size_of_val(data);
        let p = data.as_ptr().cast::<i8>();
        for off in (0..bytes).step_by(64) {
            // SAFETY: a prefetch never faults, and `off` is inside `data`.
            unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Copies rows `i0..i0 + mc` and columns `k0..k0 + kc` of `A` into `dst` as
/// register-block panels: panel `r` holds rows `i0 + r MR ..` as `kc` groups
/// of `MR` values, one group per k (rows past `mc` in the last panel are
/// left as they are: the kernel never stores them).
fn pack_a<F: Float>(dst: &mut [F], a: Strided<'_, F>, i0: usize, k0: usize, mc: usize, kc: usize) {
    let panels = mc.div_ceil(MR);
    let span = (mc - 1) * a.row + 1;
    for kk in 0..kc {
        let base = i0 * a.row + (k0 + kk) * a.col;
        // The rows of A a few k ahead are far apart in memory (the hardware
        // prefetcher does not follow): ask for them now.
        if let Some(ahead) = a.data.get(base + PREFETCH_K * a.col..base + PREFETCH_K * a.col + span) {
            prefetch(ahead);
        }
        for r in 0..panels {
            let rows = MR.min(mc - r * MR);
            let group = &mut dst[r * MR * kc + kk * MR..][..MR];
            if a.row == 1 && rows == MR {
                // One k of MR adjacent rows: a fixed-size copy.
                let src: &[F; MR] = a.data[base + r * MR..][..MR].try_into().expect("MR values");
                *<&mut [F; MR]>::try_from(group).expect("MR values") = *src;
            } else {
                for (i, v) in group[..rows].iter_mut().enumerate() {
                    *v = a.data[base + (r * MR + i) * a.row];
                }
            }
        }
    }
}

/// One register block: `C[mr x w] = beta C + A[mr x kc] panel[kc x NR]`.
pub struct Block<'a, F> {
    a: &'a [F],
    row: usize,
    col: usize,
    panel: &'a [F],
    kc: usize,
    mr: usize,
    w: usize,
    beta: F,
}

/// The register-block kernel for a float type.
pub trait GemmKernel: Sized + Copy {
    /// Computes `block` into `c` (row stride `ldc`).
    fn kernel(block: &Block<'_, Self>, c: &mut [Self], ldc: usize);

    /// Runs `f` on this thread's packing buffer of at least `len` values
    /// (allocated on a thread's first product, then reused).
    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

/// This thread's packing buffer for one float type.
macro_rules! pack_buffer {
    ($t:ty, $len:expr, $f:expr) => {{
        thread_local! {
            static BUF: core::cell::RefCell<Vec<$t>> = const { core::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < $len {
                buf.resize($len, 0.0);
            }
            $f(&mut buf[..$len])
        })
    }};
}

/// Calls `$f::<R>` for the block's row count `R` (1..=MR), so every
/// kernel's accumulator array has a constant size and lives in registers.
macro_rules! by_rows {
    ($f:ident [$($g:tt)*], $blk:expr, $c:expr, $ldc:expr) => {
        match $blk.mr {
            8 => $f::<$($g)* 8>($blk, $c, $ldc),
            7 => $f::<$($g)* 7>($blk, $c, $ldc),
            6 => $f::<$($g)* 6>($blk, $c, $ldc),
            5 => $f::<$($g)* 5>($blk, $c, $ldc),
            4 => $f::<$($g)* 4>($blk, $c, $ldc),
            3 => $f::<$($g)* 3>($blk, $c, $ldc),
            2 => $f::<$($g)* 2>($blk, $c, $ldc),
            _ => $f::<$($g)* 1>($blk, $c, $ldc),
        }
    };
}

/// The portable kernel: fixed-size accumulators the compiler vectorises.
fn kernel_portable<F: Float>(blk: &Block<'_, F>, c: &mut [F], ldc: usize) {
    by_rows!(portable_rows[F,], blk, c, ldc)
}

fn portable_rows<F: Float, const R: usize>(blk: &Block<'_, F>, c: &mut [F], ldc: usize) {
    let mut acc = [[F::zero(); NR]; R];
    let a = &blk.a[..(R - 1) * blk.row + (blk.kc - 1) * blk.col + 1];
    for kk in 0..blk.kc {
        let bv: &[F; NR] = blk.panel[kk * NR..][..NR].try_into().expect("panel row");
        for (i, row) in acc.iter_mut().enumerate() {
            let av = a[i * blk.row + kk * blk.col];
            for (r, &b) in row.iter_mut().zip(bv) {
                *r += av * b;
            }
        }
    }
    store(blk, &acc, c, ldc);
}

fn store<F: Float, const W: usize, const R: usize>(blk: &Block<'_, F>, acc: &[[F; W]; R], c: &mut [F], ldc: usize) {
    for (i, row) in acc.iter().enumerate() {
        let out = &mut c[i * ldc..][..blk.w];
        if blk.beta == F::zero() {
            out.copy_from_slice(&row[..blk.w]);
        } else {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = blk.beta * *o + v;
            }
        }
    }
}

impl GemmKernel for f64 {
    fn kernel(block: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { avx512::kernel_f64(block, c, ldc) };
            return;
        }
        kernel_portable(block, c, ldc);
    }

    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
        pack_buffer!(f64, len, f)
    }
}

impl GemmKernel for f32 {
    fn kernel(block: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { avx512::kernel_f32(block, c, ldc) };
            return;
        }
        kernel_portable(block, c, ldc);
    }

    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        pack_buffer!(f32, len, f)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! AVX-512 register blocks: `MR` rows times two (f32) or four (f64)
    //! vectors of accumulators, `A` broadcast one element at a time.
    use super::{Block, NR, store};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn kernel_f32(blk: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
        by_rows!(rows_f32[], blk, c, ldc)
    }

    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn kernel_f64(blk: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
        by_rows!(rows_f64[], blk, c, ldc)
    }

    /// Checks once that every `A` element the block reads is in bounds.
    fn check_a<F>(blk: &Block<'_, F>, rows: usize) {
        assert!(
            blk.a.len() > (rows - 1) * blk.row + (blk.kc - 1) * blk.col,
            "gemm block: A too short"
        );
        assert!(blk.panel.len() >= blk.kc * NR, "gemm block: panel too short");
    }

    #[target_feature(enable = "avx512f")]
    fn rows_f32<const R: usize>(blk: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
        check_a(blk, R);
        if blk.beta != 0.0 {
            // The C tile is read after the loop: ask for it now, so that it
            // arrives (often from L3: C is large) while the FMAs run.
            for i in 0..R {
                if let Some(row) = c.get(i * ldc..i * ldc + blk.w) {
                    super::prefetch(row);
                }
            }
        }
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        let (pa, pb) = (blk.a.as_ptr(), blk.panel.as_ptr());
        // The two layouts of A get loops whose addresses are a pointer plus
        // the loop counter or a constant, so no address arithmetic is left
        // between the FMAs.
        if blk.col == 1 {
            // Row-major A: one pointer per row, walked along k.
            // SAFETY: i < R rows, `check_a` verified they are in bounds.
            let rows: [*const f32; R] = core::array::from_fn(|i| unsafe { pa.add(i * blk.row) });
            for kk in 0..blk.kc {
                // SAFETY: kk < kc, within the bounds `check_a` verified.
                unsafe {
                    let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                    let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                    for (row, p) in acc.iter_mut().zip(&rows) {
                        let av = _mm512_set1_ps(*p.add(kk));
                        row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                        row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                    }
                }
            }
        } else if blk.row == 1 {
            // Transposed A (weight gradients): the R values of a k are adjacent.
            for kk in 0..blk.kc {
                // SAFETY: kk < kc and i < R, within the bounds `check_a` verified.
                unsafe {
                    let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                    let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                    let ak = pa.add(kk * blk.col);
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = _mm512_set1_ps(*ak.add(i));
                        row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                        row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                    }
                }
            }
        } else {
            for kk in 0..blk.kc {
                // SAFETY: kk < kc and i < R, both within the bounds `check_a` verified.
                unsafe {
                    let b0 = _mm512_loadu_ps(pb.add(kk * NR));
                    let b1 = _mm512_loadu_ps(pb.add(kk * NR + 16));
                    let ak = pa.add(kk * blk.col);
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = _mm512_set1_ps(*ak.add(i * blk.row));
                        row[0] = _mm512_fmadd_ps(av, b0, row[0]);
                        row[1] = _mm512_fmadd_ps(av, b1, row[1]);
                    }
                }
            }
        }
        if blk.w == NR {
            // A full panel: straight to C (with `beta C` added by one FMA).
            for (i, row) in acc.iter().enumerate() {
                let out = &mut c[i * ldc..][..NR];
                let p = out.as_mut_ptr();
                // SAFETY: `out` holds NR = 32 floats.
                unsafe {
                    if blk.beta == 0.0 {
                        _mm512_storeu_ps(p, row[0]);
                        _mm512_storeu_ps(p.add(16), row[1]);
                    } else {
                        let beta = _mm512_set1_ps(blk.beta);
                        _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_loadu_ps(p), beta, row[0]));
                        _mm512_storeu_ps(p.add(16), _mm512_fmadd_ps(_mm512_loadu_ps(p.add(16)), beta, row[1]));
                    }
                }
            }
            return;
        }
        let mut out = [[0.0_f32; NR]; R];
        for (o, row) in out.iter_mut().zip(&acc) {
            // SAFETY: `o` holds NR = 32 floats.
            unsafe {
                _mm512_storeu_ps(o.as_mut_ptr(), row[0]);
                _mm512_storeu_ps(o.as_mut_ptr().add(16), row[1]);
            }
        }
        store(blk, &out, c, ldc);
    }

    #[target_feature(enable = "avx512f")]
    fn rows_f64<const R: usize>(blk: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
        check_a(blk, R);
        let mut acc = [[_mm512_setzero_pd(); 4]; R];
        let (pa, pb) = (blk.a.as_ptr(), blk.panel.as_ptr());
        for kk in 0..blk.kc {
            // SAFETY: kk < kc and i < R, both within the bounds `check_a` verified.
            unsafe {
                let b = [
                    _mm512_loadu_pd(pb.add(kk * NR)),
                    _mm512_loadu_pd(pb.add(kk * NR + 8)),
                    _mm512_loadu_pd(pb.add(kk * NR + 16)),
                    _mm512_loadu_pd(pb.add(kk * NR + 24)),
                ];
                let ak = pa.add(kk * blk.col);
                for (i, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_pd(*ak.add(i * blk.row));
                    for (r, &bq) in row.iter_mut().zip(&b) {
                        *r = _mm512_fmadd_pd(av, bq, *r);
                    }
                }
            }
        }
        let mut out = [[0.0_f64; NR]; R];
        for (o, row) in out.iter_mut().zip(&acc) {
            for (q, &v) in row.iter().enumerate() {
                // SAFETY: `o` holds NR = 32 doubles and q * 8 + 8 <= 32.
                unsafe { _mm512_storeu_pd(o.as_mut_ptr().add(q * 8), v) };
            }
        }
        store(blk, &out, c, ldc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_rows_between_threads_changes_nothing() {
        let (m, n, k) = (70, 100, 300);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|v| (v as f32 * 0.11).cos()).collect();
        let b = PackedB::nt(&w, n, k, k);
        let mut one = vec![0.0_f32; m * n];
        gemm_rows(m, Lhs::Strided(Strided::rows(&a, k)), [&b], 0.0, [(&mut one[..], n)], 1);
        for threads in [2, 3, 4] {
            let mut many = vec![0.0_f32; m * n];
            gemm_rows(
                m,
                Lhs::Strided(Strided::rows(&a, k)),
                [&b],
                0.0,
                [(&mut many[..], n)],
                threads,
            );
            assert_eq!(one, many, "{threads} threads");
        }
    }

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f64,
        b: impl Fn(usize, usize) -> f64,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            }
        }
        c
    }

    fn check<F: Float>(m: usize, n: usize, k: usize, tol: f64) {
        let lda = k + 3;
        let a: Vec<F> = (0..m * lda)
            .map(|v| F::from_f64c(((v * 7 % 13) as f64 - 6.0) * 0.25))
            .collect();
        let w: Vec<F> = (0..n * k)
            .map(|v| F::from_f64c(((v * 5 % 11) as f64 - 5.0) * 0.5))
            .collect();
        let want = naive(m, n, k, |i, p| a[i * lda + p].to_f64c(), |p, j| w[j * k + p].to_f64c());
        let mut c = vec![F::one(); m * n];
        gemm_packed(
            m,
            Strided::rows(&a, lda),
            &PackedB::nt(&w, n, k, k),
            F::zero(),
            &mut c,
            n,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!(
                (x.to_f64c() - y).abs() <= tol * (1.0 + y.abs()),
                "{m}x{n}x{k}: {x} vs {y}"
            );
        }
        // B stored as K x N, A transposed, beta = 1 accumulates.
        let wt: Vec<F> = (0..k * n).map(|i| w[(i % n) * k + i / n]).collect();
        let at: Vec<F> = (0..k * m).map(|i| a[(i % m) * lda + i / m]).collect();
        gemm_packed(
            m,
            Strided::transposed(&at, m),
            &PackedB::nn(&wt, k, n, n),
            F::one(),
            &mut c,
            n,
        );
        for (x, y) in c.iter().zip(&want) {
            assert!(
                (x.to_f64c() - 2.0 * y).abs() <= tol * (1.0 + y.abs()),
                "{m}x{n}x{k} nn: {x} vs {y}"
            );
        }
    }

    #[test]
    fn packed_products_match_naive() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 32, 16),
            (9, 33, 300),
            (17, 70, 520),
            (64, 64, 1),
            // Several blocks of every kind: MC rows, NC columns, KC depth.
            (2 * MC + 9, NC + 40, KC + 18),
        ] {
            check::<f64>(m, n, k, 1e-12);
            check::<f32>(m, n, k, 1e-4);
        }
    }

    #[test]
    fn portable_kernel_matches_the_dispatched_one() {
        let (m, n, k) = (11, 40, 37);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n * k).map(|v| (v as f32 * 0.11).cos()).collect();
        let b = PackedB::nt(&w, n, k, k);
        let mut c1 = vec![0.0_f32; m * n];
        gemm_packed(m, Strided::rows(&a, k), &b, 0.0, &mut c1, n);
        let want = naive(m, n, k, |i, p| a[i * k + p] as f64, |p, j| w[j * k + p] as f64);
        let mut c2 = vec![0.0_f32; m * n];
        for p in 0..n.div_ceil(NR) {
            for i0 in (0..m).step_by(MR) {
                let blk = Block {
                    a: &a[i0 * k..],
                    row: k,
                    col: 1,
                    panel: &b.data[p * k * NR..][..k * NR],
                    kc: k,
                    mr: MR.min(m - i0),
                    w: NR.min(n - p * NR),
                    beta: 0.0,
                };
                kernel_portable(&blk, &mut c2[i0 * n + p * NR..], n);
            }
        }
        for ((x, y), z) in c1.iter().zip(&c2).zip(&want) {
            assert!((*x as f64 - z).abs() < 1e-4 && (*y as f64 - z).abs() < 1e-4);
        }
    }
}
