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
//!
//! The products on plain row-major slices with a leading dimension
//! ([`gemm_nt`], [`gemm_nn`], [`gemm_tn`]) pack their right operand into a
//! buffer from a [`Workspace`] and call [`gemm_packed`]; the emitted loops
//! pack weights once and call [`gemm_packed`] directly.
//!
//! Files, bottom up: `kernel.rs` (the register block, the portable kernel,
//! the element trait [`GemmElem`]), `avx512.rs` (AVX-512 kernels),
//! `dispatch.rs` (`f32`/`f64` pick a kernel at run time), `pack.rs` (the
//! operands' layouts), `driver.rs` (blocking and the split between
//! threads), `threads.rs` (the pool size), this file (the products).

#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
mod driver;
mod kernel;
mod pack;
#[cfg(test)]
mod tests;
mod threads;

pub use driver::{KC, MC, NC};
pub use kernel::{Block, GemmElem, MR, NR};
pub use pack::{PackedB, PanelsA, Strided};
pub use threads::{in_pool, set_threads, threads};

use crate::workspace::Workspace;
use driver::{Lhs, gemm_lhs};

/// `C[m x N] = beta C + dY[:, col0..col0 + m]^T B` for `dY` in panels (see
/// [`PanelsA`]) and a packed `B` of `K = a.k()` rows; `col0` must be a
/// multiple of [`MR`].
///
/// Panics if `col0` is not, if the columns run past `a.m()`, or if `B` or
/// `C` do not fit the shapes.
pub fn gemm_panels<F: GemmElem>(
    m: usize,
    a: &PanelsA<F>,
    col0: usize,
    b: &PackedB<F>,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    gemm_panels_parts(m, a, col0, [b], beta, [(c, ldc)]);
}

/// [`gemm_panels`] for several right operands at once: `C_i = beta C_i +
/// dY^T B_i`, as if the `B_i` stood side by side. Each register block of
/// `dY` is read once for all of them (the weight gradients of the input
/// and the recurrent weights share `dY`).
pub fn gemm_panels_parts<F: GemmElem, const N: usize>(
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
pub fn gemm_packed<F: GemmElem>(m: usize, a: Strided<'_, F>, b: &PackedB<F>, beta: F, c: &mut [F], ldc: usize) {
    let k = b.k;
    if m > 0 && k > 0 {
        assert!(a.data.len() > (m - 1) * a.row + (k - 1) * a.col, "gemm: A too short");
    }
    gemm_lhs(m, Lhs::Strided(a), [b], beta, [(c, ldc)]);
}

/// [`gemm_packed`] with the rows of `A` picked from a row-major matrix:
/// row `i` of `A` is row `picked[i]` of `data` (rows of `row >= K` values),
/// read in place, so a gather needs no copy.
///
/// Panics if a picked row lies outside `data`.
///
/// ```
/// use rnn_runtime::gemm::{PackedB, gemm_packed_picked};
/// // The rows 2 and 0 of a 3x2 matrix times w[1x2]^T.
/// let b = PackedB::nt(&[1.0_f32, 10.0], 1, 2, 2);
/// let mut c = [0.0_f32; 2];
/// gemm_packed_picked(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, &[2, 0], &b, 0.0, &mut c, 1);
/// assert_eq!(c, [65.0, 21.0]);
/// ```
pub fn gemm_packed_picked<F: GemmElem>(
    data: &[F],
    row: usize,
    picked: &[usize],
    b: &PackedB<F>,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    let k = b.k;
    if k > 0 {
        assert!(row >= k, "gemm: rows of A shorter than K");
        if let Some(&last) = picked.iter().max() {
            assert!(data.len() >= last * row + k, "gemm: a picked row of A lies outside it");
        }
    }
    gemm_lhs(picked.len(), Lhs::Picked { data, row, picked }, [b], beta, [(c, ldc)]);
}

/// `C[m×n] = beta·C + A[m×k] · B[n×k]^T` (B stored row-major as `n×k`);
/// the packing buffer comes from `ws`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt<F: GemmElem>(
    ws: &mut Workspace<F>,
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    lda: usize,
    b: &[F],
    ldb: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let p = PackedB::nt_in(ws, b, n, k, ldb);
    gemm_packed(m, Strided::rows(a, lda), &p, beta, c, ldc);
    ws.give(p.into_vec());
}

/// `C[m×n] = beta·C + A[m×k] · B[k×n]`; the packing buffer comes from `ws`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nn<F: GemmElem>(
    ws: &mut Workspace<F>,
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    lda: usize,
    b: &[F],
    ldb: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let p = PackedB::nn_in(ws, b, k, n, ldb);
    gemm_packed(m, Strided::rows(a, lda), &p, beta, c, ldc);
    ws.give(p.into_vec());
}

/// `C[m×n] = beta·C + A[k×m]^T · B[k×n]` (the weight-gradient product);
/// the packing buffer comes from `ws`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn<F: GemmElem>(
    ws: &mut Workspace<F>,
    m: usize,
    n: usize,
    k: usize,
    a: &[F],
    lda: usize,
    b: &[F],
    ldb: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let p = PackedB::nn_in(ws, b, k, n, ldb);
    gemm_packed(m, Strided::transposed(a, lda), &p, beta, c, ldc);
    ws.give(p.into_vec());
}

/// `C[m×n] = beta·C + dY^T · B[k×n]` like [`gemm_tn`], for a `dY` (`k`
/// rows of `m` values) held in `panels` (filled step by step by the
/// backward loop, see [`PanelsA`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn_panels<F: GemmElem>(
    ws: &mut Workspace<F>,
    m: usize,
    n: usize,
    k: usize,
    panels: &PanelsA<F>,
    b: &[F],
    ldb: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    assert_eq!(
        (panels.k(), panels.m()),
        (k, m),
        "gemm_tn_panels: panels of another shape"
    );
    if m == 0 || n == 0 {
        return;
    }
    let p = PackedB::nn_in(ws, b, k, n, ldb);
    gemm_panels(m, panels, 0, &p, beta, c, ldc);
    ws.give(p.into_vec());
}

/// One operand of [`gemm_tn_panels_parts`]: `(B, ldb, n, C, ldc)`.
pub type WeightGradPart<'a, F> = (&'a [F], usize, usize, &'a mut [F], usize);

/// [`gemm_tn_panels`] for several operands sharing `dY`: `C_i = beta·C_i +
/// dY^T · B_i` for each part `(B_i, ldb_i, n_i, C_i, ldc_i)`, in one pass
/// over the panels of `dY` (the weight gradients of a cell's input and
/// recurrent weights).
pub fn gemm_tn_panels_parts<F: GemmElem, const N: usize>(
    ws: &mut Workspace<F>,
    m: usize,
    k: usize,
    panels: &PanelsA<F>,
    parts: [WeightGradPart<'_, F>; N],
    beta: F,
) {
    assert_eq!(
        (panels.k(), panels.m()),
        (k, m),
        "gemm_tn_panels: panels of another shape"
    );
    if m == 0 {
        return;
    }
    let packed: [PackedB<F>; N] = core::array::from_fn(|i| PackedB::nn_in(ws, parts[i].0, k, parts[i].2, parts[i].1));
    let bs: [&PackedB<F>; N] = core::array::from_fn(|i| &packed[i]);
    let cs = parts.map(|(_, _, _, c, ldc)| (c, ldc));
    gemm_panels_parts(m, panels, 0, bs, beta, cs);
    for p in packed {
        ws.give(p.into_vec());
    }
}
