//! One optimiser update of a [`SeqModel`] from its gradient, with
//! clipping by global norm: [`SeqModel::apply_gradients`].

use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::model::SeqModel;
use crate::optim::Optimizer;
use crate::optim::clip::{check_max_norm, clip_coef, params_norm, scale_params};

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// One optimiser update from `grads`: first, with `clip_norm`, scales
    /// the gradients in place as
    /// [`clip_grad_norm`](crate::optim::clip::clip_grad_norm) does, then
    /// steps `optimizer` over every parameter. Returns the global gradient
    /// norm before clipping. Tensors are reached by index
    /// ([`Params`](crate::params::Params)): nothing is allocated after the
    /// optimiser's first step.
    ///
    /// Errors: [`RnnError::NonFinite`] (step = the optimiser's step count)
    /// if the gradient norm is NaN or infinite (nothing is updated),
    /// [`RnnError::Invalid`] for a negative or NaN `clip_norm` or gradients
    /// of another shape, and the optimiser's errors.
    pub fn apply_gradients<O: Optimizer<F>>(
        &mut self,
        grads: &mut Self,
        optimizer: &mut O,
        clip_norm: Option<f64>,
    ) -> Result<f64, RnnError> {
        let step = optimizer.steps_taken();
        self.update_with(grads, optimizer, clip_norm, |_| RnnError::NonFinite {
            what: "gradient norm".into(),
            step,
        })
    }

    /// [`SeqModel::apply_gradients`], with `non_finite` making the error
    /// when the gradient norm is NaN or infinite (given the gradients, to
    /// name the culprit; nothing is updated then).
    pub(crate) fn update_with<O: Optimizer<F>>(
        &mut self,
        grads: &mut Self,
        optimizer: &mut O,
        clip_norm: Option<f64>,
        non_finite: impl FnOnce(&Self) -> RnnError,
    ) -> Result<f64, RnnError> {
        self.check_grads(grads)?;
        if let Some(max) = clip_norm {
            check_max_norm(max)?;
        }
        let norm = params_norm(grads);
        if !norm.is_finite() {
            return Err(non_finite(grads));
        }
        if let Some(coef) = clip_norm.and_then(|max| clip_coef(norm, max)) {
            scale_params(grads, coef);
        }
        optimizer.step_params(self, grads)?;
        Ok(norm)
    }
}
