//! Training drivers over a [`SeqModel`](crate::model::SeqModel): the
//! step-by-step training loop, truncated BPTT, divergence guards with
//! checkpoints, and metrics.
//!
//! - [`trainer`]: [`Trainer`] (batches from a [`BatchSource`], loss and
//!   gradients, clipping, optimiser update, guard, evaluation);
//! - [`update`]: `SeqModel::apply_gradients` (clip, then one optimiser step);
//! - [`tbptt`]: truncated BPTT over long sequences, state carried;
//! - [`guard`]: NaN/infinity checks naming the step, and checkpoints that
//!   keep the last good one on disk;
//! - [`metrics`]: metrics as JSON lines, flushed per line;
//! - [`resume`]: trainer checkpoints (model, optimiser state, counters)
//!   that resume a run exactly;
//! - [`sync`]: [`GradientSync`], the collective steps of data-parallel
//!   training (over MPI with the `mpi` feature: `crate::distributed`).

pub mod guard;
pub mod metrics;
pub mod resume;
pub mod sync;
pub mod tbptt;
pub mod trainer;
pub mod update;

pub use guard::{Checkpoint, Checkpointer, check_params, check_tensors, check_value, count_non_finite};
pub use metrics::{MetricsWriter, read_metrics};
pub use resume::model_part;
pub use sync::{GradientSync, SyncStats};
pub use tbptt::{TbpttConfig, TbpttReport, tbptt_for_each, train_tbptt};
pub use trainer::{Batch, BatchSource, StepStats, Trainer, TrainerConfig};
