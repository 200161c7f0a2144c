//! Optimisers with PyTorch's update rules: SGD (momentum, dampening,
//! Nesterov), Adagrad and Adam (bias-corrected, optional AMSGrad).
//!
//! Every optimiser implements [`Optimizer`], which updates any list of
//! ndarray tensors from a matching list of gradients ([`Optimizer::step`])
//! or any model's [`Params`] from its gradient ([`Optimizer::step_params`],
//! which walks the tensors by index and allocates nothing), so the same
//! optimiser drives a cell, a stack of layers, an output head or all of them
//! at once.
//! Per-parameter state (momentum buffers, moment estimates) is created on the
//! first step from the parameters' shapes and matched by position after
//! that. Each `Config` defaults to PyTorch's defaults, and every update is
//! written in the order PyTorch's single-tensor implementation computes it,
//! so `f32` results agree with PyTorch's to rounding. Weight decay is
//! PyTorch's L2 form, `g <- g + weight_decay * p`, applied before the update.

//!
//! One optimiser per file ([`sgd`], [`adagrad`], [`adam`]); learning-rate
//! schedules in [`lr`], gradient clipping in [`clip`].

use crate::error::RnnError;
use crate::float::Float;
use crate::params::Params;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};

pub mod adagrad;
pub mod adam;
pub mod clip;
pub mod lr;
pub mod sgd;
pub mod state;
#[cfg(test)]
mod tests;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use lr::LrSchedule;
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimizerState;

/// Parameter tensors paired with their gradients by position: what an
/// [`Optimizer`] updates. Implemented for lists of views and, through
/// [`Optimizer::step_params`], for any model's [`Params`].
pub trait TensorPairs<F> {
    /// Number of pairs.
    fn count(&self) -> usize;
    /// Pair `k` (`k < count()`): the parameter to update and its gradient.
    fn pair(&mut self, k: usize) -> (ArrayViewMutD<'_, F>, ArrayViewD<'_, F>);
}

/// Lists of parameter and gradient views, paired by position.
struct ListPairs<'a, 'p, 'g, F> {
    params: &'a mut [ArrayViewMutD<'p, F>],
    grads: &'a [ArrayViewD<'g, F>],
}

impl<F> TensorPairs<F> for ListPairs<'_, '_, '_, F> {
    fn count(&self) -> usize {
        self.params.len()
    }
    fn pair(&mut self, k: usize) -> (ArrayViewMutD<'_, F>, ArrayViewD<'_, F>) {
        (self.params[k].view_mut(), self.grads[k].view())
    }
}

/// A model's parameters and its gradient (a model of the same type).
struct ModelPairs<'a, P: ?Sized> {
    params: &'a mut P,
    grads: &'a P,
}

impl<F, P: Params<F> + ?Sized> TensorPairs<F> for ModelPairs<'_, P> {
    fn count(&self) -> usize {
        self.params.param_count()
    }
    fn pair(&mut self, k: usize) -> (ArrayViewMutD<'_, F>, ArrayViewD<'_, F>) {
        (self.params.param_mut(k), self.grads.param(k))
    }
}

/// Updates parameter tensors from their gradients.
///
/// The tensors must be the same (same number, same shapes, same order) at
/// every step, because per-parameter state is matched by position.
pub trait Optimizer<F: Float> {
    /// Applies one update to every pair (the shapes of each pair are
    /// checked by the callers below).
    ///
    /// Errors: [`RnnError::Shape`] if the number or shapes of the tensors
    /// differ from the ones seen at the first step.
    fn update(&mut self, pairs: &mut dyn TensorPairs<F>) -> Result<(), RnnError>;

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate used by the next steps (for schedules).
    fn set_lr(&mut self, lr: f64);

    /// How many steps have been applied since creation or [`Optimizer::reset`].
    fn steps_taken(&self) -> usize;

    /// Forgets all per-parameter state and the step count.
    fn reset(&mut self);

    /// The state to save in a checkpoint (steps, learning rate, buffers).
    fn state(&self) -> OptimizerState<F>;

    /// Continues from `state` (written by [`Optimizer::state`] of an
    /// optimiser of the same kind): the next step is the one the saved
    /// optimiser would have taken. The buffers' shapes are checked against
    /// the parameters at that step.
    ///
    /// Errors: [`RnnError::Invalid`] for the state of another optimiser or
    /// settings (slots, buffer counts, learning rate); the optimiser is
    /// unchanged then.
    fn set_state(&mut self, state: &OptimizerState<F>) -> Result<(), RnnError>;

