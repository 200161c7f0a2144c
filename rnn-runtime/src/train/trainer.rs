//! The training loop of any [`SeqModel`], one step at a time: draw a batch,
//! compute the loss and the gradients, clip by global norm, update with an
//! optimiser, and evaluate on held-out data.
//!
//! [`Trainer`] owns the model, its gradient, the optimiser and the memory
//! reused across steps ([`SeqScratch`]); batches come from a
//! [`BatchSource`] the caller implements (a corpus cut into windows, a
//! generator of synthetic sequences, ...), so the caller drives the steps
//! and keeps progress display, evaluation schedule, metrics
//! ([`super::metrics`]) and checkpoints ([`super::guard::Checkpointer`]) in
//! the program. Each [`Trainer::step`] is timed from drawing the batch to
//! the end of the update (evaluation is not counted).
//!
//! Every step is guarded ([`super::guard`]): a NaN or infinite loss,
//! gradient or updated parameter stops training with an
//! [`RnnError::NonFinite`] naming the step and, for a tensor, the
//! parameter. Once the shapes have been seen, a step allocates nothing.
//!
//! ```
//! use rnn_runtime::model::{Encoding, SeqInput, SeqModel, SeqModelConfig, SeqTarget};
//! use rnn_runtime::optim::{Adam, AdamConfig};
//! use rnn_runtime::train::{Batch, Trainer, TrainerConfig};
//! # use rnn_runtime::{Cell, Forward, InputGrads, RnnError, Trace, Workspace};
//! # use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMutD};
//! # #[derive(Clone, Debug)]
//! # struct Lin { w: Array2<f64> }
//! # impl Cell<f64> for Lin {
//! #     type Dims = (usize, usize);
//! #     const NAME: &'static str = "Lin";
//! #     const PARAM_NAMES: &'static [&'static str] = &["weight_ih"];
//! #     const STATE_NAMES: &'static [&'static str] = &["h"];
//! #     fn new<R: rand::Rng + ?Sized>(d: (usize, usize), r: &mut R) -> Self {
//! #         let mut c = Self::zeros(d);
//! #         c.w.mapv_inplace(|_| r.random::<f64>() - 0.5);
//! #         c
//! #     }
//! #     fn zeros((i, h): (usize, usize)) -> Self { Lin { w: Array2::zeros((h, i)) } }
//! #     fn dims(&self) -> (usize, usize) { (self.w.ncols(), self.w.nrows()) }
//! #     fn with_input_size((_, h): (usize, usize), i: usize) -> Result<(usize, usize), RnnError> { Ok((i, h)) }
//! #     fn input_size(&self) -> usize { self.w.ncols() }
//! #     fn output_size(&self) -> usize { self.w.nrows() }
//! #     fn state_sizes(&self) -> Vec<usize> { vec![self.w.nrows()] }
//! #     fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, f64>)> { vec![("weight_ih", self.w.view().into_dyn())] }
//! #     fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, f64>)> { vec![("weight_ih", self.w.view_mut().into_dyn())] }
//! #     fn forward_ws(&self, xs: ArrayView3<'_, f64>, init: &[Array2<f64>], ws: &mut Workspace<f64>, out: &mut Forward<f64>) -> Result<(), RnnError> {
//! #         let mut t = Trace::empty();
//! #         self.forward_train_ws(xs, init, ws, &mut t)?;
//! #         *out = Forward { outputs: t.outputs, states: t.states };
//! #         Ok(())
//! #     }
//! #     fn forward_train_ws(&self, xs: ArrayView3<'_, f64>, _: &[Array2<f64>], _: &mut Workspace<f64>, trace: &mut Trace<f64>) -> Result<(), RnnError> {
//! #         // h_t = W x_t (no recurrence: enough for the example).
//! #         let (len, batch) = (xs.shape()[0], xs.shape()[1]);
//! #         let mut outputs = ndarray::Array3::zeros((len, batch, self.w.nrows()));
//! #         for t in 0..len { outputs.index_axis_mut(ndarray::Axis(0), t).assign(&xs.index_axis(ndarray::Axis(0), t).dot(&self.w.t())); }
//! #         let last = outputs.index_axis(ndarray::Axis(0), len - 1).to_owned();
//! #         *trace = Trace { outputs, states: vec![last], len, batch, saved: vec![xs.iter().copied().collect()], ..Trace::empty() };
//! #         Ok(())
//! #     }
//! #     fn backward_ws(&self, tr: &Trace<f64>, d_out: ArrayView3<'_, f64>, _: &[Array2<f64>], g: &mut Self, _: &mut Workspace<f64>, input: &mut InputGrads<f64>) -> Result<(), RnnError> {
//! #         let (len, batch, i) = (tr.len, tr.batch, self.w.ncols());
//! #         let xs = ndarray::ArrayView3::from_shape((len, batch, i), &tr.saved[0]).unwrap();
//! #         let mut d_xs = ndarray::Array3::zeros((len, batch, i));
//! #         for t in 0..len {
//! #             let dy = d_out.index_axis(ndarray::Axis(0), t);
//! #             g.w += &dy.t().dot(&xs.index_axis(ndarray::Axis(0), t));
//! #             d_xs.index_axis_mut(ndarray::Axis(0), t).assign(&dy.dot(&self.w));
//! #         }
//! #         *input = InputGrads { d_xs, d_init: vec![Array2::zeros((batch, self.w.nrows()))] };
//! #         Ok(())
//! #     }
//! #     fn step(&self, x: ArrayView2<'_, f64>, state: &mut [Array2<f64>]) -> Result<Array2<f64>, RnnError> {
//! #         state[0] = x.dot(&self.w.t());
//! #         Ok(state[0].clone())
//! #     }
//! # }
//! // Learn to echo the input token, from batches of one fixed example.
//! let config = SeqModelConfig::language_model(Encoding::OneHot { vocab: 3 }, 3);
//! use rand::SeedableRng;
//! let model = SeqModel::<f64, Lin>::new((3, 8), config, &mut rand::rngs::StdRng::seed_from_u64(0))?;
//! let adam = Adam::new(AdamConfig { lr: 0.1, ..AdamConfig::default() })?;
//! let mut trainer = Trainer::new(model, adam, TrainerConfig { clip_norm: Some(1.0), ..TrainerConfig::default() });
//! let ids = [0, 1, 2, 1];
//! let batch = Batch::new(SeqInput::tokens(&ids, 2, 2), SeqTarget::Classes(&ids));
//! let before = trainer.evaluate(&batch)?;
//! for _ in 0..30 {
//!     trainer.step_on(&batch)?;
//! }
//! assert!(trainer.evaluate(&batch)? < before / 2.0);
//! assert_eq!(trainer.steps(), 30);
//! # Ok::<(), RnnError>(())
//! ```

