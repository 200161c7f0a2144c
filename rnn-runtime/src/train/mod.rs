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
//! - [`char_trainer`]: the timed training step and the validation metric.

pub mod char_model;
pub mod char_trainer;
pub mod charlm;
pub mod clip;
pub mod linear;
pub mod loss;
pub mod optim;
pub mod sample;
pub mod schedule;

pub use char_model::CharModel;
pub use char_trainer::{CharLmConfig, CharTrainer, StepStats};
pub use charlm::Corpus;
pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use linear::Linear;
pub use loss::{LossGrad, mse, softmax_cross_entropy};
pub use optim::{Adagrad, AdagradConfig, Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
pub use schedule::LrSchedule;
