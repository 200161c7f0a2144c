//! The loops around the register-block kernel: `K` in blocks of [`KC`],
//! the panels of `B` in blocks of [`NC`] columns, the rows of `C` in
//! register blocks of [`MR`] (`A` read in place when row-major, else copied
//! [`MC`] rows at a time by [`pack_a`]), and, above them, the rows of `C`
//! split in two halves between threads when a product is large. Where the
//! rows split depends on the shape alone, so the result does not depend on
//! the thread count.

use super::kernel::{Block, GemmElem, MR, NR};
use super::pack::{PackedB, Strided, pack_a};

/// Depth of one pass over a panel: an `MR x KC` block of `A` (16 KiB in
/// `f32`) stays in L1 while the panels stream past it from L2.
pub const KC: usize = 512;
/// Columns of `B` per pass of the row blocks (a `KC x NC` block of packed
/// `B`, 1 MiB in `f32`, is what streams from L2).
pub const NC: usize = 512;
/// Rows of a packed `A` block: `MC x KC` values (256 KiB in `f32`) in L2.
pub const MC: usize = 128;

/// The left operand as the loops read it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Lhs<'a, F> {
    /// Through its strides: in place if row-major, else packed MC rows at a time.
    Strided(Strided<'a, F>),
    /// Register-block panels of a [`PanelsA`], from panel `first`.
    Panels { data: &'a [F], k: usize, first: usize },
    /// Rows picked from a row-major matrix (rows of `row` values): row `i`
    /// of the operand is row `picked[i]` of `data`, read in place.
    Picked {
        data: &'a [F],
        row: usize,
        picked: &'a [usize],
    },
}

impl<'a, F> Lhs<'a, F> {
    /// The operand without its first `rows` rows (a multiple of [`MR`]).
    pub(super) fn skip(self, rows: usize) -> Self {
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
            Lhs::Picked { data, row, picked } => Lhs::Picked {
                data,
                row,
                picked: &picked[rows..],
            },
        }
    }
}

/// The `C` of each right operand, with its row stride.
pub(super) type Outs<'a, F, const N: usize> = [(&'a mut [F], usize); N];

/// Checks every `C`, handles the empty cases, and runs the product.
pub(super) fn gemm_lhs<F: GemmElem, const N: usize>(
    m: usize,
    a: Lhs<'_, F>,
    bs: [&PackedB<F>; N],
    beta: F,
    mut cs: Outs<'_, F, N>,
) {
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

/// Multiply-adds below which a product stays on one thread (about 20 µs).
const PAR_MIN: usize = 1 << 20;

/// Splits the rows of `C` between `threads` threads (rayon's pool): each
/// part is computed exactly as it would be alone, so the result does not
/// depend on the thread count.
fn gemm_rows<F: GemmElem, const N: usize>(
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

fn gemm_serial<F: GemmElem, const N: usize>(
    m: usize,
    a: Lhs<'_, F>,
    bs: [&PackedB<F>; N],
    beta: F,
    cs: Outs<'_, F, N>,
) {
    match a {
        // Row-major A is read in place, and panels as they are.
        Lhs::Strided(s) if s.col == 1 => gemm_blocks(m, ASource::InPlace(s), bs, beta, cs),
        Lhs::Panels { data, k, first } => gemm_blocks(m, ASource::Panels { data, k, first }, bs, beta, cs),
        Lhs::Picked { data, row, picked } => gemm_blocks(m, ASource::Picked { data, row, picked }, bs, beta, cs),
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
    /// Rows `picked` of a row-major matrix, in place.
    Picked {
        data: &'a [F],
        row: usize,
        picked: &'a [usize],
    },
}

/// The loops around the register-block kernel, reading `A` from `a`; the
/// panels of the right operands `bs` are visited as if they stood side by
/// side (panel `q` overall is panel `q - first[i]` of `bs[i]`).
fn gemm_blocks<F: GemmElem, const N: usize>(
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
                let mut picked = None;
                let (a_blk, row, col): (&[F], usize, usize) = match &mut a {
                    ASource::InPlace(s) => (&s.data[i0 * s.row + k0..], s.row, 1),
                    ASource::Picked { data, row, picked: p } => {
                        picked = Some(&p[i0..i0 + mr]);
                        (&data[k0..], *row, 1)
                    }
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
                        picked,
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
}
