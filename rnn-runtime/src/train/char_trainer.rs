//! The CHARLM training loop, one step at a time: draw a batch of random
//! windows, compute loss and gradients, clip by global norm, update with an
//! optimiser, and evaluate on the fixed validation windows.
//!
//! [`CharTrainer`] owns the model, the optimiser, a gradient buffer and the
//! batch generator; the caller drives the steps, so progress display,
//! evaluation schedule and metrics stay in the program. Each
//! [`CharTrainer::step`] is timed from batch construction to the end of the
//! optimiser update, which is the training wall time of CHARLM section 5
//! (evaluation, data loading and sampling are not counted).
//!
//! Every step is guarded (see [`super::guard`]): a NaN or infinite loss,
//! gradient or updated parameter stops training with an
//! [`RnnError::NonFinite`] naming the step and, for a tensor, the parameter.

use super::char_model::{CharModel, CharScratch};
use super::charlm::{Corpus, Windows, random_offsets, val_offsets, windows};
use super::clip::{clip_grad_norm, global_norm};
use super::guard::{check_tensors, check_value};
use super::optim::Optimizer;
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use ndarray::{ArrayViewD, ArrayViewMutD};
use rand::rngs::StdRng;
use std::time::{Duration, Instant};

/// Batch shape, clipping and validation set of a character-LM run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CharLmConfig {
    /// Sequence length `T` (CHARLM: 64).
    pub seq_len: usize,
    /// Windows per batch `B` (CHARLM: 32).
    pub batch: usize,
    /// Clip gradients to this global L2 norm (CHARLM: `Some(5.0)`).
    pub clip: Option<f64>,
    /// Number `K` of fixed validation windows (CHARLM: 64).
    pub val_windows: usize,
}

impl Default for CharLmConfig {
    /// The values of CHARLM v1.
    fn default() -> Self {
        CharLmConfig {
            seq_len: 64,
            batch: 32,
            clip: Some(5.0),
            val_windows: 64,
        }
    }
}

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The 1-based number of this step.
    pub step: usize,
    /// Mean cross-entropy of the batch before the update (nats/char).
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Wall time of this step (batch construction to end of the update).
    pub time: Duration,
}

/// Trains a [`CharModel`] on a [`Corpus`] step by step.
pub struct CharTrainer<'a, F: Float, C: Cell<F>, O: Optimizer<F>> {
    model: CharModel<F, C>,
    grads: CharModel<F, C>,
    scratch: CharScratch<F>,
    optimizer: O,
    corpus: &'a Corpus,
    config: CharLmConfig,
    val: Windows,
    rng: StdRng,
    steps: usize,
    train_time: Duration,
}

impl<'a, F: Float, C: Cell<F>, O: Optimizer<F>> CharTrainer<'a, F, C, O> {
    /// A trainer drawing batches with `rng`. The validation windows are
    /// fixed here (CHARLM section 4).
    ///
    /// Errors: [`RnnError::Invalid`] if a split is too short for a window,
    /// the batch is empty or the model's vocabulary differs from the corpus's.
    pub fn new(
        model: CharModel<F, C>,
        corpus: &'a Corpus,
        config: CharLmConfig,
        optimizer: O,
        rng: StdRng,
    ) -> Result<Self, RnnError> {
        if model.vocab_size() != corpus.vocab_size() {
            return Err(RnnError::Invalid(format!(
                "the model predicts {} characters but the corpus has {}",
                model.vocab_size(),
                corpus.vocab_size()
            )));
        }
        if config.batch == 0 || config.seq_len == 0 {
            return Err(RnnError::Invalid("batch and sequence length must be at least 1".into()));
        }
        if corpus.train().len() < config.seq_len + 1 {
            return Err(RnnError::Invalid(format!(
                "the training split has {} characters, fewer than one window of {}+1",
                corpus.train().len(),
                config.seq_len
            )));
        }
        let offsets = val_offsets(corpus.val().len(), config.seq_len, config.val_windows)?;
        let val = windows(corpus.val(), &offsets, config.seq_len)?;
        let grads = model.zeros_like();
        Ok(CharTrainer {
            model,
            grads,
            scratch: CharScratch::new(),
            optimizer,
            corpus,
            config,
            val,
            rng,
            steps: 0,
            train_time: Duration::ZERO,
        })
    }

