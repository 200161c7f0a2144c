//! Matrix products and small helpers the emitted code calls.
//!
//! All matrices are row-major slices with an explicit leading dimension
//! (row stride), so a column block of a packed buffer can be passed without
//! copying. Products go through ndarray's `general_mat_mul`
//! (matrixmultiply for `f32`/`f64`).

use crate::float::Float;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rand::Rng;

fn view<F: Float>(s: &[F], rows: usize, cols: usize, ld: usize) -> ArrayView2<'_, F> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayView2::from_shape((rows, cols).strides((ld, 1)), &s[..len]).expect("kernel view")
}

fn view_t<F: Float>(s: &[F], rows: usize, cols: usize, ld: usize) -> ArrayView2<'_, F> {
    // The transpose of a row-major [cols, rows] matrix with row stride ld.
    view(s, cols, rows, ld).reversed_axes()
}

fn view_mut<F: Float>(s: &mut [F], rows: usize, cols: usize, ld: usize) -> ArrayViewMut2<'_, F> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayViewMut2::from_shape((rows, cols).strides((ld, 1)), &mut s[..len]).expect("kernel view")
}

/// `C[m×n] = beta·C + A[m×k] · B[n×k]^T` (B stored row-major as `n×k`).
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt<F: Float>(
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
    let av = view(a, m, k, lda);
    let bv = view_t(b, k, n, ldb);
    let mut cv = view_mut(c, m, n, ldc);
    general_mat_mul(F::one(), &av, &bv, beta, &mut cv);
}

/// `C[m×n] = beta·C + A[m×k] · B[k×n]`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nn<F: Float>(
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
    let av = view(a, m, k, lda);
    let bv = view(b, k, n, ldb);
    let mut cv = view_mut(c, m, n, ldc);
    general_mat_mul(F::one(), &av, &bv, beta, &mut cv);
}

/// `C[m×n] = beta·C + A[k×m]^T · B[k×n]` (the weight-gradient product).
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn<F: Float>(
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
    let av = view_t(a, m, k, lda);
    let bv = view(b, k, n, ldb);
    let mut cv = view_mut(c, m, n, ldc);
    general_mat_mul(F::one(), &av, &bv, beta, &mut cv);
}

/// Copies `src` (`rows×cols`, row-major) into `dst` at row `row0` of a
/// packed matrix with `cols` columns: lays stacked weights out once per call.
pub fn pack_rows<F: Float>(dst: &mut [F], row0: usize, cols: usize, src: &[F]) {
    dst[row0 * cols..row0 * cols + src.len()].copy_from_slice(src);
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
    fn products_match_naive_with_strides() {
        let (m, n, k) = (3, 4, 5);
        let a: Vec<f64> = (0..m * 7).map(|v| v as f64 * 0.5 - 3.0).collect(); // ld 7
        let bt: Vec<f64> = (0..n * 6).map(|v| (v as f64).sin()).collect(); // n×k, ld 6
        let mut c = vec![1.0; m * n];
        gemm_nt(m, n, k, &a, 7, &bt, 6, 1.0, &mut c, n);
        let want = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| bt[j * 6 + p]);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() < 1e-12);
        }
        let b: Vec<f64> = (0..k * n).map(|v| (v as f64).cos()).collect();
        let mut c2 = vec![0.0; m * n];
        gemm_nn(m, n, k, &a, 7, &b, n, 0.0, &mut c2, n);
        let want2 = naive(m, n, k, |i, p| a[i * 7 + p], |p, j| b[p * n + j]);
        for (x, y) in c2.iter().zip(&want2) {
            assert!((x - y).abs() < 1e-12);
        }
        // A stored as k×m.
        let at: Vec<f64> = (0..k * m).map(|v| v as f64 - 2.0).collect();
        let mut c3 = vec![0.0; m * n];
        gemm_tn(m, n, k, &at, m, &b, n, 0.0, &mut c3, n);
        let want3 = naive(m, n, k, |i, p| at[p * m + i], |p, j| b[p * n + j]);
        for (x, y) in c3.iter().zip(&want3) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