use super::guard::{check_params, check_value};
use super::sync::{GradientSync, SyncStats};
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::model::{SeqInput, SeqLoss, SeqModel, SeqScratch, SeqTarget};
use crate::optim::{LrSchedule, Optimizer};
use std::time::{Duration, Instant};

/// One batch of training or evaluation data: inputs, targets and an
/// optional mask of the positions that count (`[T*B]`, time-major).
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a, F> {
    /// The input sequences.
    pub input: SeqInput<'a, F>,
    /// The targets.
    pub target: SeqTarget<'a, F>,
    /// Positions that count (`None`: all).
    pub mask: Option<&'a [bool]>,
}

impl<'a, F> Batch<'a, F> {
    /// A batch in which every position counts.
    pub fn new(input: SeqInput<'a, F>, target: SeqTarget<'a, F>) -> Self {
        Batch {
            input,
            target,
            mask: None,
        }
    }

    /// With `mask` (`[T*B]`, time-major; `true` counts).
    pub fn with_mask(self, mask: &'a [bool]) -> Self {
        Batch {
            mask: Some(mask),
            ..self
        }
    }
}

/// Where a [`Trainer`] draws its training batches from.
pub trait BatchSource<F> {
    /// The next training batch (borrowing the source's own buffers).
    fn next_batch(&mut self) -> Result<Batch<'_, F>, RnnError>;
}

