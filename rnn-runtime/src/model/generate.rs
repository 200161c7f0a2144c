//! Streaming a [`SeqModel`] one step at a time: feed tokens or values,
//! read the head's output, sample the next token.
//!
//! A [`Generator`] holds the recurrent state of `B` sequences (one
//! `[L, B, width]` per cell state) and runs [`Layers::step`] (each cell's
//! emitted single step) and the head per call, so it costs one step per
//! token whatever has been fed before. Stepping through a sequence gives the
//! outputs of [`SeqModel::forward`] on it (to rounding of the cell's step
//! code). Bidirectional models need the whole sequence and cannot stream.
//!
//! Sampling follows [`crate::nn::sample`]: temperature 0 is greedy
//! (argmax), otherwise a draw from `softmax(logits / temperature)` with one
//! uniform number per token from the caller's generator, so a seeded
//! generator reproduces a sample.
//!
//! [`Layers::step`]: crate::layers::Layers::step

use super::{SeqInput, SeqModel};
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::nn::sample::sample_logits;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};
use rand::Rng;

/// A model's recurrent state for `B` sequences, advanced one step per call.
pub struct Generator<'m, F: Float, C: Cell<F>> {
    model: &'m SeqModel<F, C>,
    state: Vec<Array3<F>>,
    batch: usize,
    /// The head's output before the activation at the last step, `[B, O]`.
    logits: Option<Array2<F>>,
}

impl<F: Float, C: Cell<F>> std::fmt::Debug for Generator<'_, F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("batch", &self.batch)
            .field("stepped", &self.logits.is_some())
            .finish()
    }
}

impl<'m, F: Float, C: Cell<F>> Generator<'m, F, C> {
    /// A generator for `batch` sequences from the zero state.
    ///
    /// Errors: [`RnnError::Invalid`] for a bidirectional model or a batch of 0.
    pub fn new(model: &'m SeqModel<F, C>, batch: usize) -> Result<Self, RnnError> {
        Self::with_state(model, model.zero_state(batch))
    }

    /// A generator starting from `state` (one `[L, B, width]` per cell
    /// state, e.g. [`SeqOutcome::final_state`](super::SeqOutcome)).
    ///
    /// Errors: [`RnnError::Invalid`] for a bidirectional model or an empty
    /// batch, [`RnnError::Shape`] for states of the wrong shape.
    pub fn with_state(model: &'m SeqModel<F, C>, state: Vec<Array3<F>>) -> Result<Self, RnnError> {
        if model.config().bidirectional {
            return Err(RnnError::Invalid(
                "a bidirectional model needs the whole sequence and cannot be run step by step".into(),
            ));
        }
        let widths = model.layers().state_sizes();
        if state.len() != widths.len() {
            return Err(RnnError::shape(
                "generator state (number of tensors)",
                &[widths.len()],
                &[state.len()],
            ));
        }
        let batch = state.first().map_or(0, |s| s.shape()[1]);
        if batch == 0 {
            return Err(RnnError::Invalid("a generator needs a batch of at least 1".into()));
        }
        let rows = model.config().num_layers;
        for (k, (s, &w)) in state.iter().zip(widths).enumerate() {
            if s.shape() != [rows, batch, w] {
                return Err(RnnError::shape(
                    format!("generator state[{k}]"),
                    &[rows, batch, w],
                    s.shape(),
                ));
            }
        }
        Ok(Generator {
            model,
            state,
            batch,
            logits: None,
        })
    }

