//! The cell compiler behind `rnn::cell!`, and the model declaration behind
//! `rnn::model!`.
//!
//! This crate is a doorway to two compilers: `cell::expand` (the pipeline
//! of `cell!`, one pass per file under `src/cell/`) and `model::expand`
//! (`model!`, under `src/model/`). Each turns its errors into
//! `compile_error!`. Use it through the `rnn` crate, which re-exports
//! [`cell!`] and [`model!`] and supplies the runtime the emitted code calls.
//!
//! # Hidden: `#[reference_schedule]`
//!
//! For tests only, not part of the cell language: a cell declared with
//! `#[reference_schedule]` among its attributes also gets hidden inherent
//! methods `reference_forward_train`, `reference_forward_train_ws`,
//! `reference_backward_into` and `reference_backward_ws`. They run the same
//! equations under the reference schedule: one product per `@`, nothing
//! moved out of the time loop, every value stored by a loop of its own. The
//! differential test `tests/reference_schedule.rs` checks the optimised
//! code against them; a cell without the attribute carries none of this.
//! The attribute takes no arguments and does not reach the cell's struct.

mod cell;
mod errors;
mod model;

/// Declares a recurrent cell by its equations and emits its forward pass,
/// BPTT and types. See the `rnn` crate for the language and an example.
#[proc_macro]
pub fn cell(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    cell::expand(input.into()).into()
}

/// Declares a whole sequence model (input encoding, stacked cells, output
/// head, loss; optionally a pooled head, dropout and learned initial
/// states) and emits a struct over the runtime's `SeqModel`. See the `rnn`
/// crate for the syntax and an example, and `src/model/parse.rs` for the
/// grammar.
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    model::expand(input.into()).into()
}