/// Clipping and learning-rate schedule of a [`Trainer`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrainerConfig {
    /// Clip gradients to this global L2 norm before each update (`None`:
    /// no clipping).
    pub clip_norm: Option<f64>,
    /// The learning rate of step `k` (0-based) as a function of the
    /// optimiser's learning rate when the trainer was built; with
    /// [`LrSchedule::Constant`] the trainer leaves the learning rate alone.
    pub schedule: LrSchedule,
}

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The 1-based number of this step.
    pub step: usize,
    /// Mean loss of the batch before the update.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// The learning rate of this step's update.
    pub lr: f64,
    /// Positions `T * B` in the batch.
    pub positions: usize,
    /// Wall time of this step (drawing the batch to the end of the update).
    pub time: Duration,
}

/// Trains a [`SeqModel`] step by step (see the [module docs](self)).
pub struct Trainer<F: Float, C: Cell<F>, O: Optimizer<F>> {
    pub(super) model: SeqModel<F, C>,
    pub(super) grads: SeqModel<F, C>,
    scratch: SeqScratch<F>,
    eval_scratch: SeqScratch<F>,
    pub(super) optimizer: O,
    config: TrainerConfig,
    pub(super) base_lr: f64,
    pub(super) steps: usize,
    pub(super) positions: usize,
    pub(super) train_time: Duration,
    sync: Option<Synced<F>>,
}

/// A trainer's part in data-parallel training (see [`Trainer::with_sync`]).
struct Synced<F: Float> {
    sync: Box<dyn GradientSync<F> + Send>,
    check_every: usize,
}

impl<F: Float, C: Cell<F>, O: Optimizer<F>> std::fmt::Debug for Trainer<F, C, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("model", &self.model)
            .field("config", &self.config)
            .field("steps", &self.steps)
            .finish()
    }
}

impl<F: Float, C: Cell<F>, O: Optimizer<F>> Trainer<F, C, O> {
    /// A trainer of `model` with `optimizer`; the schedule starts from the
    /// optimiser's current learning rate.
    pub fn new(model: SeqModel<F, C>, optimizer: O, config: TrainerConfig) -> Self {
        let grads = model.zeros_like();
        let base_lr = optimizer.lr();
        Trainer {
            model,
            grads,
            scratch: SeqScratch::new(),
            eval_scratch: SeqScratch::new(),
            optimizer,
            config,
            base_lr,
            steps: 0,
            positions: 0,
            train_time: Duration::ZERO,
            sync: None,
        }
    }

    /// This trainer as one of several processes training together on
    /// shards of each global batch (data parallelism; see
    /// [`GradientSync`]): the model's parameters are set to the first
    /// process's now; after each backward pass the gradients are combined
    /// into those of the mean loss over every process's batch (so
    /// [`StepStats::loss`] is that mean, the same on every process) before
    /// the same update on all; and after every `check_every` steps the
    /// processes check that their parameters are still identical. Every
    /// process must call this and then take the same steps.
    ///
    /// Errors: [`RnnError::Invalid`] for `check_every == 0`, and the
    /// errors of [`GradientSync::broadcast`].
    pub fn with_sync(
        mut self,
        mut sync: Box<dyn GradientSync<F> + Send>,
        check_every: usize,
    ) -> Result<Self, RnnError> {
        if check_every == 0 {
            return Err(RnnError::Invalid(
                "check_every must be at least 1 (steps between checks that the processes agree)".into(),
            ));
        }
        sync.broadcast(&mut self.model)?;
        self.sync = Some(Synced { sync, check_every });
        Ok(self)
    }

    /// What the gradient reductions of [`Trainer::with_sync`] cost so far
    /// (`None` without a sync).
    pub fn sync_stats(&self) -> Option<SyncStats> {
        self.sync.as_ref().map(|s| s.sync.stats())
    }

