//! The operands of a product as the kernels read them: the right operand
//! packed in column panels of [`NR`] values ([`PackedB`], once per weight),
//! the left operand through its strides ([`Strided`]) or in register-block
//! panels of [`MR`] rows ([`PanelsA`], filled by a backward loop step by
//! step), and the copy of `A` into such panels, `MC` rows at a time, that
//! the blocking loops make for strided layouts ([`pack_a`]).

use super::kernel::{GemmElem, MR, NR, prefetch, prefetch_write};
use crate::workspace::Workspace;

/// The right operand `B[K x N]` of a product, packed in column panels.
#[derive(Debug, Clone, Default)]
pub struct PackedB<F> {
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) data: Vec<F>,
}

impl<F: GemmElem> PackedB<F> {
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
    pub(super) k: usize,
    pub(super) m: usize,
    pub(super) data: Vec<F>,
}

impl<F: GemmElem> PanelsA<F> {
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
        // One panel at a time, all `n` rows (whole cache lines in order),
        // the lines of the panel `PUT_AHEAD` further on fetched for writing
        // meanwhile: the panels are far larger than the caches, and stores
        // that each wait for their line were most of the copy's time.
        let copy = |first: usize, data: &mut [F]| {
            let stride = k * MR;
            let rows = r0 * MR..(r0 + n) * MR;
            for q in 0..data.len() / stride {
                if let Some(ahead) = data.get((q + PUT_AHEAD) * stride..).and_then(|p| p.get(rows.clone())) {
                    prefetch_write(ahead);
                }
                let c0 = (first + q) * MR;
                let w = MR.min(m - c0);
                let dst = &mut data[q * stride..][rows.clone()];
                for (r, group) in dst.chunks_exact_mut(MR).enumerate() {
                    copy_group::<F, MR>(group, &src[r * ld + c0..][..w]);
                }
            }
        };
        let panels = m.div_ceil(MR);
        if n * m >= PAR_COPY_MIN && panels >= 2 && rayon::current_num_threads() > 1 {
            let half = panels / 2;
            let (lo, hi) = self.data.split_at_mut(half * k * MR);
            rayon::join(|| copy(0, lo), || copy(half, hi));
        } else {
            copy(0, &mut self.data);
        }
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

/// How many panels ahead [`PanelsA::put_rows`] fetches lines for writing.
const PUT_AHEAD: usize = 1;

/// Values below which a copy into panels stays on one thread (one time
/// step's `dY` of the medium workload, 24K values, is split).
const PAR_COPY_MIN: usize = 1 << 13;

/// Runs `f(p, panel)` on every panel of `len` values of `data`, the two
/// halves on two threads when the pool has them and the copy is large.
fn for_panels<F: Send>(data: &mut [F], len: usize, f: impl Fn(usize, &mut [F]) + Sync) {
    let panels = data.len() / len.max(1);
    if data.len() >= 4 * PAR_COPY_MIN && panels >= 2 && rayon::current_num_threads() > 1 {
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

/// How many k ahead [`pack_a`] asks for its source rows.
const PREFETCH_K: usize = 8;

/// Copies rows `i0..i0 + mc` and columns `k0..k0 + kc` of `A` into `dst` as
/// register-block panels: panel `r` holds rows `i0 + r MR ..` as `kc` groups
/// of `MR` values, one group per k (rows past `mc` in the last panel are
/// left as they are: the kernel never stores them).
pub(super) fn pack_a<F: GemmElem>(dst: &mut [F], a: Strided<'_, F>, i0: usize, k0: usize, mc: usize, kc: usize) {
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
