//! Matrix products and small helpers the emitted code calls.
//!
//! All matrices are row-major slices with an explicit leading dimension
//! (row stride), so a column block of a packed buffer can be passed without
//! copying. Products pack their right operand and run [`crate::gemm`]'s
//! kernels; the emitted loops pack weights once and call
//! [`gemm_packed`] directly.

use crate::float::Float;
use crate::gemm::{PackedB, PanelsA, Strided, gemm_packed, gemm_panels, gemm_panels_parts};
use crate::workspace::Workspace;
use rand::Rng;

/// `C[m×n] = beta·C + A[m×k] · B[n×k]^T` (B stored row-major as `n×k`);
/// the packing buffer comes from `ws`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt<F: Float>(
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
pub fn gemm_nn<F: Float>(
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
pub fn gemm_tn<F: Float>(
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
pub fn gemm_tn_panels<F: Float>(
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
pub fn gemm_tn_panels_parts<F: Float, const N: usize>(
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

/// Copies `src` (`rows×cols`, row-major) into `dst` at row `row0` of a
/// packed matrix with `cols` columns: lays stacked weights out once per call.
pub fn pack_rows<F: Float>(dst: &mut [F], row0: usize, cols: usize, src: &[F]) {
    dst[row0 * cols..row0 * cols + src.len()].copy_from_slice(src);
}

/// Splits `buf` into disjoint mutable regions `(offset, len)`, returned in
/// the order given (the emitted kernels bind the locations they read and
/// write in one buffer this way, e.g. a state's block t and block t+1).
///
/// Panics if two regions overlap or one runs past the end: the scheduler
/// never asks for that, so it would be a compiler bug.
///
/// ```
/// let mut v = [0, 1, 2, 3, 4, 5];
/// let [a, b] = rnn_runtime::kernels::split_ranges_mut(&mut v, [(4, 2), (0, 3)]);
/// assert_eq!((&a[..], &b[..]), (&[4, 5][..], &[0, 1, 2][..]));
/// ```
#[inline]
pub fn split_ranges_mut<T, const N: usize>(buf: &mut [T], ranges: [(usize, usize); N]) -> [&mut [T]; N] {
    let mut order: [usize; N] = core::array::from_fn(|i| i);
    order.sort_unstable_by_key(|&i| ranges[i].0);
    let mut out: [Option<&mut [T]>; N] = [const { None }; N];
    let mut rest = buf;
    let mut at = 0;
    for &i in &order {
        let (off, len) = ranges[i];
        assert!(off >= at, "kernel regions overlap");
        let tail = core::mem::take(&mut rest).split_at_mut(off - at).1;
        let (mid, tail) = tail.split_at_mut(len);
        out[i] = Some(mid);
        rest = tail;
        at = off + len;
    }
    out.map(|r| r.expect("every region is assigned"))
}

/// The first `N` consecutive chunks of `len` elements of `s`, mutably.
///
/// ```
/// let mut v = [0, 1, 2, 3, 4];
/// let [a, b] = rnn_runtime::kernels::chunks_mut::<2, _>(&mut v, 2);
/// assert_eq!((&a[..], &b[..]), (&[0, 1][..], &[2, 3][..]));
/// ```
#[inline]
pub fn chunks_mut<const N: usize, T>(s: &mut [T], len: usize) -> [&mut [T]; N] {
    let mut rest = s;
    [(); N].map(|_| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        head
    })
}

/// Runs `f` compiled for the widest vector unit the CPU has.
///
/// The emitted elementwise loops are plain Rust, compiled for the baseline
/// target (SSE2 on x86-64). Called through this function they are inlined
/// into a copy compiled with AVX-512 (or AVX2), chosen at run time, so the
/// same binary uses 16-wide vectors where the CPU has them. Only vector
/// width changes: no fused multiply-add is formed (Rust does not contract
/// `a * b + c`), so results are identical on every path.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
        fn wide512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        fn wide256<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has every feature `wide512` is compiled for.
            return unsafe { wide512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has every feature `wide256` is compiled for.
            return unsafe { wide256(f) };
        }
    }
    f()
}

/// A zero-filled buffer of `n` values (allocated before a time loop, never inside).
pub fn zeros<F: Float>(n: usize) -> Vec<F> {
    vec![F::zero(); n]
}

/// Fills `out` with draws from `U(-bound, bound)`, drawn in `f64` and rounded once.
pub fn uniform_fill<F: Float, R: Rng + ?Sized>(out: &mut [F], bound: f64, rng: &mut R) {
    for v in out.iter_mut() {
        let u: f64 = rng.random::<f64>();
        *v = F::from_f64c((2.0 * u - 1.0) * bound);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn weight_gradients_from_panels_match_strided() {
        // dY [k x w] with w not a multiple of MR, filled a few rows at a time;
        // a member's panels hold its columns only.
        let (k, w, n) = (37, 2 * crate::gemm::MR + 3, 5);
        let dy: Vec<f64> = (0..k * w).map(|v| (v as f64 * 0.3).sin()).collect();
        let x: Vec<f64> = (0..k * n).map(|v| (v as f64 * 0.7).cos()).collect();
        let mut ws = Workspace::new();
        for (col, m) in [(0, w), (3, w - 3)] {
            let mut panels = PanelsA::new_in(&mut ws, k, m);
            for r0 in (0..k).step_by(8) {
                let rows = 8.min(k - r0);
                panels.put_rows(r0, &dy[r0 * w + col..], w, rows);
            }
            let mut want = vec![0.5; m * n];
            gemm_tn(&mut ws, m, n, k, &dy[col..], w, &x, n, 1.0, &mut want, n);
            let mut got = vec![0.5; m * n];
            gemm_tn_panels(&mut ws, m, n, k, &panels, &x, n, 1.0, &mut got, n);
            for (g, e) in got.iter().zip(&want) {
                assert!((g - e).abs() < 1e-12, "col {col}: {g} vs {e}");
            }
            // Two operands in one pass: x, and x's first 3 columns.
            let (mut g1, mut g2) = (vec![0.5; m * n], vec![0.5; m * 3]);
            gemm_tn_panels_parts(
                &mut ws,
                m,
                k,
                &panels,
                [(&x[..], n, n, &mut g1[..], n), (&x[..], n, 3, &mut g2[..], 3)],
                1.0,
            );
            assert_eq!(g1, got, "col {col}: first operand");
            for i in 0..m {
                assert_eq!(
                    &g2[i * 3..i * 3 + 3],
                    &got[i * n..i * n + 3],
                    "col {col}: second operand"
                );
            }
        }
    }

    #[test]
    fn products_match_naive_with_strides() {
        let (m, n, k) = (3, 4, 5);
        let a: Vec<f64> = (0..m * 7).map(|v| v as f64 * 0.5 - 3.0).collect(); // ld 7
        let bt: Vec<f64> = (0..n * 6).map(|v| (v as f64).sin()).collect(); // n×k, ld 6
        let mut c = vec![1.0; m * n];
        gemm_nt(&mut Workspace::new(), m, n, k, &a, 7, &bt, 6, 1.0, &mut c, n);
        let want = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| bt[j * 6 + p]);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() < 1e-12);
        }
        let b: Vec<f64> = (0..k * n).map(|v| (v as f64).cos()).collect();
        let mut c2 = vec![0.0; m * n];
        gemm_nn(&mut Workspace::new(), m, n, k, &a, 7, &b, n, 0.0, &mut c2, n);
        let want2 = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| b[p * n + j]);
        for (x, y) in c2.iter().zip(&want2) {
            assert!((x - y).abs() < 1e-12);
        }
        // A stored as k×m.
        let at: Vec<f64> = (0..k * m).map(|v| v as f64 - 2.0).collect();
        let mut c3 = vec![0.0; m * n];
        gemm_tn(&mut Workspace::new(), m, n, k, &at, m, &b, n, 0.0, &mut c3, n);
        let want3 = naive(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]);
        for (x, y) in c3.iter().zip(&want3) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
