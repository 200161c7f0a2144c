//! The pipeline, top to bottom: parse -> lower (resolve names, build the
//! step graph) -> infer shapes -> [gate] -> time plan (unrolled analysis) ->
//! stack products -> differentiate -> schedule -> emit.
//!
//! All judgement happens before the last gate (shape inference); every stage
//! after it is infallible.

use crate::cell::ast::CellDef;
use crate::cell::codegen;
use crate::cell::options::Options;
use crate::cell::{autodiff, fallback, inspect, resolve, schedule, shape, stack, time};
use proc_macro2::TokenStream;

/// Everything the compiler knows about one cell, for codegen and for tests.
pub struct Compiled {
    pub planned: time::Planned,
    pub plans: schedule::Plans,
}

pub fn expand(input: TokenStream) -> TokenStream {
    let def: CellDef = match syn::parse2(input) {
        Ok(def) => def,
        Err(e) => return e.to_compile_error(),
    };
    match compile(&def, Options::OPTIMISED).and_then(|c| Ok((c, compile(&def, Options::REFERENCE)?))) {
        Ok((c, naive)) => emit(&def, &c, &naive),
        Err(e) => {
            let mut out = fallback::skeleton(&def);
            out.extend(e.to_compile_error());
            out
        }
    }
}

pub fn compile(def: &CellDef, options: Options) -> syn::Result<Compiled> {
    let sg = resolve::resolve(def)?;
    let shaped = shape::infer(sg)?;
    let planned = time::plan(shaped);
    let stacked = stack::stack(&planned, options);
    let diff = autodiff::differentiate(stacked);
    let plans = schedule::plan(diff, options);
    Ok(Compiled { planned, plans })
}

pub fn emit(def: &CellDef, c: &Compiled, naive: &Compiled) -> TokenStream {
    let decls = &c.planned.shaped.sg.decls;
    let mut code = codegen::types::emit(def, &decls.dims, &codegen::types::fields(decls));
    code.extend(codegen::emit(decls, &c.plans));
    let texts = inspect::texts(&code, &c.planned, &c.plans);
    code.extend(codegen::consts::emit(&def.name, &texts));
    code.extend(codegen::reference::emit(&naive.planned.shaped.sg.decls, &naive.plans));
    code
}
