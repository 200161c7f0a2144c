//! The cell compiler behind `cell!`.

mod ast;
mod autodiff;
mod codegen;
mod expand;
mod fallback;
mod flow;
mod inspect;
mod ir;
mod options;
mod parse;
mod resolve;
mod schedule;
mod shape;
mod stack;
mod time;

#[cfg(test)]
mod tests;

pub use expand::expand;
