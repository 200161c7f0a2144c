//! The cell compiler behind `rnn::cell!`.
//!
//! This crate is a doorway: it parses the macro input, runs the pipeline in
//! [`expand`](crate::expand) and turns errors into `compile_error!`. Use it
//! through the `rnn` crate, which re-exports [`cell!`] and supplies the
//! runtime the emitted code calls.

mod ast;
mod autodiff;
mod codegen;
mod dot;
mod errors;
mod expand;
mod fallback;
mod flow;
mod graph;
mod lower;
mod parse;
mod schedule;
mod shape;
mod stack;
mod time;

#[cfg(test)]
mod tests;

/// Declares a recurrent cell by its equations and emits its forward pass,
/// BPTT and types. See the `rnn` crate for the language and an example.
#[proc_macro]
pub fn cell(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::expand(input.into()).into()
}
