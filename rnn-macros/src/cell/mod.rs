//! The cell compiler: `cell!`'s tokens -> the cell's types, its `Cell`
//! implementation and its inspection constants.
//!
//! One pass per file, each a function from the previous pass's type to its
//! own; [`expand`] is the whole chain:
//!
//! | pass | input -> output |
//! | --- | --- |
//! | `parse` | tokens -> [`CellDef`](ast::CellDef), what the user wrote, spanned |
//! | `resolve` | `CellDef` -> `StepGraph` (`ir.rs`): names, declarations, state updates |
//! | `shape` | `StepGraph` -> `Shaped`: a symbolic shape on every node; **the last gate** |
//! | `time` | `Shaped` -> `Planned`: recurrent, hoisted or parameter-only, from the unrolled graph |
//! | `stack` | `Planned` -> `Stacked`: the forward `Flow`, products sharing an operand in one group |
//! | `autodiff` | `Stacked` -> `Differentiated`: the backward `Flow` |
//! | `schedule` | `Differentiated` -> `Plans`: three programs (infer, train, backward) |
//! | `codegen` | `Decls` + `Plans` -> tokens |
//!
//! Every error is found by `resolve` or `shape`; after them nothing fails.
//! `inspect` reads finished passes for the `SOURCE`, `DOT`, `PLAN` and
//! `SHAPES` constants. What the compiler may optimise is one [`Options`]
//! value chosen here: every cell ships the optimised schedule, and a cell
//! declared with the hidden `#[reference_schedule]` also gets the reference
//! schedule's methods (see the crate docs).

mod ast;
mod autodiff;
mod codegen;
mod fallback;
mod flow;
mod inspect;
mod ir;
mod language;
mod options;
mod parse;
mod resolve;
mod schedule;
mod shape;
mod stack;
mod time;

#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod tests;

use ast::CellDef;
use options::Options;
use proc_macro2::TokenStream;
use schedule::Plans;
use shape::Shaped;
use time::Planned;

/// `cell!`: parse -> resolve -> shape [gate] -> time -> emit.
pub fn expand(input: TokenStream) -> TokenStream {
    let def: CellDef = match syn::parse2(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    match check(&def) {
        Ok(shaped) => emit(&def, &time::plan(shaped)),
        Err(e) => {
            let mut out = fallback::skeleton(&def);
            out.extend(e.to_compile_error());
            out
        }
    }
}

/// Everything that can fail, once: names, then shapes.
fn check(def: &CellDef) -> syn::Result<Shaped> {
    let graph = resolve::resolve(def)?;
    shape::infer(graph)
}

/// stack -> autodiff -> schedule, under `options`.
fn lower(planned: &Planned, options: Options) -> Plans {
    let stacked = stack::stack(planned, options);
    let diff = autodiff::differentiate(stacked);
    schedule::plan(diff, options)
}

/// The optimised cell and its inspection constants; the reference
/// schedule's methods too if the cell asks for them.
fn emit(def: &CellDef, planned: &Planned) -> TokenStream {
    let decls = &planned.shaped.sg.decls;
    let plans = lower(planned, Options::OPTIMISED);
    let mut code = codegen::types::emit(def, &decls.dims, &codegen::types::fields(decls));
    code.extend(codegen::emit(decls, &plans));
    let texts = inspect::texts(&code, planned, &plans);
    code.extend(codegen::consts::emit(&def.name, &texts));
    if def.reference_schedule {
        code.extend(codegen::reference::emit(decls, &lower(planned, Options::REFERENCE)));
    }
    code
}
