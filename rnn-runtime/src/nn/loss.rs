//! Losses over rows of predictions: softmax cross-entropy against integer
//! targets and mean squared error, each with an optional mask.
//!
//! Both take a `[N, D]` matrix whose rows are positions (for a sequence,
//! `[T, B, D]` flattened time-major to `[T*B, D]`), return the mean loss over
//! the counted positions in nats (cross-entropy) or squared units (MSE)
//! together with the gradient of that mean with respect to the input, and
//! check every dimension, reporting both shapes when they disagree. The loss
//! is accumulated in `f64` whatever the float type.

use crate::error::RnnError;
use crate::float::Float;
use crate::math::sigmoid;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

/// A scalar loss and its gradient with respect to the input of the loss.
#[derive(Debug, Clone)]
pub struct LossGrad<F> {
    /// The mean loss over the counted positions (0 when none is counted).
    pub loss: f64,
    /// `d loss / d input`, the shape of the input.
    pub grad: Array2<F>,
    /// How many positions were counted (rows for which the mask is `true`).
    pub count: usize,
}

fn check_mask(mask: Option<&[bool]>, n: usize) -> Result<usize, RnnError> {
    match mask {
        None => Ok(n),
        Some(m) if m.len() != n => Err(RnnError::shape("loss mask", &[n], &[m.len()])),
        Some(m) => Ok(m.iter().filter(|&&b| b).count()),
    }
}

/// Mean softmax cross-entropy of `logits[N, V]` against `targets[N]` (class
/// ids), counting row `i` only where `mask[i]` is `true` (`None`: every row).
///
/// This is PyTorch's `F.cross_entropy(logits, targets)` (mean reduction),
/// with masked rows treated like `ignore_index`. The log-sum-exp subtracts
/// each row's maximum, so large logits do not overflow. The gradient is
/// `(softmax(logits) - onehot(target)) / count` on counted rows and zero
/// elsewhere. With no counted row the loss is 0 and the gradient zero.
///
/// Errors: [`RnnError::Shape`] if `targets` or `mask` is not `[N]`,
/// [`RnnError::Invalid`] for a target id `>= V`.
pub fn softmax_cross_entropy<F: Float>(
    logits: ArrayView2<'_, F>,
    targets: &[usize],
    mask: Option<&[bool]>,
) -> Result<LossGrad<F>, RnnError> {
    let mut grad = Array2::<F>::zeros(logits.raw_dim());
    let (loss, count) = softmax_cross_entropy_into(logits, targets, mask, grad.view_mut())?;
    Ok(LossGrad { loss, grad, count })
}

/// [`softmax_cross_entropy`] writing the gradient into `grad` (the shape
/// of `logits`, overwritten) instead of a new array; returns the mean loss
/// and the number of counted rows.
///
/// Errors: those of [`softmax_cross_entropy`], and [`RnnError::Shape`] if
/// `grad` is not the shape of `logits`.
pub fn softmax_cross_entropy_into<F: Float>(
    logits: ArrayView2<'_, F>,
    targets: &[usize],
    mask: Option<&[bool]>,
    mut grad: ArrayViewMut2<'_, F>,
) -> Result<(f64, usize), RnnError> {
    let (n, v) = logits.dim();
    if grad.dim() != (n, v) {
        return Err(RnnError::shape("cross-entropy gradient", &[n, v], grad.shape()));
    }
    if targets.len() != n {
        return Err(RnnError::shape("cross-entropy targets", &[n], &[targets.len()]));
    }
    let count = check_mask(mask, n)?;
    if let Some(&bad) = targets.iter().find(|&&t| t >= v) {
        return Err(RnnError::Invalid(format!(
            "cross-entropy target {bad} out of range for {v} classes (logits shape [{n}, {v}])"
        )));
    }
    if count == 0 {
        grad.fill(F::zero());
        return Ok((0.0, count));
    }
    let scale = F::one() / F::from_f64c(count as f64);
    let mut total = 0.0f64;
    for (i, (row, mut g)) in logits.outer_iter().zip(grad.outer_iter_mut()).enumerate() {
        if mask.is_some_and(|m| !m[i]) {
            g.fill(F::zero());
            continue;
        }
        let max = row.fold(F::neg_infinity(), |a, &b| a.max(b));
        let mut sum = F::zero();
        Zip::from(&mut g).and(&row).for_each(|g, &x| {
            let e = (x - max).exp();
            *g = e;
            sum += e;
        });
        let t = targets[i];
        // -log softmax[t] = log(sum) - (x_t - max)
        total += (sum.ln() - (row[t] - max)).to_f64c();
        let inv = scale / sum;
        g.mapv_inplace(|e| e * inv);
        g[t] -= scale;
    }
    Ok((total / count as f64, count))
}