    /// The model being run.
    pub fn model(&self) -> &'m SeqModel<F, C> {
        self.model
    }

    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The current state, one `[L, B, width]` per cell state.
    pub fn state(&self) -> &[Array3<F>] {
        &self.state
    }

    /// The current state, by value.
    pub fn into_state(self) -> Vec<Array3<F>> {
        self.state
    }

    /// Back to the zero state, forgetting the last output.
    pub fn reset(&mut self) {
        self.state = self.model.zero_state(self.batch);
        self.logits = None;
    }

    /// The head's output before the activation at the last step, `[B, O]`
    /// (`None` before the first step).
    pub fn logits(&self) -> Option<ArrayView2<'_, F>> {
        self.logits.as_ref().map(|l| l.view())
    }

    /// Runs one step on the encoded input `x[B, I]`; returns the output after
    /// the activation `[B, O]`.
    fn step_encoded(&mut self, x: ArrayView2<'_, F>) -> Result<Array2<F>, RnnError> {
        let h = self.model.layers().step(x, &mut self.state)?;
        let (z, y) = self.model.head_step(h.view())?;
        self.logits = Some(z);
        Ok(y)
    }

    /// Feeds one token per sequence (`ids[B]`) and returns the output after
    /// the activation, `[B, O]`.
    ///
    /// Errors: those of [`SeqModel::encode`] (a dense model, an id out of
    /// range, `ids` not of length `B`).
    pub fn step_tokens(&mut self, ids: &[usize]) -> Result<Array2<F>, RnnError> {
        if ids.len() != self.batch {
            return Err(RnnError::shape("step token ids [B]", &[self.batch], &[ids.len()]));
        }
        let xs = self.model.encode(&SeqInput::tokens(ids, 1, self.batch))?;
        self.step_encoded(xs.index_axis(Axis(0), 0))
    }

    /// Feeds one value row per sequence (`x[B, width]`, dense models) and
    /// returns the output after the activation, `[B, O]`.
    pub fn step_values(&mut self, x: ArrayView2<'_, F>) -> Result<Array2<F>, RnnError> {
        if x.nrows() != self.batch {
            return Err(RnnError::shape(
                "step values [B, width]",
                &[self.batch, self.model.input_width()],
                x.shape(),
            ));
        }
        let xs = self.model.encode(&SeqInput::values(x.insert_axis(Axis(0))))?;
        self.step_encoded(xs.index_axis(Axis(0), 0))
    }

    /// Feeds a whole input (`T` steps, batch `B`) step by step; returns the
    /// outputs after the activation `[T, B, O]`.
    pub fn feed(&mut self, input: &SeqInput<'_, F>) -> Result<Array3<F>, RnnError> {
        if input.batch() != self.batch {
            return Err(RnnError::shape(
                "generator input batch",
                &[self.batch],
                &[input.batch()],
            ));
        }
        let xs = self.model.encode(input)?;
        let mut out = Array3::zeros((xs.shape()[0], self.batch, self.model.output_size()));
        for (t, x) in xs.outer_iter().enumerate() {
            let y = self.step_encoded(x)?;
            out.index_axis_mut(Axis(0), t).assign(&y);
        }
        Ok(out)
    }

    /// Feeds a prefix of values `xs[T, B, width]`; like [`Generator::feed`].
    pub fn feed_values(&mut self, xs: ArrayView3<'_, F>) -> Result<Array3<F>, RnnError> {
        self.feed(&SeqInput::values(xs))
    }

    /// Feeds a prefix of tokens (`ids[T * B]`, time-major); returns nothing
    /// but leaves the last step's logits for [`Generator::sample`].
    pub fn prime(&mut self, ids: &[usize]) -> Result<(), RnnError> {
        if !ids.len().is_multiple_of(self.batch) {
            return Err(RnnError::Invalid(format!(
                "{} prefix ids do not split into sequences of a batch of {}",
                ids.len(),
                self.batch
            )));
        }
        for chunk in ids.chunks(self.batch) {
            self.step_tokens(chunk)?;
        }
        Ok(())
    }

    /// Draws one token per sequence from the last step's logits (greedy at
    /// temperature 0), without feeding it.
    ///
    /// Errors: [`RnnError::Invalid`] before the first step, for a model
    /// whose head is not a softmax, or for a bad temperature.
    pub fn sample<R: Rng + ?Sized>(&self, temperature: f64, rng: &mut R) -> Result<Vec<usize>, RnnError> {
        check_token_head(self.model)?;
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(|| RnnError::Invalid("nothing to sample from: feed at least one step first".into()))?;
        logits
            .rows()
            .into_iter()
            .map(|r| sample_logits(r, temperature, rng))
            .collect()
    }

    /// Draws `n` tokens per sequence, feeding each draw back in; returns
    /// them time-major (`[n * B]`). Needs a primed generator.
    pub fn generate<R: Rng + ?Sized>(
        &mut self,
        n: usize,
        temperature: f64,
        rng: &mut R,
    ) -> Result<Vec<usize>, RnnError> {
        let mut out = Vec::with_capacity(n * self.batch);
        for k in 0..n {
            let ids = self.sample(temperature, rng)?;
            if k + 1 < n {
                self.step_tokens(&ids)?;
            }
            out.extend(ids);
        }
        Ok(out)
    }
}

/// Checks that the model's outputs are logits over its own vocabulary.
pub(crate) fn check_token_head<F: Float, C: Cell<F>>(model: &SeqModel<F, C>) -> Result<(), RnnError> {
    let cfg = model.config();
    match cfg.encoding.vocab() {
        None => Err(RnnError::Invalid(
            "token generation needs a token model (one-hot or embedding encoding)".into(),
        )),
        Some(_) if cfg.activation != super::Activation::Softmax => Err(RnnError::Invalid(format!(
            "token generation needs a softmax head, this model's is `{}`",
            cfg.activation.name()
        ))),
        Some(v) if v != cfg.output_size => Err(RnnError::Invalid(format!(
            "token generation needs one logit per token: the vocabulary has {v} tokens, the head {} outputs",
            cfg.output_size
        ))),
        Some(_) => Ok(()),
    }
}

/// Feeds `prefix` (token ids, one sequence) from the zero state, then draws
/// `n` tokens one at a time from `softmax(logits / temperature)` (0:
/// greedy), feeding each back in. Returns the `n` drawn ids (not the prefix).
///
/// Errors: [`RnnError::Invalid`] for an empty prefix, an id outside the
/// vocabulary, a negative temperature, a bidirectional or non-token model or
/// one whose head is not a softmax over the vocabulary.
pub fn generate<F: Float, C: Cell<F>, R: Rng + ?Sized>(
    model: &SeqModel<F, C>,
    prefix: &[usize],
    n: usize,
    temperature: f64,
    rng: &mut R,
) -> Result<Vec<usize>, RnnError> {
    check_token_head(model)?;
    if prefix.is_empty() {
        return Err(RnnError::Invalid(
            "generation needs a prefix of at least one token".into(),
        ));
    }
    let mut g = Generator::new(model, 1)?;
    g.prime(prefix)?;
    g.generate(n, temperature, rng)
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// A [`Generator`] for `batch` sequences from the zero state.
    pub fn generator(&self, batch: usize) -> Result<Generator<'_, F, C>, RnnError> {
        Generator::new(self, batch)
    }

    /// [`generate`]: `n` tokens after `prefix`.
    pub fn generate<R: Rng + ?Sized>(
        &self,
        prefix: &[usize],
        n: usize,
        temperature: f64,
        rng: &mut R,
    ) -> Result<Vec<usize>, RnnError> {
        generate(self, prefix, n, temperature, rng)
    }
}