    /// Checks now that every process holds the same parameters (see
    /// [`Trainer::with_sync`]; a collective call). Without a sync, `Ok`.
    ///
    /// Errors: [`RnnError::Distributed`] naming the processes that differ.
    pub fn check_in_sync(&mut self) -> Result<(), RnnError> {
        match &mut self.sync {
            Some(s) => s.sync.check_same(&self.model, self.steps),
            None => Ok(()),
        }
    }

    /// One training step on the next batch of `source`: draw, forward,
    /// backward, clipping, update (see [`Trainer::step_on`]), timed from
    /// the draw.
    pub fn step(&mut self, source: &mut impl BatchSource<F>) -> Result<StepStats, RnnError> {
        let start = Instant::now();
        let batch = source.next_batch()?;
        self.step_from(start, &batch)
    }

    /// One training step on `batch`: forward, backward, clipping, update.
    ///
    /// Errors: [`RnnError::NonFinite`] naming the step if the loss or the
    /// gradient norm is NaN or infinite (naming the first parameter whose
    /// gradient is not finite, if one is; the parameters are left as they
    /// were before the step), or if the update made a parameter NaN or
    /// infinite (naming it; the model then keeps the non-finite values, so
    /// restore it from a checkpoint); [`RnnError::Invalid`] for a bad clip
    /// norm; and any error of the model (shapes, ids) or the optimiser.
    pub fn step_on(&mut self, batch: &Batch<'_, F>) -> Result<StepStats, RnnError> {
        self.step_from(Instant::now(), batch)
    }

    fn step_from(&mut self, start: Instant, batch: &Batch<'_, F>) -> Result<StepStats, RnnError> {
        let step = self.steps + 1;
        if self.config.schedule != LrSchedule::Constant {
            self.optimizer.set_lr(self.config.schedule.lr(self.base_lr, self.steps));
        }
        let lr = self.optimizer.lr();
        let SeqLoss { mut loss, count } = self.model.loss_and_grad_ws(
            &batch.input,
            &batch.target,
            batch.mask,
            &[],
            &mut self.grads,
            &mut self.scratch,
        )?;
        if let Some(s) = &mut self.sync {
            // Before any check, so that every process fails together.
            loss = s.sync.reduce(&mut self.grads, loss, count)?.0;
        }
        check_value(step, "training loss", loss)?;
        let grad_norm =
            self.model
                .update_with(&mut self.grads, &mut self.optimizer, self.config.clip_norm, |grads| {
                    check_params(step, "gradient of", grads)
                        .err()
                        .unwrap_or_else(|| RnnError::NonFinite {
                            what: "gradient norm (every gradient is finite; their norm overflows)".into(),
                            step,
                        })
                })?;
        check_params(step, "parameter", &self.model).map_err(|e| match e {
            RnnError::NonFinite { what, step } => RnnError::NonFinite {
                what: format!("{what} after the update"),
                step,
            },
            other => other,
        })?;
        if let Some(s) = &mut self.sync
            && step.is_multiple_of(s.check_every)
        {
            s.sync.check_same(&self.model, step)?;
        }
        let time = start.elapsed();
        let positions = batch.input.len() * batch.input.batch();
        self.steps = step;
        self.positions += positions;
        self.train_time += time;
        Ok(StepStats {
            step,
            loss,
            grad_norm,
            lr,
            positions,
            time,
        })
    }

    /// Mean loss of `batch` (every counted position weighted equally), from
    /// the zero state; not counted in the training time.
    ///
    /// Errors: [`RnnError::NonFinite`] (with the number of steps taken) if
    /// the loss is NaN or infinite, and any error of the model.
    pub fn evaluate(&mut self, batch: &Batch<'_, F>) -> Result<f64, RnnError> {
        let loss = self
            .model
            .loss_ws(&batch.input, &batch.target, batch.mask, &[], &mut self.eval_scratch)?;
        if !loss.is_finite() {
            return Err(RnnError::NonFinite {
                what: "validation loss".into(),
                step: self.steps,
            });
        }
        Ok(loss)
    }

    /// The model.
    pub fn model(&self) -> &SeqModel<F, C> {
        &self.model
    }

    /// The model, mutably.
    pub fn model_mut(&mut self) -> &mut SeqModel<F, C> {
        &mut self.model
    }

