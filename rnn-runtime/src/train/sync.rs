//! Data-parallel training: [`GradientSync`], what a [`Trainer`] asks of the
//! processes it trains with.
//!
//! Each process trains on its own shard of every global batch. After the
//! backward pass, [`GradientSync::reduce`] turns each process's gradient
//! (of its mean loss) into the gradient of the mean loss over every
//! process's counted positions, the same on all of them; every process
//! then applies the same update, so the parameters stay identical.
//! [`GradientSync::broadcast`] makes them identical at the start, and
//! [`GradientSync::check_same`] checks, every few steps, that they still
//! are. Over MPI: `crate::distributed::MpiSync` (feature `mpi`).
//!
//! [`Trainer`]: crate::train::Trainer

use crate::error::RnnError;
use crate::float::Float;
use crate::params::Params;

/// The collective operations of data-parallel training. Every process
/// calls each method at the same point of its training loop (they are
/// collective: one process alone waits for the others).
pub trait GradientSync<F: Float> {
    /// Replaces `grads`, the gradient of this process's mean loss `loss`
    /// over `count` counted positions, with the gradient of the mean loss
    /// over all processes' positions (each process's gradient weighted by
    /// its count), on every process; returns that mean loss and the total
    /// count.
    ///
    /// Errors: [`RnnError::Distributed`] if the processes' gradients do not
    /// have the same number of values.
    fn reduce(&mut self, grads: &mut dyn Params<F>, loss: f64, count: usize) -> Result<(f64, usize), RnnError>;

    /// Sets every process's `params` to those of the first process.
    ///
    /// Errors: [`RnnError::Distributed`] if the processes' parameters do
    /// not have the same number of values.
    fn broadcast(&mut self, params: &mut dyn Params<F>) -> Result<(), RnnError>;

    /// Checks that every process holds the same `params`, bit for bit
    /// (after training step `step`, for the message).
    ///
    /// Errors: [`RnnError::Distributed`] naming the processes whose
    /// parameters differ from the first's (on every process).
    fn check_same(&mut self, params: &dyn Params<F>, step: usize) -> Result<(), RnnError>;

    /// What the gradient reductions cost so far ([`SyncStats::default`]
    /// where the transport does not measure it).
    fn stats(&self) -> SyncStats {
        SyncStats::default()
    }
}

/// The cost of a [`GradientSync`]'s gradient reductions so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncStats {
    /// Gradient bytes one process sends per reduction.
    pub bytes_per_reduce: usize,
    /// Wall time spent in reductions (waiting for slower processes included).
    pub reduce_time: std::time::Duration,
    /// Reductions done.
    pub reductions: usize,
}

/// A fingerprint of `params`' bits (FNV-1a, one 64-bit word per value:
/// its bits as an `f64`), equal on two processes exactly when their
/// parameters are, but for hash collisions.
pub fn fingerprint<F: Float>(params: &dyn Params<F>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for k in 0..params.param_count() {
        for v in params.param(k).iter() {
            h ^= v.to_f64().unwrap_or(f64::NAN).to_bits();
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Every value of `params`, tensor by tensor in standard order, into
/// `out` (cleared first), each multiplied by `scale`.
pub fn flatten_into<F: Float>(params: &dyn Params<F>, scale: F, out: &mut Vec<F>) {
    out.clear();
    for k in 0..params.param_count() {
        out.extend(params.param(k).iter().map(|&v| v * scale));
    }
}

/// The inverse of [`flatten_into`]: `params`' values from `flat`, each
/// multiplied by `scale`.
///
/// Errors: [`RnnError::Distributed`] if `flat` does not hold exactly as
/// many values as `params`.
pub fn unflatten_from<F: Float>(flat: &[F], scale: F, params: &mut dyn Params<F>) -> Result<(), RnnError> {
    let total: usize = (0..params.param_count()).map(|k| params.param(k).len()).sum();
    if total != flat.len() {
        return Err(RnnError::Distributed(format!(
            "{} values received for parameters of {total} values (do all processes train the same model?)",
            flat.len()
        )));
    }
    let mut at = 0;
    for k in 0..params.param_count() {
        let mut p = params.param_mut(k);
        let n = p.len();
        for (d, &s) in p.iter_mut().zip(&flat[at..at + n]) {
            *d = s * scale;
        }
        at += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

    struct Two(Vec<ArrayD<f64>>);

    impl Params<f64> for Two {
        fn param_count(&self) -> usize {
            self.0.len()
        }
        fn param(&self, k: usize) -> ArrayViewD<'_, f64> {
            self.0[k].view()
        }
        fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, f64> {
            self.0[k].view_mut()
        }
        fn param_name(&self, k: usize) -> String {
            format!("p{k}")
        }
    }

    fn two() -> Two {
        Two(vec![
            ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap(),
            ArrayD::from_shape_vec(IxDyn(&[3]), vec![5.0, 6.0, 7.0]).unwrap(),
        ])
    }

    #[test]
    fn flatten_then_unflatten_scales_and_restores_every_tensor() {
        let mut p = two();
        let mut flat = Vec::new();
        flatten_into(&p, 2.0, &mut flat);
        assert_eq!(flat, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        unflatten_from(&flat, 0.5, &mut p).unwrap();
        assert_eq!(p.0, two().0);
        let e = unflatten_from(&flat[1..], 1.0, &mut p).unwrap_err();
        assert!(e.to_string().contains("6 values received for parameters of 7"), "{e}");
    }

    #[test]
    fn the_fingerprint_sees_one_changed_bit() {
        let mut p = two();
        let before = fingerprint(&p);
        assert_eq!(before, fingerprint(&two()));
        p.0[1][[2]] = f64::from_bits(7.0f64.to_bits() ^ 1);
        assert_ne!(before, fingerprint(&p));
    }
}
