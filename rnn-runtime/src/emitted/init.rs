//! Buffers and parameters filled before a time loop runs.

use crate::float::Float;
use rand::Rng;

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
