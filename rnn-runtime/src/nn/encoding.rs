//! Input encodings: one-hot rows, embedding lookups (PyTorch's
//! `nn.Embedding`) and the embedding's gradient, a scatter-add of the input
//! gradient's rows into the rows of their ids.
//!
//! Sequences are time-major: position `t * B + b` is step `t` of sequence
//! `b`, so ids `[T * B]` become rows of `[T, B, width]`.

use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array2, Array3, ArrayView3, ArrayViewMut3};
use rand::Rng;

/// One draw from `N(0, 1)` (Box–Muller, two uniforms per draw), in `f64`.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Checks that `ids` holds `len * batch` ids, each below `vocab`.
///
/// Errors: [`RnnError::Shape`] for the wrong count, [`RnnError::Invalid`]
/// naming the first id out of range and its position.
pub fn check_ids(ids: &[usize], len: usize, batch: usize, vocab: usize) -> Result<(), RnnError> {
    if len.checked_mul(batch) != Some(ids.len()) {
        return Err(RnnError::shape(
            "token ids [T*B]",
            &[len.saturating_mul(batch)],
            &[ids.len()],
        ));
    }
    if let Some((p, &bad)) = ids.iter().enumerate().find(|&(_, &i)| i >= vocab) {
        return Err(RnnError::Invalid(format!(
            "token id {bad} at position {p} is out of range for a vocabulary of {vocab}"
        )));
    }
    Ok(())
}

/// One-hot encodes time-major ids `[T * B]` into `[T, B, vocab]`.
///
/// Errors: [`RnnError::Shape`] if `ids.len() != seq_len * batch`,
/// [`RnnError::Invalid`] for an id `>= vocab`.
///
/// ```
/// let x = rnn_runtime::nn::encoding::one_hot::<f32>(&[0, 2, 1, 1], 2, 2, 3)?;
/// assert_eq!(x.shape(), &[2, 2, 3]);
/// assert_eq!(x[(0, 1, 2)], 1.0);
/// # Ok::<(), rnn_runtime::RnnError>(())
/// ```
pub fn one_hot<F: Float>(ids: &[usize], seq_len: usize, batch: usize, vocab: usize) -> Result<Array3<F>, RnnError> {
    check_ids(ids, seq_len, batch, vocab)?;
    let mut out = Array3::<F>::zeros((seq_len, batch, vocab));
    let flat = out.as_slice_mut().expect("fresh array");
    for (p, &i) in ids.iter().enumerate() {
        flat[p * vocab + i] = F::one();
    }
    Ok(out)
}

/// Writes row `ids[p]` of `table [vocab, dim]` into row `p` of
/// `xs [T, B, dim]` (ids already checked against the vocabulary).
///
/// Panics if `xs` does not hold one row of `dim` per id.
pub fn embedding_lookup<F: Float>(table: &Array2<F>, ids: &[usize], mut xs: ArrayViewMut3<'_, F>) {
    assert_eq!(xs.shape()[0] * xs.shape()[1], ids.len(), "one row per id");
    for (mut row, &id) in xs.rows_mut().into_iter().zip(ids) {
        row.assign(&table.row(id));
    }
}

/// Adds row `(t, b)` of `d_xs[T, B, dim]` into row `ids[t*B + b]` of `grad`
/// (the gradient of `nn.Embedding`, dense).
pub fn embedding_backward<F: Float>(grad: &mut Array2<F>, ids: &[usize], d_xs: ArrayView3<'_, F>) {
    for (row, &id) in d_xs.rows().into_iter().zip(ids) {
        let mut g = grad.row_mut(id);
        g += &row;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_is_time_major() {
        let x = one_hot::<f32>(&[0, 2, 1, 1], 2, 2, 3).unwrap();
        assert_eq!(x.shape(), &[2, 2, 3]);
        assert_eq!(x[(0, 1, 2)], 1.0);
        assert_eq!(x[(1, 0, 1)], 1.0);
        assert_eq!(x.sum(), 4.0);
        assert!(one_hot::<f32>(&[0, 3], 1, 2, 3).is_err());
        assert!(one_hot::<f32>(&[0], 1, 2, 3).is_err());
    }

    #[test]
    fn embedding_rows_and_their_gradient() {
        let table = ndarray::array![[1.0_f64, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut xs = Array3::zeros((2, 1, 2));
        embedding_lookup(&table, &[2, 0], xs.view_mut());
        assert_eq!(xs, ndarray::array![[[5.0, 6.0]], [[1.0, 2.0]]]);
        let mut g = Array2::zeros((3, 2));
        embedding_backward(&mut g, &[2, 2], xs.view());
        assert_eq!(g.row(2), ndarray::array![6.0, 8.0]);
        assert_eq!(g.row(0).sum(), 0.0);
    }
}
