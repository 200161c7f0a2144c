//! The pipeline, top to bottom: parse -> lower (resolve names, build the
//! step graph) -> infer shapes -> [gate] -> time plan (unrolled analysis) ->
//! stack products -> differentiate -> schedule -> emit.
//!
//! All judgement happens before the last gate (shape inference); every stage
//! after it is infallible.

use crate::cell::ast::CellDef;
use crate::cell::codegen::{self, Ctx};
use crate::cell::ir::ShowDim;
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

fn ctx(c: &Compiled) -> Ctx<'_> {
    Ctx {
        decls: &c.planned.shaped.sg.decls,
        groups: &c.plans.groups,
        fwd_flow: &c.plans.fwd_flow,
        bwd_flow: &c.plans.bwd_flow,
        plans: &c.plans,
    }
}

pub fn emit(def: &CellDef, c: &Compiled, naive: &Compiled) -> TokenStream {
    let sg = &c.planned.shaped.sg;
    let params: Vec<_> = sg
        .decls
        .params
        .iter()
        .map(|p| {
            let shape = p
                .shape
                .iter()
                .map(|d| ShowDim(*d, &sg.decls.dims).to_string())
                .collect::<Vec<_>>();
            (p.name.clone(), p.shape.len(), format!("[{}]", shape.join(", ")))
        })
        .collect();
    let mut code = codegen::emit_types(def, &sg.decls.dims, &params);
    code.extend(codegen::emit(def, &ctx(c)));
    let texts = inspect::texts(&code, &c.planned, &c.plans);
    code.extend(codegen::emit_consts(&def.name, &texts));
    code.extend(codegen::emit_naive(def, &ctx(naive)));
    code
}
