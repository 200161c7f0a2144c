//! The head's activation and the loss that follows it.
//!
//! In: the head's output `z[N, O]` (time-major rows `N = T*B` per step, or
//! `N = B` per sequence), the targets and an optional mask; out: the mean
//! loss and `dL/dz`. Cross-entropy and binary cross-entropy are taken on
//! the logits (the softmax or sigmoid is inside the loss, as in PyTorch);
//! MSE is taken on the activation's output, so with a sigmoid the gradient
//! is `dL/dy * y (1 - y)`.

use super::{Activation, LossKind, SeqModelConfig, SeqTarget};
use crate::error::RnnError;
use crate::float::Float;
use crate::math::sigmoid;
use crate::nn::loss::{bce_with_logits_into, mse_into, softmax_cross_entropy_into};
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

/// The targets of the head's rows, checked against the model's loss.
enum Rows<'a, F> {
    Classes(&'a [usize]),
    Values(ArrayView2<'a, F>),
}

/// The targets as rows `[N]` or `[N, O]`: per step `N = T*B` (time-major),
/// per sequence `N = B`.
fn target_rows<'a, F: Float>(
    config: &SeqModelConfig,
    target: &SeqTarget<'a, F>,
    (len, batch): (usize, usize),
    o: usize,
) -> Result<Rows<'a, F>, RnnError> {
    let per_seq = config.pooling.per_sequence();
    let n = if per_seq { batch } else { len * batch };
    match (config.loss.takes_classes(), *target, per_seq) {
        (true, SeqTarget::Classes(ids), _) => {
            if ids.len() != n {
                let what = if per_seq {
                    "class targets [B]"
                } else {
                    "class targets [T*B]"
                };
                return Err(RnnError::shape(what, &[n], &[ids.len()]));
            }
            Ok(Rows::Classes(ids))
        }
        (false, SeqTarget::Values(ys), false) => {
            if ys.shape() != [len, batch, o] {
                return Err(RnnError::shape("value targets [T, B, O]", &[len, batch, o], ys.shape()));
            }
            // Standard layout (the caller's arrays are): reshaping a view.
            let ys = ys
                .into_shape_with_order((n, o))
                .map_err(|e| RnnError::Invalid(format!("value targets must be in standard layout: {e}")))?;
            Ok(Rows::Values(ys))
        }
        (false, SeqTarget::Sequences(ys), true) => {
            if ys.shape() != [batch, o] {
                return Err(RnnError::shape(
                    "value targets per sequence [B, O]",
                    &[batch, o],
                    ys.shape(),
                ));
            }
            Ok(Rows::Values(ys))
        }
        (true, _, _) => Err(RnnError::Invalid(
            "cross-entropy needs class id targets (SeqTarget::Classes), got values".into(),
        )),
        (false, SeqTarget::Classes(_), _) => Err(RnnError::Invalid(format!(
            "{} needs value targets (SeqTarget::{}), got class ids",
            config.loss.name(),
            if per_seq {
                "Sequences [B, O]"
            } else {
                "Values [T, B, O]"
            }
        ))),
        (false, SeqTarget::Values(_), true) => Err(RnnError::Invalid(
            "a head that pools each sequence takes one target per sequence (SeqTarget::Sequences [B, O])".into(),
        )),
        (false, SeqTarget::Sequences(_), false) => Err(RnnError::Invalid(
            "a head that runs at every step takes targets per step (SeqTarget::Values [T, B, O])".into(),
        )),
    }
}

/// The mean loss of the head's output `z[N, O]` (rows per step or per
/// sequence, see [`target_rows`]) and its gradient with respect to `z`,
/// written into `dz` (the shape of `z`); `y` holds the sigmoid's outputs for
/// MSE after a sigmoid (resized with buffers from `ws`). Returns the loss
/// and the number of counted rows.
#[allow(clippy::too_many_arguments)]
pub(super) fn loss_grad_into<F: Float>(
    config: &SeqModelConfig,
    z: ArrayView2<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    shape: (usize, usize),
    mut dz: ArrayViewMut2<'_, F>,
    y: &mut Array2<F>,
    ws: &mut Workspace<F>,
) -> Result<(f64, usize), RnnError> {
    let (n, o) = z.dim();
    if let Some(m) = mask.filter(|m| m.len() != n) {
        let what = if config.pooling.per_sequence() {
            "loss mask [B]"
        } else {
            "loss mask [T*B]"
        };
        return Err(RnnError::shape(what, &[n], &[m.len()]));
    }
    match target_rows(config, target, shape, o)? {
        Rows::Classes(ids) => softmax_cross_entropy_into(z, ids, mask, dz),
        Rows::Values(ys) => match (config.loss, config.activation) {
            (LossKind::BinaryCrossEntropy, _) => bce_with_logits_into(z, ys, mask, dz),
            (_, Activation::Sigmoid) => {
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
        },
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
