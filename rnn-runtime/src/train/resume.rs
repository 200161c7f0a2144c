//! Checkpoints that resume training exactly where it stopped.
//!
//! A [`Trainer`] checkpoint is one safetensors file: the model's parameters
//! and settings as [`SeqModel::save`](crate::model::SeqModel::save) writes them, the optimiser's buffers
//! as tensors `optimizer.{slot}.{k}` (`k` the parameter's index), and in
//! the metadata the optimiser's kind, slots, steps and learning rate, the
//! trainer's counters (steps, positions, training time, base learning
//! rate) and the model's dropout generator. [`Trainer::resume_from`] puts
//! all of it back, so the next step is the one the saved run would have
//! taken (the data source is the caller's to restore, e.g. by drawing the
//! batches already used). The file is still a model checkpoint:
//! [`model_part`] drops the optimiser's tensors for loaders that want only
//! the model.

use super::guard::{Checkpoint, check_params};
use super::trainer::Trainer;
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::io::{TensorFile, read_tensors, write_tensors};
use crate::optim::{Optimizer, OptimizerState};
use crate::params::Params;
use ndarray::ArrayViewD;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Prefix of the optimiser's tensors in a trainer checkpoint.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";
/// Metadata key of the optimiser's kind.
pub const META_OPTIMIZER: &str = "optimizer";
/// Metadata key of the optimiser's slot names, comma-separated.
pub const META_OPTIMIZER_SLOTS: &str = "optimizer.slots";
/// Metadata key of the optimiser's step count.
pub const META_OPTIMIZER_STEPS: &str = "optimizer.steps";
/// Metadata key of the optimiser's learning rate.
pub const META_OPTIMIZER_LR: &str = "optimizer.lr";
/// Metadata key of the trainer's step count.
pub const META_TRAINER_STEPS: &str = "trainer.steps";
/// Metadata key of the positions trained on.
pub const META_TRAINER_POSITIONS: &str = "trainer.positions";
/// Metadata key of the training time in nanoseconds.
pub const META_TRAINER_TIME_NS: &str = "trainer.train_time_ns";
/// Metadata key of the learning rate schedules start from.
pub const META_TRAINER_BASE_LR: &str = "trainer.base_lr";
/// Metadata key of the model's dropout generator, `seed,passes`.
pub const META_DROPOUT_STATE: &str = "trainer.dropout_state";

/// The model's part of a checkpoint: every tensor but the optimiser's.
pub fn model_part<F>(file: TensorFile<F>) -> TensorFile<F> {
    TensorFile {
        tensors: file
            .tensors
            .into_iter()
            .filter(|(n, _)| !n.starts_with(OPTIMIZER_PREFIX))
            .collect(),
        ..file
    }
}

fn bad(source: &str, message: String) -> RnnError {
    RnnError::Checkpoint {
        path: source.to_string(),
        message,
    }
}

fn get<T: std::str::FromStr>(meta: &BTreeMap<String, String>, key: &str, source: &str) -> Result<T, RnnError> {
    let v = meta
        .get(key)
        .ok_or_else(|| bad(source, format!("no `{key}`: not a checkpoint that resumes training")))?;
    v.parse()
        .map_err(|_| bad(source, format!("metadata `{key}` = {v:?} is not a valid value")))
}

