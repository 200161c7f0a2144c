//! Input encodings: one-hot rows, embedding lookups and dense values, and
//! the embedding's gradient (scatter-add of the input gradient's rows).
//!
//! In: a [`SeqInput`] and the model's [`Encoding`]; out: the first
//! recurrent layer's input `xs[T, B, I]` in standard layout. Every id is
//! checked against the vocabulary before anything is written.

use super::{Encoding, SeqInput};
use crate::error::RnnError;
use crate::float::Float;
use crate::train::charlm::one_hot;
use ndarray::{Array2, Array3, ArrayView3};
use rand::Rng;

/// One draw from `N(0, 1)` (Box–Muller, two uniforms per draw), in `f64`.
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn check_ids(ids: &[usize], len: usize, batch: usize, vocab: usize) -> Result<(), RnnError> {
    if ids.len() != len * batch {
        return Err(RnnError::shape("token ids [T*B]", &[len * batch], &[ids.len()]));
    }
    if let Some((p, &bad)) = ids.iter().enumerate().find(|&(_, &i)| i >= vocab) {
        return Err(RnnError::Invalid(format!(
            "token id {bad} at position {p} is out of range for a vocabulary of {vocab}"
        )));
    }
    Ok(())
}

/// `xs[T, B, I]` for `input` under `encoding` (`embed` is `embed.weight`).
pub(super) fn encode<F: Float>(
    encoding: Encoding,
    embed: Option<&Array2<F>>,
    input: &SeqInput<'_, F>,
) -> Result<Array3<F>, RnnError> {
    match (encoding, input) {
        (Encoding::OneHot { vocab }, &SeqInput::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            one_hot(ids, len, batch, vocab)
        }
        (Encoding::Embedding { vocab, dim }, &SeqInput::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            let table = embed.ok_or_else(|| RnnError::Invalid("the model has no embedding table".into()))?;
            if table.dim() != (vocab, dim) {
                return Err(RnnError::shape("embed.weight", &[vocab, dim], table.shape()));
            }
            let mut xs = Array3::<F>::zeros((len, batch, dim));
            for (mut row, &id) in xs.rows_mut().into_iter().zip(ids) {
                row.assign(&table.row(id));
            }
            Ok(xs)
        }
        (Encoding::Dense { width }, SeqInput::Values(xs)) => {
            let s = xs.shape();
            if s[2] != width {
                return Err(RnnError::shape("dense input [T, B, width]", &[s[0], s[1], width], s));
            }
            Ok(xs.as_standard_layout().into_owned())
        }
        (Encoding::Dense { width }, SeqInput::Tokens { .. }) => Err(RnnError::Invalid(format!(
            "the model takes real values [T, B, {width}] (dense encoding), not token ids"
        ))),
        (enc, SeqInput::Values(_)) => Err(RnnError::Invalid(format!(
            "the model takes token ids ({} encoding), not real values",
            enc.name()
        ))),
    }
}

/// Adds row `(t, b)` of `d_xs[T, B, dim]` into row `ids[t*B + b]` of `grad`
/// (the gradient of `nn.Embedding`, dense).
pub(super) fn embedding_backward<F: Float>(grad: &mut Array2<F>, ids: &[usize], d_xs: ArrayView3<'_, F>) {
    for (row, &id) in d_xs.rows().into_iter().zip(ids) {
        let mut g = grad.row_mut(id);
        g += &row;
    }
}
