//! The cell compiler behind `rnn::cell!`, and the model declaration behind
//! `rnn::model!`.
//!
//! This crate is a doorway: it parses the macro input, runs the pipeline in
//! [`cell::expand`](crate::cell::expand) (`model::expand` for `model!`) and turns
//! errors into `compile_error!`. Use it through the `rnn` crate, which
//! re-exports [`cell!`] and [`model!`] and supplies the runtime the emitted
//! code calls.

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
/// head, loss) and emits a struct over the runtime's `SeqModel`. See the
/// `rnn` crate for the syntax and an example.
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    model::expand(input.into()).into()
}
