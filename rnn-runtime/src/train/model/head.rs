//! The head's activation and the loss that follows it.
//!
//! In: the head's output `z[T*B, O]` (time-major rows), the targets and an
//! optional mask; out: the mean loss and `dL/dz`. Cross-entropy is taken on
//! the logits (the softmax is inside the loss, as in PyTorch); MSE is taken
//! on the activation's output, so with a sigmoid the gradient is
//! `dL/dy * y (1 - y)`.

use super::{Activation, LossKind, SeqModelConfig, SeqTarget};
use crate::error::RnnError;
use crate::float::Float;
use crate::math::sigmoid;
use crate::train::loss::{LossGrad, mse, softmax_cross_entropy};
use ndarray::{ArrayView2, ArrayViewMut1, Zip};

/// Applies `activation` to one output row in place.
pub(crate) fn activate_row<F: Float>(activation: Activation, mut row: ArrayViewMut1<'_, F>) {
    match activation {
        Activation::Identity => {}
        Activation::Sigmoid => row.mapv_inplace(sigmoid),
        Activation::Softmax => {
            let max = row.fold(F::neg_infinity(), |a, &b| a.max(b));
            let mut sum = F::zero();
            row.mapv_inplace(|x| {
                let e = (x - max).exp();
                sum += e;
                e
            });
            let inv = F::one() / sum;
            row.mapv_inplace(|e| e * inv);
        }
    }
}

/// The mean loss of `z[T*B, O]` and its gradient with respect to `z`.
pub(super) fn loss_grad<F: Float>(
    config: &SeqModelConfig,
    z: ArrayView2<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    len: usize,
    batch: usize,
) -> Result<LossGrad<F>, RnnError> {
    let o = z.ncols();
    if let Some(m) = mask.filter(|m| m.len() != len * batch) {
        return Err(RnnError::shape("loss mask [T*B]", &[len * batch], &[m.len()]));
    }
    match (config.loss, target) {
        (LossKind::CrossEntropy, SeqTarget::Classes(ids)) => {
            if ids.len() != len * batch {
                return Err(RnnError::shape("class targets [T*B]", &[len * batch], &[ids.len()]));
            }
            softmax_cross_entropy(z, ids, mask)
        }
        (LossKind::Mse, SeqTarget::Values(ys)) => {
            if ys.shape() != [len, batch, o] {
                return Err(RnnError::shape("value targets [T, B, O]", &[len, batch, o], ys.shape()));
            }
            let ys = ys.as_standard_layout();
            let ys = ys
                .view()
                .into_shape_with_order((len * batch, o))
                .map_err(super::reshape_err)?;
            match config.activation {
                Activation::Sigmoid => {
                    let y = z.mapv(sigmoid);
                    let mut lg = mse(y.view(), ys, mask)?;
                    // y = sigmoid(z): dz = dy * y (1 - y)
                    Zip::from(&mut lg.grad)
                        .and(&y)
                        .for_each(|g, &y| *g = *g * y * (F::one() - y));
                    Ok(lg)
                }
                _ => mse(z, ys, mask),
            }
        }
        (LossKind::CrossEntropy, SeqTarget::Values(_)) => Err(RnnError::Invalid(
            "cross-entropy needs class id targets (SeqTarget::Classes), got values".into(),
        )),
        (LossKind::Mse, SeqTarget::Classes(_)) => Err(RnnError::Invalid(
            "mse needs value targets [T, B, O] (SeqTarget::Values), got class ids".into(),
        )),
    }
}
