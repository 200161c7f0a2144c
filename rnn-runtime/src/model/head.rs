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
use crate::nn::loss::{mse_into, softmax_cross_entropy_into};
use crate::workspace::{Workspace, array2};
use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2, Zip};

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

/// The mean loss of `z[T*B, O]` and its gradient with respect to `z`,
/// written into `dz` (the shape of `z`); `y` holds the sigmoid's outputs
/// for MSE after a sigmoid (resized with buffers from `ws`). Returns the
/// loss and the number of counted positions.
#[allow(clippy::too_many_arguments)]
pub(super) fn loss_grad_into<F: Float>(
    config: &SeqModelConfig,
    z: ArrayView2<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    len: usize,
    batch: usize,
    mut dz: ArrayViewMut2<'_, F>,
    y: &mut Array2<F>,
    ws: &mut Workspace<F>,
) -> Result<(f64, usize), RnnError> {
    let o = z.ncols();
    if let Some(m) = mask.filter(|m| m.len() != len * batch) {
        return Err(RnnError::shape("loss mask [T*B]", &[len * batch], &[m.len()]));
    }
    match (config.loss, target) {
        (LossKind::CrossEntropy, SeqTarget::Classes(ids)) => {
            if ids.len() != len * batch {
                return Err(RnnError::shape("class targets [T*B]", &[len * batch], &[ids.len()]));
            }
            softmax_cross_entropy_into(z, ids, mask, dz)
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
                    resize2(ws, y, z.dim());
                    Zip::from(&mut *y).and(&z).for_each(|y, &z| *y = sigmoid(z));
                    let out = mse_into(y.view(), ys, mask, dz.view_mut())?;
                    // y = sigmoid(z): dz = dy * y (1 - y)
                    Zip::from(&mut dz)
                        .and(&*y)
                        .for_each(|g, &y| *g = *g * y * (F::one() - y));
                    Ok(out)
                }
                _ => mse_into(z, ys, mask, dz),
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

/// Makes `a` a `[rows, cols]` array, reusing its memory when the shape is
/// already right (the contents are left for the caller to overwrite).
pub(super) fn resize2<F: Float>(ws: &mut Workspace<F>, a: &mut Array2<F>, (rows, cols): (usize, usize)) {
    if a.dim() != (rows, cols) || !a.is_standard_layout() {
        let old = std::mem::replace(a, Array2::from_shape_vec((0, 0), Vec::new()).expect("empty"));
        ws.give_array(old);
        *a = array2(ws.take_dirty(rows * cols), rows, cols);
    }
}
