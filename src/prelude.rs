//! `use rnn::prelude::*;` brings the traits and shipped cells into scope.

pub use crate::cells::*;
pub use rnn_runtime::{Cell, Float, Forward, InputGrads, RnnError, Trace};
