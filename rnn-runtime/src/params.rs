//! Parameter tensors by position: the [`Params`] trait that optimisers,
//! clipping and the divergence guard read a model through.
//!
//! A model (a [`Layers`](crate::layers::Layers) stack, a
//! [`Linear`](crate::nn::linear::Linear) head, a whole
//! [`SeqModel`](crate::model::SeqModel)) numbers its tensors `0..count` in
//! the order of its `named_params`, and its gradient, which has the
//! model's own type, numbers them the same way. Tensors are reached by
//! index, so a training step walks every parameter without building a
//! list (and without allocating); names are built only when a message or
//! a file needs them.

use ndarray::{ArrayViewD, ArrayViewMutD};

/// Parameter tensors reached by index (see the [module docs](self)).
pub trait Params<F> {
    /// Number of tensors.
    fn param_count(&self) -> usize;
    /// Tensor `k`, for `k < param_count()` (panics otherwise).
    fn param(&self, k: usize) -> ArrayViewD<'_, F>;
    /// Tensor `k`, mutably, for `k < param_count()` (panics otherwise).
    fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, F>;
    /// The name of tensor `k` (PyTorch `state_dict` names where there are).
    fn param_name(&self, k: usize) -> String;
}
