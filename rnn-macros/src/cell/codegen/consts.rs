//! The inspection constants: `impl Name<F> { pub const SOURCE ... }` with
//! the texts `inspect.rs` produced.

use crate::cell::inspect::Texts;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// `impl Name<F> { pub const SOURCE ... }` with the inspection strings.
pub fn emit(name: &Ident, texts: &Texts) -> TokenStream {
    let Texts {
        source,
        step_dot,
        unrolled_dot,
        plan,
        shapes,
    } = texts;
    let rows = shapes.iter().map(|(a, b)| quote!((#a, #b)));
    quote! {
        impl<F> #name<F> {
            /// The Rust this cell compiled to, pretty-printed.
            pub const SOURCE: &'static ::core::primitive::str = #source;
            /// The step graph in Graphviz DOT.
            pub const STEP_DOT: &'static ::core::primitive::str = #step_dot;
            /// The graph unrolled over three steps in Graphviz DOT, with the
            /// time plan's decisions marked (hoisted, stacked, saved).
            pub const UNROLLED_DOT: &'static ::core::primitive::str = #unrolled_dot;
            /// The scheduled programs (forward, training forward, backward) as text.
            pub const PLAN: &'static ::core::primitive::str = #plan;
            /// Every value of the step with its symbolic shape.
            pub const SHAPES: &'static [(&'static ::core::primitive::str, &'static ::core::primitive::str)] = &[#(#rows),*];
        }
    }
}
