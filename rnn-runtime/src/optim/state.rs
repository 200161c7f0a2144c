//! An optimiser's state as plain data ([`OptimizerState`]): what a
//! checkpoint keeps so that training resumes exactly where it stopped
//! (step count, learning rate, and every per-parameter buffer).
//!
//! ```
//! use rnn_runtime::optim::{Adam, AdamConfig, Optimizer};
//! use ndarray::{ArrayD, IxDyn};
//! let mut adam = Adam::<f64>::new(AdamConfig::default())?;
//! let mut p = ArrayD::from_elem(IxDyn(&[2]), 1.0);
//! let g = ArrayD::from_elem(IxDyn(&[2]), 0.5);
//! adam.step(&mut [p.view_mut()], &[g.view()])?;
//! let saved = adam.state();
//! assert_eq!((saved.kind.as_str(), saved.steps), ("adam", 1));
//! let mut again = Adam::<f64>::new(AdamConfig::default())?;
//! again.set_state(&saved)?;
//! assert_eq!(again.state(), saved);
//! # Ok::<(), rnn_runtime::RnnError>(())
//! ```

use super::Slots;
use crate::error::RnnError;
use crate::float::Float;
use ndarray::ArrayD;

/// An optimiser's state: its kind, steps taken, learning rate, and its
/// per-parameter buffers by slot (one tensor per parameter, in parameter
/// order; empty before the first step).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<F> {
    /// Which optimiser wrote it (`"adam"`, `"sgd"`, `"adagrad"`).
    pub kind: String,
    /// Steps applied so far (Adam's bias correction depends on it).
    pub steps: usize,
    /// The learning rate the next step uses.
    pub lr: f64,
    /// `(slot name, one buffer per parameter)`, in the optimiser's order.
    pub slots: Vec<(String, Vec<ArrayD<F>>)>,
}

impl<F: Float> OptimizerState<F> {
    /// The state of an optimiser of `kind` with the given slots.
    pub(super) fn of(kind: &str, steps: usize, lr: f64, slots: &[(&str, &Slots<F>)]) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            steps,
            lr,
            slots: slots
                .iter()
                .map(|(name, s)| (name.to_string(), s.bufs.clone()))
                .collect(),
        }
    }

    /// Checks that this is the state of an optimiser of `kind` with exactly
    /// the slots `names` (in order), each with the same number of buffers,
    /// and a finite learning rate >= 0; returns the buffers by slot.
    ///
    /// Errors: [`RnnError::Invalid`] saying what differs.
    pub(super) fn check(&self, kind: &str, names: &[&str]) -> Result<Vec<Vec<ArrayD<F>>>, RnnError> {
        if self.kind != kind {
            return Err(RnnError::Invalid(format!(
                "optimiser state of `{}` given to `{kind}`",
                self.kind
            )));
        }
        let given: Vec<&str> = self.slots.iter().map(|(n, _)| n.as_str()).collect();
        if given != names {
            return Err(RnnError::Invalid(format!(
                "`{kind}` state has slots {given:?}, expected {names:?}"
            )));
        }
        // A slot the settings do not use (AMSGrad's maximum) stays empty.
        let counts: Vec<usize> = self.slots.iter().map(|(_, b)| b.len()).filter(|&n| n > 0).collect();
        if counts.windows(2).any(|w| w[0] != w[1]) {
            return Err(RnnError::Invalid(format!(
                "`{kind}` state slots hold different numbers of buffers: {counts:?}"
            )));
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Err(RnnError::Invalid(format!(
                "`{kind}` state has learning rate {}, not finite and >= 0",
                self.lr
            )));
        }
        Ok(self.slots.iter().map(|(_, b)| b.clone()).collect())
    }
}