    /// The model, ending training.
    pub fn into_model(self) -> SeqModel<F, C> {
        self.model
    }

    /// The gradient of the last step (after clipping).
    pub fn grads(&self) -> &SeqModel<F, C> {
        &self.grads
    }

    /// The optimiser (to read the learning rate).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimiser, mutably.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The settings.
    pub fn config(&self) -> &TrainerConfig {
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

    /// Positions `(t, b)` trained on, summed over the steps (characters,
    /// for a character model).
    pub fn positions_seen(&self) -> usize {
        self.positions
    }

    /// Training throughput: positions per second of training wall time (0
    /// before the first step).
    pub fn positions_per_sec(&self) -> f64 {
        let s = self.train_time.as_secs_f64();
        if s > 0.0 { self.positions as f64 / s } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Encoding, SeqModelConfig};
    use crate::optim::{Adam, AdamConfig};
    use crate::testing::{Kind, TestDims, TestRnn};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Random windows of a periodic token stream, next token as target.
    struct Windows {
        data: Vec<usize>,
        len: usize,
        batch: usize,
        rng: StdRng,
        inputs: Vec<usize>,
        targets: Vec<usize>,
    }

    impl Windows {
        fn new(period: usize, len: usize, batch: usize) -> Self {
            Windows {
                data: (0..400).map(|i| i % period).collect(),
                len,
                batch,
                rng: StdRng::seed_from_u64(3),
                inputs: Vec::new(),
                targets: Vec::new(),
            }
        }
    }

    impl BatchSource<f32> for Windows {
        fn next_batch(&mut self) -> Result<Batch<'_, f32>, RnnError> {
            let offsets: Vec<usize> = (0..self.batch)
                .map(|_| self.rng.random_range(0..self.data.len() - self.len))
                .collect();
            self.inputs.clear();
            self.targets.clear();
            for t in 0..self.len {
                for &o in &offsets {
                    self.inputs.push(self.data[o + t]);
                    self.targets.push(self.data[o + t + 1]);
                }
            }
            Ok(Batch::new(
                SeqInput::tokens(&self.inputs, self.len, self.batch),
                SeqTarget::Classes(&self.targets),
            ))
        }
    }

    fn model<F: Float>(vocab: usize, h: usize) -> SeqModel<F, TestRnn<F>> {
        let dims = TestDims {
            i: 0,
            h,
            kind: Kind::Tanh,
        };
        let config = SeqModelConfig::language_model(Encoding::OneHot { vocab }, vocab);
        SeqModel::new(dims, config, &mut StdRng::seed_from_u64(0)).unwrap()
    }

    #[test]
    fn learns_a_periodic_sequence() {
        let adam = Adam::new(AdamConfig {
            lr: 2e-2,
            ..AdamConfig::default()
        })
        .unwrap();
        let config = TrainerConfig {
            clip_norm: Some(5.0),
            ..TrainerConfig::default()
        };
        let mut tr = Trainer::new(model::<f32>(8, 16), adam, config);
        let mut source = Windows::new(8, 8, 4);
        // Time-major: position t * 4 + b is step t of the window starting at b.
        let val_ids: Vec<usize> = (0..32).map(|p| (p / 4 + p % 4) % 8).collect();
        let val_next: Vec<usize> = val_ids.iter().map(|&i| (i + 1) % 8).collect();
        let val = Batch::new(SeqInput::tokens(&val_ids, 8, 4), SeqTarget::Classes(&val_next));
        let before = tr.evaluate(&val).unwrap();
        assert!((before - 8f64.ln()).abs() < 0.5, "{before}");
        for _ in 0..150 {
            let s = tr.step(&mut source).unwrap();
            assert!(s.loss.is_finite() && s.grad_norm.is_finite());
            assert_eq!(s.positions, 32);
        }
        let after = tr.evaluate(&val).unwrap();
        assert!(after < 0.3, "validation loss {before} -> {after}");
        assert_eq!(tr.steps(), 150);
        assert_eq!(tr.positions_seen(), 150 * 32);
        let s = tr
            .model()
            .generate(&[0], 16, 0.0, &mut StdRng::seed_from_u64(0))
            .unwrap();
        assert_eq!(s, vec![1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0]);
    }

