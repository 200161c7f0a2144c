//! `model!`: a whole sequence model (input encoding, stacked cells, output
//! head, loss; optionally the head's pooling, dropout and learned initial
//! states) declared in Rust source.
//!
//! The pipeline, top to bottom: parse (tokens -> [`ast::ModelDef`]) ->
//! check (resolve names, connect the parts -> [`check::Model`]) -> [gate]
//! -> emit (a struct over the runtime's `SeqModel`). On error the public
//! names are still emitted beside `compile_error!`
//! ([`emit::skeleton`]), so the user sees one error, not a cascade.

mod ast;
mod check;
mod emit;
mod parse;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;

pub fn expand(input: TokenStream) -> TokenStream {
    let def: ast::ModelDef = match syn::parse2(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    match check::check(&def) {
        Ok(model) => emit::emit(&model),
        Err(e) => {
            let mut out = emit::skeleton(&def);
            out.extend(e.to_compile_error());
            out
        }
    }
}
