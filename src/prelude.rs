//! `use rnn::prelude::*;` brings the traits and shipped cells into scope.

pub use crate::cells::*;
pub use rnn_runtime::optim::Optimizer;
pub use rnn_runtime::{Cell, Float, Forward, InputGrads, Params, RnnError, SeqInput, SeqModel, SeqTarget, Trace};