impl<F: Float, C: Cell<F>, O: Optimizer<F>> Trainer<F, C, O> {
    /// The checkpoint's metadata for optimiser state `state`, with `extra`
    /// added (it may not redefine a key the trainer or model writes).
    fn checkpoint_metadata(
        &self,
        state: &OptimizerState<F>,
        extra: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, RnnError> {
        let mut meta = self.model.metadata();
        let (seed, passes) = self.model.dropout_state();
        let slots: Vec<&str> = state.slots.iter().map(|(n, _)| n.as_str()).collect();
        for (k, v) in [
            (META_OPTIMIZER, state.kind.clone()),
            (META_OPTIMIZER_SLOTS, slots.join(",")),
            (META_OPTIMIZER_STEPS, state.steps.to_string()),
            (META_OPTIMIZER_LR, format!("{:?}", state.lr)),
            (META_TRAINER_STEPS, self.steps.to_string()),
            (META_TRAINER_POSITIONS, self.positions.to_string()),
            (META_TRAINER_TIME_NS, self.train_time.as_nanos().to_string()),
            (META_TRAINER_BASE_LR, format!("{:?}", self.base_lr)),
            (META_DROPOUT_STATE, format!("{seed},{passes}")),
        ] {
            meta.insert(k.to_string(), v);
        }
        for (k, v) in extra {
            match meta.get(k) {
                Some(own) if own != v => {
                    return Err(RnnError::Invalid(format!(
                        "extra metadata `{k}` = {v:?} contradicts the checkpoint's {own:?}"
                    )));
                }
                _ => {
                    meta.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(meta)
    }

    /// Writes everything needed to resume this run to `path`, atomically:
    /// model, optimiser state, counters, dropout generator, plus `extra`
    /// metadata.
    ///
    /// Errors: [`RnnError::Invalid`] if `extra` contradicts a key the
    /// checkpoint writes, and any error of [`write_tensors`] (the old file
    /// stays whole).
    pub fn save_checkpoint(&self, path: impl AsRef<Path>, extra: &BTreeMap<String, String>) -> Result<(), RnnError> {
        let state = self.optimizer.state();
        let meta = self.checkpoint_metadata(&state, extra)?;
        let mut tensors: Vec<(String, ArrayViewD<'_, F>)> = self.model.named_params();
        for (slot, bufs) in &state.slots {
            for (k, b) in bufs.iter().enumerate() {
                tensors.push((format!("{OPTIMIZER_PREFIX}{slot}.{k}"), b.view()));
            }
        }
        write_tensors(path, &tensors, &meta)
    }

    /// Continues the run saved by [`Trainer::save_checkpoint`] at `path`;
    /// returns the file's metadata. The trainer must have been built like
    /// the saved one (same model settings, same kind of optimiser); the
    /// clipping and schedule are this trainer's.
    ///
    /// Errors: [`RnnError::Io`] and the file errors of [`read_tensors`];
    /// [`RnnError::Checkpoint`] for a file that is not a trainer checkpoint
    /// of this model (what differs is named); [`RnnError::Shape`] for a
    /// tensor of another shape. On error the trainer is unchanged.
    pub fn resume_from(&mut self, path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, RnnError> {
        let file = read_tensors::<F>(path)?;
        self.resume_from_file(file)
    }

    /// [`Trainer::resume_from`] on a file already read.
    pub fn resume_from_file(&mut self, file: TensorFile<F>) -> Result<BTreeMap<String, String>, RnnError> {
        let source = file.source.clone();
        let meta = file.metadata.clone();
        let kind: String = get(&meta, META_OPTIMIZER, &source)?;
        let slot_list: String = get(&meta, META_OPTIMIZER_SLOTS, &source)?;
        let steps: usize = get(&meta, META_OPTIMIZER_STEPS, &source)?;
        let lr: f64 = get(&meta, META_OPTIMIZER_LR, &source)?;
        let trainer_steps: usize = get(&meta, META_TRAINER_STEPS, &source)?;
        let positions: usize = get(&meta, META_TRAINER_POSITIONS, &source)?;
        let time_ns: u64 = get(&meta, META_TRAINER_TIME_NS, &source)?;
        let base_lr: f64 = get(&meta, META_TRAINER_BASE_LR, &source)?;
        let dropout: String = get(&meta, META_DROPOUT_STATE, &source)?;
        let (seed, passes) = dropout
            .split_once(',')
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
            .ok_or_else(|| {
                bad(
                    &source,
                    format!("metadata `{META_DROPOUT_STATE}` = {dropout:?} is not `seed,passes`"),
                )
            })?;
        // The optimiser's buffers, by slot, in parameter order.
        let n = self.model.param_count();
        let names: Vec<&str> = if slot_list.is_empty() {
            Vec::new()
        } else {
            slot_list.split(',').collect()
        };
        let mut slots = Vec::with_capacity(names.len());
        for name in &names {
            let mut bufs = Vec::new();
            for k in 0..n {
                let key = format!("{OPTIMIZER_PREFIX}{name}.{k}");
                match file.tensors.iter().find(|(t, _)| *t == key) {
                    Some((_, a)) => {
                        let want = self.model.param(k);
                        if a.shape() != want.shape() {
                            return Err(RnnError::shape(
                                format!("tensor `{key}` in {source}"),
                                want.shape(),
                                a.shape(),
                            ));
                        }
                        bufs.push(a.clone());
                    }
                    None if k == 0 => break,
                    None => return Err(bad(&source, format!("missing tensor `{key}`"))),
                }
            }
            slots.push((name.to_string(), bufs));
        }
        let expected: usize = slots.iter().map(|(_, b)| b.len()).sum();
        let given = file
            .tensors
            .iter()
            .filter(|(t, _)| t.starts_with(OPTIMIZER_PREFIX))
            .count();
        if given != expected {
            return Err(bad(
                &source,
                format!("{given} optimiser tensors, of which {expected} belong to the slots {names:?}"),
            ));
        }
        let state = OptimizerState { kind, steps, lr, slots };
        // Everything is checked on copies first, so a failure changes nothing.
        let mut model = self.model.clone();
        model.load_from(&model_part(file))?;
        check_params(trainer_steps, "parameter", &model)?;
        self.optimizer.set_state(&state)?;
        self.model = model;
        self.model.set_dropout_state(seed, passes);
        self.steps = trainer_steps;
        self.positions = positions;
        self.train_time = Duration::from_nanos(time_ns);
        self.base_lr = base_lr;
        Ok(meta)
    }
}

/// A [`Trainer`] saves itself whole, so a [`super::Checkpointer`] given one
/// writes checkpoints that resume training.
impl<F: Float, C: Cell<F>, O: Optimizer<F>> Checkpoint for Trainer<F, C, O> {
    fn check_finite(&self, step: usize) -> Result<(), RnnError> {
        check_params(step, "parameter", &self.model)
    }

    fn save_checkpoint(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), RnnError> {
        Trainer::save_checkpoint(self, path, metadata)
    }
}