    /// Applies one update to every parameter of a list.
    ///
    /// Errors: [`RnnError::Shape`] if the lists differ in length, a gradient
    /// differs in shape from its parameter, or a parameter's shape differs
    /// from the one seen at the first step.
    fn step(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError> {
        if params.len() != grads.len() {
            return Err(RnnError::shape("gradient list", &[params.len()], &[grads.len()]));
        }
        let mut pairs = ListPairs { params, grads };
        check_pairs(&mut pairs)?;
        self.update(&mut pairs)
    }

    /// Applies one update to every tensor of `params` from `grads` (a
    /// gradient of the same shape, e.g. from the model's `zeros_like`),
    /// reaching the tensors by index: nothing is allocated after the first
    /// step.
    ///
    /// Errors: [`RnnError::Shape`] if the two differ in their number of
    /// tensors or a tensor's shape, or the shapes differ from the first step.
    fn step_params<P: Params<F> + ?Sized>(&mut self, params: &mut P, grads: &P) -> Result<(), RnnError>
    where
        Self: Sized,
    {
        if params.param_count() != grads.param_count() {
            return Err(RnnError::shape(
                "gradient tensors",
                &[params.param_count()],
                &[grads.param_count()],
            ));
        }
        let mut pairs = ModelPairs { params, grads };
        check_pairs(&mut pairs)?;
        self.update(&mut pairs)
    }

    /// [`Optimizer::step`] on `(name, tensor)` lists such as
    /// [`crate::Cell::params_mut`] and [`crate::Cell::params`] return;
    /// checks that the names agree pairwise.
    fn step_named<N: AsRef<str>, M: AsRef<str>>(
        &mut self,
        params: &mut [(N, ArrayViewMutD<'_, F>)],
        grads: &[(M, ArrayViewD<'_, F>)],
    ) -> Result<(), RnnError>
    where
        Self: Sized,
    {
        if params.len() != grads.len() {
            return Err(RnnError::shape("gradient list", &[params.len()], &[grads.len()]));
        }
        for ((pn, _), (gn, _)) in params.iter().zip(grads) {
            if pn.as_ref() != gn.as_ref() {
                return Err(RnnError::Invalid(format!(
                    "parameter `{}` is paired with the gradient of `{}`",
                    pn.as_ref(),
                    gn.as_ref()
                )));
            }
        }
        let mut p: Vec<ArrayViewMutD<'_, F>> = params.iter_mut().map(|(_, v)| v.view_mut()).collect();
        let g: Vec<ArrayViewD<'_, F>> = grads.iter().map(|(_, v)| v.view()).collect();
        self.step(&mut p, &g)
    }
}

/// Checks that each parameter has its gradient's shape.
fn check_pairs<F>(pairs: &mut dyn TensorPairs<F>) -> Result<(), RnnError> {
    for k in 0..pairs.count() {
        let (p, g) = pairs.pair(k);
        if p.shape() != g.shape() {
            return Err(RnnError::shape(
                format!("gradient of parameter {k}"),
                p.shape(),
                g.shape(),
            ));
        }
    }
    Ok(())
}

/// Per-parameter buffers, created at the first step with the parameters' shapes.
#[derive(Debug, Clone)]
struct Slots<F> {
    bufs: Vec<ArrayD<F>>,
}

impl<F: Float> Slots<F> {
    /// No buffers yet.
    fn new() -> Self {
        Slots { bufs: Vec::new() }
    }

    /// Makes sure there is one buffer per parameter, filled with `init` when new.
    fn ensure(&mut self, pairs: &mut dyn TensorPairs<F>, init: F) -> Result<(), RnnError> {
        let n = pairs.count();
        if self.bufs.is_empty() {
            self.bufs = (0..n)
                .map(|k| ArrayD::from_elem(pairs.pair(k).0.raw_dim(), init))
                .collect();
            return Ok(());
        }
        if self.bufs.len() != n {
            return Err(RnnError::shape("parameter list", &[self.bufs.len()], &[n]));
        }
        for (k, b) in self.bufs.iter().enumerate() {
            let (p, _) = pairs.pair(k);
            if b.shape() != p.shape() {
                return Err(RnnError::shape(format!("parameter {k}"), b.shape(), p.shape()));
            }
        }
        Ok(())
    }
}

fn invalid(msg: String) -> RnnError {
    RnnError::Invalid(msg)
}

fn check_nonneg(name: &str, v: f64) -> Result<(), RnnError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(format!("{name} must be finite and >= 0, got {v}")))
    }
}

/// PyTorch's `torch.lerp(a, b, w)` as its CPU kernel computes it; `small`
/// is `|w| < 0.5`, decided once per step by the caller.
#[inline(always)]
fn lerp<F: Float>(a: F, b: F, w: F, small: bool) -> F {
    if small {
        a + w * (b - a)
    } else {
        b - (b - a) * (F::one() - w)
    }
}