    /// One training step: batch, forward, backward, clipping, update.
    ///
    /// Errors: [`RnnError::NonFinite`] naming the step if the loss or the
    /// gradient norm is NaN or infinite (naming the first parameter whose
    /// gradient is not finite, if one is; the parameters are left as they
    /// were before the step), or if the update made a parameter NaN or
    /// infinite (naming it; the model then keeps the non-finite values, so
    /// restore it from a checkpoint), and any error of the parts.
    pub fn step(&mut self) -> Result<StepStats, RnnError> {
        let start = Instant::now();
        let step = self.steps + 1;
        let c = self.config;
        let train = self.corpus.train();
        let offsets = random_offsets(&mut self.rng, train.len(), c.seq_len, c.batch)?;
        let batch = windows(train, &offsets, c.seq_len)?;
        let loss = self
            .model
            .loss_and_grad_ws(&batch, &mut self.grads, &mut self.scratch)?;
        check_value(step, "training loss", loss)?;
        let grad_norm = match c.clip {
            Some(max) => {
                let mut g: Vec<ArrayViewMutD<'_, F>> =
                    self.grads.named_params_mut().into_iter().map(|(_, v)| v).collect();
                clip_grad_norm(&mut g, max)?
            }
            None => global_norm(
                &self
                    .grads
                    .named_params()
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>(),
            ),
        };
        if !grad_norm.is_finite() {
            // Clipping scaled every gradient by a non-finite factor: recompute
            // them (same batch, same parameters) to name the culprit.
            if c.clip.is_some() {
                self.model
                    .loss_and_grad_ws(&batch, &mut self.grads, &mut self.scratch)?;
            }
            check_tensors(step, "gradient of", &self.grads.named_params())?;
            return Err(RnnError::NonFinite {
                what: "gradient norm (every gradient is finite; their norm overflows)".into(),
                step,
            });
        }
        let grads: Vec<(String, ArrayViewD<'_, F>)> = self.grads.named_params();
        self.optimizer.step_named(&mut self.model.named_params_mut(), &grads)?;
        check_tensors(step, "parameter", &self.model.named_params()).map_err(|e| match e {
            RnnError::NonFinite { what, step } => RnnError::NonFinite {
                what: format!("{what} after the update"),
                step,
            },
            other => other,
        })?;
        let time = start.elapsed();
        self.steps = step;
        self.train_time += time;
        Ok(StepStats {
            step,
            loss,
            grad_norm,
            time,
        })
    }

    /// Mean cross-entropy (nats/char) over the fixed validation windows,
    /// every position weighted equally; not counted in the training time.
    ///
    /// Errors: [`RnnError::NonFinite`] (with the number of steps taken) if
    /// the loss is NaN or infinite.
    pub fn evaluate(&self) -> Result<f64, RnnError> {
        let loss = self.model.loss(&self.val)?;
        if !loss.is_finite() {
            return Err(RnnError::NonFinite {
                what: "validation loss".into(),
                step: self.steps,
            });
        }
        Ok(loss)
    }

    /// The fixed validation windows.
    pub fn val_windows(&self) -> &Windows {
        &self.val
    }

    /// The model.
    pub fn model(&self) -> &CharModel<F, C> {
        &self.model
    }

    /// The model, mutably.
    pub fn model_mut(&mut self) -> &mut CharModel<F, C> {
        &mut self.model
    }

    /// The model, ending training.
    pub fn into_model(self) -> CharModel<F, C> {
        self.model
    }

    /// The optimiser (to read the learning rate).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimiser (to read or set the learning rate).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The settings.
    pub fn config(&self) -> &CharLmConfig {
        &self.config
    }

    /// Steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Summed wall time of the steps taken.
    pub fn train_time(&self) -> Duration {
        self.train_time
    }

    /// Characters trained on: `steps * B * T`.
    pub fn chars_seen(&self) -> usize {
        self.steps * self.config.batch * self.config.seq_len
    }

    /// Training throughput, characters per second of training wall time
    /// (0 before the first step).
    pub fn chars_per_sec(&self) -> f64 {
        let s = self.train_time.as_secs_f64();
        if s > 0.0 { self.chars_seen() as f64 / s } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Kind, TestDims, TestRnn};
    use crate::train::optim::{Adam, AdamConfig};
    use rand::SeedableRng;

    #[test]
    fn learns_a_periodic_text() {
        let text = "abcdefgh".repeat(60);
        let corpus = Corpus::from_text(&text).unwrap();
        let v = corpus.vocab_size();
        let mut rng = StdRng::seed_from_u64(0);
        let dims = TestDims {
            i: v,
            h: 16,
            kind: Kind::Tanh,
        };
        let model = CharModel::<f32, TestRnn<f32>>::new(dims, 1, v, &mut rng).unwrap();
        let cfg = CharLmConfig {
            seq_len: 8,
            batch: 4,
            clip: Some(5.0),
            val_windows: 4,
        };
        let opt = Adam::new(AdamConfig {
            lr: 2e-2,
            ..Default::default()
        })
        .unwrap();
        let mut tr = CharTrainer::new(model, &corpus, cfg, opt, rng).unwrap();
        let before = tr.evaluate().unwrap();
        assert!((before - (v as f64).ln()).abs() < 0.5);
        for _ in 0..150 {
            let s = tr.step().unwrap();
            assert!(s.loss.is_finite() && s.grad_norm.is_finite());
        }
        let after = tr.evaluate().unwrap();
        assert!(after < 0.3, "validation loss {before} -> {after}");
        assert_eq!(tr.steps(), 150);
        assert_eq!(tr.chars_seen(), 150 * 32);
        let w = tr.val_windows();
        assert_eq!((w.seq_len, w.batch), (8, 4));
        let s = tr.model().sample(&[0], 16, 0.0, &mut StdRng::seed_from_u64(0)).unwrap();
        assert_eq!(corpus.decode(&s), "bcdefghabcdefgha");
    }

    #[test]
    fn non_finite_loss_names_the_step() {
        let corpus = Corpus::from_text(&"abcd".repeat(30)).unwrap();
        let v = corpus.vocab_size();
        let mut rng = StdRng::seed_from_u64(0);
        let dims = TestDims {
            i: v,
            h: 3,
            kind: Kind::Tanh,
        };
        let mut model = CharModel::<f64, TestRnn<f64>>::new(dims, 1, v, &mut rng).unwrap();
        let cfg = CharLmConfig {
            seq_len: 4,
            batch: 2,
            clip: None,
            val_windows: 2,
        };
        let opt = Adam::new(AdamConfig::default()).unwrap();
        model.head.bias[0] = f64::NAN;
        let mut tr = CharTrainer::new(model, &corpus, cfg, opt, rng).unwrap();
        match tr.step() {
            Err(RnnError::NonFinite { step, .. }) => assert_eq!(step, 1),
            other => panic!("expected a non-finite error, got {other:?}"),
        }
    }

    #[test]
    fn an_update_to_infinity_names_the_parameter() {
        let corpus = Corpus::from_text(&"abcd".repeat(30)).unwrap();
        let v = corpus.vocab_size();
        let mut rng = StdRng::seed_from_u64(0);
        let dims = TestDims {
            i: v,
            h: 3,
            kind: Kind::Tanh,
        };
        let model = CharModel::<f64, TestRnn<f64>>::new(dims, 1, v, &mut rng).unwrap();
        let cfg = CharLmConfig {
            seq_len: 4,
            batch: 2,
            clip: Some(5.0),
            val_windows: 2,
        };
        let mut tr = CharTrainer::new(model, &corpus, cfg, Adam::new(AdamConfig::default()).unwrap(), rng).unwrap();
        tr.step().unwrap();
        tr.optimizer_mut().set_lr(f64::INFINITY);
        assert_eq!(tr.optimizer().lr(), f64::INFINITY);
        match tr.step() {
            Err(RnnError::NonFinite { step, what }) => {
                assert_eq!(step, 2);
                assert!(
                    what.starts_with("parameter rnn.") && what.ends_with("after the update"),
                    "{what}"
                );
            }
            other => panic!("expected a non-finite error, got {other:?}"),
        }
        assert_eq!(tr.steps(), 1);
    }
}