/// Mean squared error of `pred[N, D]` against `target[N, D]`, counting row
/// `i` only where `mask[i]` is `true` (`None`: every row).
///
/// This is PyTorch's `F.mse_loss(pred, target)` (mean over all counted
/// elements, `count * D` of them); the gradient is
/// `2 (pred - target) / (count * D)` on counted rows and zero elsewhere.
/// With no counted row the loss is 0 and the gradient zero.
///
/// Errors: [`RnnError::Shape`] if `target` is not the shape of `pred` or
/// `mask` is not `[N]`.
pub fn mse<F: Float>(
    pred: ArrayView2<'_, F>,
    target: ArrayView2<'_, F>,
    mask: Option<&[bool]>,
) -> Result<LossGrad<F>, RnnError> {
    let mut grad = Array2::<F>::zeros(pred.raw_dim());
    let (loss, count) = mse_into(pred, target, mask, grad.view_mut())?;
    Ok(LossGrad { loss, grad, count })
}

/// [`mse`] writing the gradient into `grad` (the shape of `pred`,
/// overwritten) instead of a new array; returns the mean loss and the
/// number of counted rows.
///
/// Errors: those of [`mse`], and [`RnnError::Shape`] if `grad` is not the
/// shape of `pred`.
pub fn mse_into<F: Float>(
    pred: ArrayView2<'_, F>,
    target: ArrayView2<'_, F>,
    mask: Option<&[bool]>,
    mut grad: ArrayViewMut2<'_, F>,
) -> Result<(f64, usize), RnnError> {
    if pred.shape() != target.shape() {
        return Err(RnnError::shape("mse target", pred.shape(), target.shape()));
    }
    if pred.shape() != grad.shape() {
        return Err(RnnError::shape("mse gradient", pred.shape(), grad.shape()));
    }
    let (n, d) = pred.dim();
    let count = check_mask(mask, n)?;
    if count == 0 || d == 0 {
        grad.fill(F::zero());
        return Ok((0.0, count));
    }
    let elems = (count * d) as f64;
    let two_over = F::from_f64c(2.0 / elems);
    let mut total = 0.0f64;
    for (i, mut g) in grad.axis_iter_mut(Axis(0)).enumerate() {
        if mask.is_some_and(|m| !m[i]) {
            g.fill(F::zero());
            continue;
        }
        Zip::from(&mut g)
            .and(pred.row(i))
            .and(target.row(i))
            .for_each(|g, &p, &t| {
                let e = p - t;
                total += (e * e).to_f64c();
                *g = two_over * e;
            });
    }
    Ok((total / elems, count))
}

