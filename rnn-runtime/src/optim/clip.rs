//! Gradient clipping: by global L2 norm (PyTorch's `clip_grad_norm_`) and
//! by value (PyTorch's `clip_grad_value_`).
//!
//! Both work on any list of gradient tensors, in place, and the norm also
//! on a model's gradient through [`Params`] ([`params_norm`],
//! [`clip_params_norm`]: by index, without allocating). The global norm is
//! the L2 norm of all the gradients concatenated, accumulated in `f64`.

use crate::error::RnnError;
use crate::float::Float;
use crate::params::Params;
use ndarray::{ArrayViewD, ArrayViewMutD};

/// Sum of squares of `xs` in `f64`, in eight independent lanes (so the
/// loop vectorises) added up at the end.
fn sum_squares<F: Float>(xs: &[F]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            let x = x.to_f64c();
            *l += x * x;
        }
    }
    let tail: f64 = rest.iter().map(|&x| x.to_f64c() * x.to_f64c()).sum();
    lanes.iter().sum::<f64>() + tail
}

/// Sum of squares of one tensor's values, in `f64`.
fn tensor_sum_squares<F: Float>(g: &ArrayViewD<'_, F>) -> f64 {
    match g.as_slice_memory_order() {
        Some(s) => sum_squares(s),
        None => g.iter().map(|&x| x.to_f64c() * x.to_f64c()).sum::<f64>(),
    }
}

/// The L2 norm of the concatenation of `grads` (accumulated in `f64`).
pub fn global_norm<F: Float>(grads: &[ArrayViewD<'_, F>]) -> f64 {
    grads.iter().map(tensor_sum_squares).sum::<f64>().sqrt()
}

/// [`global_norm`] of every tensor of a model's gradient, by index.
pub fn params_norm<F: Float, P: Params<F> + ?Sized>(grads: &P) -> f64 {
    (0..grads.param_count())
        .map(|k| tensor_sum_squares(&grads.param(k)))
        .sum::<f64>()
        .sqrt()
}

/// The factor `min(1, max_norm / (norm + 1e-6))` of clipping by global norm,
/// or `None` when it is 1 (nothing to scale; a NaN factor is returned).
pub fn clip_coef(norm: f64, max_norm: f64) -> Option<f64> {
    let coef = max_norm / (norm + 1e-6);
    (coef.is_nan() || coef < 1.0).then_some(coef)
}

pub(crate) fn check_max_norm(max_norm: f64) -> Result<(), RnnError> {
    if max_norm.is_nan() || max_norm < 0.0 {
        return Err(RnnError::Invalid(format!("max_norm must be >= 0, got {max_norm}")));
    }
    Ok(())
}

/// [`clip_grad_norm`] on a model's gradient, by index (no allocation).
///
/// Errors: [`RnnError::Invalid`] if `max_norm` is negative or NaN.
pub fn clip_params_norm<F: Float, P: Params<F> + ?Sized>(grads: &mut P, max_norm: f64) -> Result<f64, RnnError> {
    check_max_norm(max_norm)?;
    let norm = params_norm(grads);
    if let Some(coef) = clip_coef(norm, max_norm) {
        scale_params(grads, coef);
    }
    Ok(norm)
}

/// Multiplies every tensor of a model's gradient by `coef`.
pub fn scale_params<F: Float, P: Params<F> + ?Sized>(grads: &mut P, coef: f64) {
    let c = F::from_f64c(coef);
    for k in 0..grads.param_count() {
        grads.param_mut(k).mapv_inplace(|x| x * c);
    }
}

/// Scales every gradient by `coef = min(1, max_norm / (norm + 1e-6))`, where
/// `norm` is the global L2 norm, and returns the norm before clipping.
///
/// This is `torch.nn.utils.clip_grad_norm_(params, max_norm)` with its
/// defaults: a NaN or infinite norm is returned (and propagates into the
/// gradients, as in PyTorch) rather than reported, so the caller decides.
///
/// Errors: [`RnnError::Invalid`] if `max_norm` is negative or NaN.
pub fn clip_grad_norm<F: Float>(grads: &mut [ArrayViewMutD<'_, F>], max_norm: f64) -> Result<f64, RnnError> {
    check_max_norm(max_norm)?;
    let views: Vec<ArrayViewD<'_, F>> = grads.iter().map(|g| g.view()).collect();
    let norm = global_norm(&views);
    // Multiplying by 1 changes nothing, so only scale when clipping (or NaN).
    if let Some(coef) = clip_coef(norm, max_norm) {
        let c = F::from_f64c(coef);
        for g in grads.iter_mut() {
            g.mapv_inplace(|x| x * c);
        }
    }
    Ok(norm)
}

/// Clamps every gradient element to `[-clip_value, clip_value]`
/// (`torch.nn.utils.clip_grad_value_`).
///
/// Errors: [`RnnError::Invalid`] if `clip_value` is negative or NaN.
pub fn clip_grad_value<F: Float>(grads: &mut [ArrayViewMutD<'_, F>], clip_value: f64) -> Result<(), RnnError> {
    if clip_value.is_nan() || clip_value < 0.0 {
        return Err(RnnError::Invalid(format!("clip_value must be >= 0, got {clip_value}")));
    }
    let hi = F::from_f64c(clip_value);
    let lo = -hi;
    for g in grads.iter_mut() {
        g.mapv_inplace(|x| {
            if x > hi {
                hi
            } else if x < lo {
                lo
            } else {
                x
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn clips_by_global_norm_like_pytorch() {
        // Norm of [3, 4, 12] is 13.
        let mut a = array![[3.0_f64, 4.0]].into_dyn();
        let mut b = array![12.0_f64].into_dyn();
        assert!((global_norm(&[a.view(), b.view()]) - 13.0).abs() < 1e-15);
        let norm = clip_grad_norm(&mut [a.view_mut(), b.view_mut()], 5.0).unwrap();
        assert_eq!(norm, 13.0);
        let coef = 5.0 / (13.0 + 1e-6);
        assert_eq!(a, array![[3.0 * coef, 4.0 * coef]].into_dyn());
        assert_eq!(b, array![12.0 * coef].into_dyn());
        // Under the threshold nothing changes.
        let mut c = array![0.3_f32, -0.4].into_dyn();
        let norm = clip_grad_norm(&mut [c.view_mut()], 5.0).unwrap();
        assert!((norm - 0.5).abs() < 1e-7);
        assert_eq!(c, array![0.3_f32, -0.4].into_dyn());
        assert!(clip_grad_norm(&mut [c.view_mut()], -1.0).is_err());
    }

    #[test]
    fn non_finite_norm_propagates() {
        let mut a = array![f64::NAN, 1.0].into_dyn();
        let norm = clip_grad_norm(&mut [a.view_mut()], 1.0).unwrap();
        assert!(norm.is_nan());
        assert!(a.iter().all(|x| x.is_nan()));
    }

    #[test]
    fn clips_by_value() {
        let mut a = array![[-3.0_f64, 0.5], [2.0, -0.25]].into_dyn();
        clip_grad_value(&mut [a.view_mut()], 1.0).unwrap();
        assert_eq!(a, array![[-1.0, 0.5], [1.0, -0.25]].into_dyn());
        assert!(clip_grad_value(&mut [a.view_mut()], f64::NAN).is_err());
    }
}
