//! One accumulator for a stage's errors, combined into a single `syn::Error`.
//!
//! A stage pushes every problem it finds and keeps going; `finish` is the gate
//! between stages. Dropping an accumulator that still holds errors is a bug
//! in the compiler, so `Drop` panics (as serde's `Ctxt` does).

use proc_macro2::Span;
use std::fmt::Display;

#[derive(Default)]
pub struct Errors {
    errors: Option<Vec<syn::Error>>,
}

impl Errors {
    pub fn new() -> Self {
        Errors {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error at `span`.
    pub fn push(&mut self, span: Span, msg: impl Display) {
        self.errors
            .as_mut()
            .expect("errors finished")
            .push(syn::Error::new(span, msg));
    }

    /// The gate: `Err` with every recorded error combined, or `Ok(())`.
    pub fn finish(mut self) -> syn::Result<()> {
        let errors = self.errors.take().expect("errors finished twice");
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in iter {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if let Some(errors) = &self.errors
            && !errors.is_empty()
            && !std::thread::panicking()
        {
            panic!("compiler bug: errors dropped without `finish`");
        }
    }
}