/// Mean binary cross-entropy with logits of `logits[N, D]` against
/// `target[N, D]` (values in `[0, 1]`), counting row `i` only where
/// `mask[i]` is `true` (`None`: every row).
///
/// This is PyTorch's `F.binary_cross_entropy_with_logits(logits, target)`
/// (mean over all counted elements), computed as `max(z, 0) - z y +
/// log(1 + e^-|z|)`, which neither overflows nor loses precision for large
/// `|z|`. The gradient is `(sigmoid(z) - y) / (count * D)` on counted rows
/// and zero elsewhere; with no counted row the loss is 0.
///
/// Errors: [`RnnError::Shape`] if `target` or `grad` is not the shape of
/// `logits`, or `mask` is not `[N]`.
///
/// ```
/// use rnn_runtime::nn::loss::bce_with_logits_into;
/// let z = ndarray::array![[0.0_f64, 2.0]];
/// let y = ndarray::array![[1.0_f64, 0.0]];
/// let mut g = ndarray::Array2::zeros((1, 2));
/// let (loss, count) = bce_with_logits_into(z.view(), y.view(), None, g.view_mut())?;
/// let want = (2f64.ln() + (1.0 + 2f64.exp()).ln()) / 2.0;
/// assert!((loss - want).abs() < 1e-15 && count == 1);
/// # Ok::<(), rnn_runtime::RnnError>(())
/// ```
pub fn bce_with_logits_into<F: Float>(
    logits: ArrayView2<'_, F>,
    target: ArrayView2<'_, F>,
    mask: Option<&[bool]>,
    mut grad: ArrayViewMut2<'_, F>,
) -> Result<(f64, usize), RnnError> {
    if logits.shape() != target.shape() {
        return Err(RnnError::shape("bce target", logits.shape(), target.shape()));
    }
    if logits.shape() != grad.shape() {
        return Err(RnnError::shape("bce gradient", logits.shape(), grad.shape()));
    }
    let (n, d) = logits.dim();
    let count = check_mask(mask, n)?;
    if count == 0 || d == 0 {
        grad.fill(F::zero());
        return Ok((0.0, count));
    }
    let elems = (count * d) as f64;
    let inv = F::from_f64c(1.0 / elems);
    let mut total = 0.0f64;
    for (i, mut g) in grad.axis_iter_mut(Axis(0)).enumerate() {
        if mask.is_some_and(|m| !m[i]) {
            g.fill(F::zero());
            continue;
        }
        Zip::from(&mut g)
            .and(logits.row(i))
            .and(target.row(i))
            .for_each(|g, &z, &y| {
                // max(z, 0) - z y + log(1 + e^-|z|)
                let l = z.max(F::zero()) - z * y + (F::one() + (-z.abs()).exp()).ln();
                total += l.to_f64c();
                *g = (sigmoid(z) - y) * inv;
            });
    }
    Ok((total / elems, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cross_entropy_matches_hand_values() {
        // Row 0: logits [1, 2, 3], target 2: loss = log(e + e^2 + e^3) - 3.
        // Row 1: logits [0, 0, 0], target 0: loss = log 3.
        let logits = array![[1.0_f64, 2.0, 3.0], [0.0, 0.0, 0.0]];
        let out = softmax_cross_entropy(logits.view(), &[2, 0], None).unwrap();
        let e = std::f64::consts::E;
        let l0 = (e + e * e + e * e * e).ln() - 3.0;
        let l1 = 3.0_f64.ln();
        assert!((out.loss - (l0 + l1) / 2.0).abs() < 1e-14);
        let z = e + e * e + e * e * e;
        let want0 = [e / z / 2.0, e * e / z / 2.0, (e * e * e / z - 1.0) / 2.0];
        for (g, w) in out.grad.row(0).iter().zip(want0) {
            assert!((g - w).abs() < 1e-14);
        }
        let want1 = [(1.0 / 3.0 - 1.0) / 2.0, 1.0 / 6.0, 1.0 / 6.0];
        for (g, w) in out.grad.row(1).iter().zip(want1) {
            assert!((g - w).abs() < 1e-14);
        }
    }

    #[test]
    fn cross_entropy_is_stable_and_masked() {
        let logits = array![[1000.0_f32, 0.0], [-1000.0, 1000.0], [5.0, 5.0]];
        let out = softmax_cross_entropy(logits.view(), &[0, 0, 1], Some(&[true, false, true])).unwrap();
        assert_eq!(out.count, 2);
        // Row 0 loss 0, row 2 loss ln 2; row 1 is masked out.
        assert!((out.loss - 2.0_f64.ln() / 2.0).abs() < 1e-6);
        assert!(out.grad.iter().all(|g| g.is_finite()));
        assert_eq!(out.grad.row(1).to_vec(), vec![0.0, 0.0]);
        let none = softmax_cross_entropy(logits.view(), &[0, 0, 1], Some(&[false; 3])).unwrap();
        assert_eq!(none.loss, 0.0);
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let logits = array![[0.3_f64, -1.2, 2.0, 0.5], [1.1, 0.0, -0.4, 0.9]];
        let targets = [3, 1];
        let out = softmax_cross_entropy(logits.view(), &targets, None).unwrap();
        let h = 1e-6;
        for idx in [(0, 0), (0, 3), (1, 1), (1, 2)] {
            let mut p = logits.clone();
            p[idx] += h;
            let lp = softmax_cross_entropy(p.view(), &targets, None).unwrap().loss;
            p[idx] -= 2.0 * h;
            let lm = softmax_cross_entropy(p.view(), &targets, None).unwrap().loss;
            assert!(((lp - lm) / (2.0 * h) - out.grad[idx]).abs() < 1e-8);
        }
    }

    #[test]
    fn cross_entropy_reports_bad_input() {
        let logits = Array2::<f64>::zeros((3, 4));
        match softmax_cross_entropy(logits.view(), &[0, 1], None) {
            Err(RnnError::Shape { expected, got, .. }) => {
                assert_eq!(expected, vec![3]);
                assert_eq!(got, vec![2]);
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        assert!(matches!(
            softmax_cross_entropy(logits.view(), &[0, 1, 4], None),
            Err(RnnError::Invalid(_))
        ));
        assert!(matches!(
            softmax_cross_entropy(logits.view(), &[0, 1, 2], Some(&[true])),
            Err(RnnError::Shape { .. })
        ));
    }

    #[test]
    fn mse_matches_hand_values() {
        let pred = array![[1.0_f64, 2.0], [3.0, 4.0]];
        let target = array![[0.0_f64, 2.0], [1.0, 1.0]];
        let out = mse(pred.view(), target.view(), None).unwrap();
        assert!((out.loss - (1.0 + 0.0 + 4.0 + 9.0) / 4.0).abs() < 1e-15);
        assert_eq!(out.grad, array![[0.5, 0.0], [1.0, 1.5]]);
        let masked = mse(pred.view(), target.view(), Some(&[false, true])).unwrap();
        assert!((masked.loss - 6.5).abs() < 1e-15);
        assert_eq!(masked.grad, array![[0.0, 0.0], [2.0, 3.0]]);
        match mse(pred.view(), Array2::<f64>::zeros((2, 3)).view(), None) {
            Err(RnnError::Shape { expected, got, .. }) => {
                assert_eq!(expected, vec![2, 2]);
                assert_eq!(got, vec![2, 3]);
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn bce_matches_its_formula_and_finite_differences() {
        let z = ndarray::array![[0.3_f64, -40.0, 35.0], [-1.2, 0.0, 2.5]];
        let y = ndarray::array![[1.0_f64, 0.0, 1.0], [0.25, 1.0, 0.0]];
        let mask = [true, true];
        let mut g = Array2::zeros((2, 3));
        let (loss, count) = bce_with_logits_into(z.view(), y.view(), Some(&mask), g.view_mut()).unwrap();
        assert_eq!(count, 2);
        let direct: f64 = z
            .iter()
            .zip(&y)
            .map(|(&z, &y): (&f64, &f64)| {
                let p = 1.0 / (1.0 + (-z).exp());
                -(y * p.max(1e-300).ln() + (1.0 - y) * (1.0 - p).max(1e-300).ln())
            })
            .sum::<f64>()
            / 6.0;
        assert!((loss - direct).abs() < 1e-12, "{loss} vs {direct}");
        let eps = 1e-6;
        for i in 0..2 {
            for j in 0..3 {
                let at = |d: f64| {
                    let mut zz = z.clone();
                    zz[(i, j)] += d;
                    bce_with_logits_into(zz.view(), y.view(), None, Array2::zeros((2, 3)).view_mut())
                        .unwrap()
                        .0
                };
                let num = (at(eps) - at(-eps)) / (2.0 * eps);
                assert!((num - g[(i, j)]).abs() < 1e-8, "({i},{j}) {num} vs {}", g[(i, j)]);
            }
        }
        // A masked row counts for nothing and gets no gradient.
        let (l1, c1) = bce_with_logits_into(z.view(), y.view(), Some(&[false, true]), g.view_mut()).unwrap();
        assert_eq!(c1, 1);
        assert!(g.row(0).iter().all(|&x| x == 0.0) && l1.is_finite());
        assert!(bce_with_logits_into(z.view(), y.t(), None, g.view_mut()).is_err());
    }
}
