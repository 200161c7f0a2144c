//! Training: losses, optimisers, schedules, clipping, an output head,
//! sampling and the character-level language model of CHARLM.
//!
//! Each submodule does one job:
//!
//! - [`loss`]: softmax cross-entropy and mean squared error, masked;
//! - [`optim`]: the [`Optimizer`] trait with SGD, Adagrad and Adam;
//! - [`schedule`]: learning-rate schedules;
//! - [`clip`]: gradient clipping by global norm and by value;
//! - [`linear`]: the linear output head `y = h W^T + b`;
//! - [`sample`]: greedy and temperature sampling from logits;
//! - [`charlm`]: corpus, vocabulary, split and batches of CHARLM v1;
//! - [`char_model`]: one-hot input, recurrent layers and a head, with
//!   loss, gradients, sampling and checkpoints;
//! - [`char_trainer`]: the timed training step and the validation metric;
//! - [`model`]: the general sequence model (encoding, layers, head,
//!   activation, loss) with gradients and checkpoints;
//! - [`init`]: initialisers over named parameters (uniform, Xavier,
//!   orthogonal, forget-gate bias);
//! - [`tbptt`]: truncated BPTT over long sequences, state carried;
//! - [`feedback`]: teacher forcing, free running and scheduled sampling;
//! - [`generate`](mod@generate): streaming steps, priming and sampling;
//! - [`metrics`]: metrics as JSON lines, flushed per line;
//! - [`guard`]: NaN/infinity checks naming the step, and checkpoints that
//!   keep the last good one on disk.

pub mod char_model;
pub mod char_trainer;
pub mod charlm;
pub mod clip;
pub mod feedback;
pub mod generate;
pub mod guard;
pub mod init;
pub mod linear;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod sample;
pub mod schedule;
pub mod tbptt;

pub use char_model::{CharModel, CharScratch};
pub use char_trainer::{CharLmConfig, CharTrainer, StepStats};
pub use charlm::Corpus;
pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use generate::{Generator, generate};
pub use guard::{Checkpoint, Checkpointer, check_tensors, check_value, count_non_finite};
pub use linear::Linear;
pub use loss::{LossGrad, mse, softmax_cross_entropy};
pub use metrics::{MetricsWriter, read_metrics};
pub use model::{
    Activation, Encoding, LossKind, SeqInput, SeqInputBuf, SeqModel, SeqModelConfig, SeqOutcome, SeqTarget,
};
pub use optim::{Adagrad, AdagradConfig, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
pub use schedule::LrSchedule;