    #[test]
    fn the_same_as_apply_gradients_step_by_step() {
        // The trainer's step is loss_and_grad + apply_gradients, bit for bit.
        let opt = || Adam::new(AdamConfig::default()).unwrap();
        let mut tr = Trainer::new(
            model::<f64>(5, 3),
            opt(),
            TrainerConfig {
                clip_norm: Some(0.5),
                ..TrainerConfig::default()
            },
        );
        let mut m = model::<f64>(5, 3);
        let mut o = opt();
        let ids = [0, 1, 2, 3, 4, 0];
        let next = [1, 2, 3, 4, 0, 1];
        let batch = Batch::new(SeqInput::tokens(&ids, 3, 2), SeqTarget::Classes(&next));
        for _ in 0..3 {
            let s = tr.step_on(&batch).unwrap();
            let mut g = m.zeros_like();
            let out = m
                .loss_and_grad_into(&batch.input, &batch.target, None, &[], &mut g)
                .unwrap();
            let norm = m.apply_gradients(&mut g, &mut o, Some(0.5)).unwrap();
            assert_eq!((s.loss, s.grad_norm), (out.loss, norm));
        }
        for ((n, a), (_, b)) in tr.model().named_params().iter().zip(m.named_params().iter()) {
            assert_eq!(a, b, "{n}");
        }
    }

    #[test]
    fn non_finite_loss_names_the_step() {
        let mut m = model::<f64>(4, 3);
        m.head_mut().bias[0] = f64::NAN;
        let mut tr = Trainer::new(m, Adam::new(AdamConfig::default()).unwrap(), TrainerConfig::default());
        let ids = [0, 1, 2, 3];
        let batch = Batch::new(SeqInput::tokens(&ids, 2, 2), SeqTarget::Classes(&ids));
        match tr.step_on(&batch) {
            Err(RnnError::NonFinite { step, .. }) => assert_eq!(step, 1),
            other => panic!("expected a non-finite error, got {other:?}"),
        }
        assert_eq!(tr.steps(), 0);
    }

    #[test]
    fn an_update_to_infinity_names_the_parameter() {
        let config = TrainerConfig {
            clip_norm: Some(5.0),
            ..TrainerConfig::default()
        };
        let mut tr = Trainer::new(model::<f64>(4, 3), Adam::new(AdamConfig::default()).unwrap(), config);
        let ids = [0, 1, 2, 3];
        let next = [1, 2, 3, 0];
        let batch = Batch::new(SeqInput::tokens(&ids, 2, 2), SeqTarget::Classes(&next));
        tr.step_on(&batch).unwrap();
        tr.optimizer_mut().set_lr(f64::INFINITY);
        match tr.step_on(&batch) {
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
        assert!(tr.step_on(&batch).is_err(), "the model keeps its non-finite values");
    }

    #[test]
    fn schedules_set_the_learning_rate() {
        let config = TrainerConfig {
            clip_norm: None,
            schedule: LrSchedule::Step {
                step_size: 2,
                gamma: 0.5,
            },
        };
        let adam = Adam::new(AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        })
        .unwrap();
        let mut tr = Trainer::new(model::<f64>(4, 3), adam, config);
        let ids = [0, 1, 2, 3];
        let batch = Batch::new(SeqInput::tokens(&ids, 2, 2), SeqTarget::Classes(&ids));
        let lrs: Vec<f64> = (0..5).map(|_| tr.step_on(&batch).unwrap().lr).collect();
        assert_eq!(lrs, vec![0.1, 0.1, 0.05, 0.05, 0.025]);
        let bad = TrainerConfig {
            clip_norm: Some(-1.0),
            ..TrainerConfig::default()
        };
        let mut tr = Trainer::new(model::<f64>(4, 3), Adam::new(AdamConfig::default()).unwrap(), bad);
        assert!(matches!(tr.step_on(&batch), Err(RnnError::Invalid(_))));
    }
}
