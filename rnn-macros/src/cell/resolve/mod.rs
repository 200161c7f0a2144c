//! [`CellDef`] -> [`StepGraph`]: resolves names and builds one node per operation.
//!
//! Equations run in order: after `c = ...;` the name `c` means the new value
//! of state `c`, before it the value at t-1. Checked here, all reported at
//! once: unknown names and functions, dimensions used in shapes but not
//! declared, a state updated twice or never, an output never assigned, a
//! parameter or input never used, `@` whose left side is not a parameter.
//! A cell takes exactly one input, at least one state and at most one
//! output (without one, the first state is the output).
//!
//! Out: the step graph, nodes in evaluation order, every name resolved;
//! shapes are declared but not yet checked (`shape.rs` does that).

mod scope;

use crate::cell::ast::{self, CellDef, DeclKind, Equation};
use crate::cell::ir::{Decl, Decls, Dim, Id, Op, StepGraph};
use crate::cell::language;
use crate::errors::Errors;
use petgraph::graph::DiGraph;
use scope::{Binding, Cx};
use std::collections::HashMap;
use syn::Ident;

pub fn resolve(def: &CellDef) -> syn::Result<StepGraph> {
    let mut errs = Errors::new();
    let dims: Vec<(Ident, Option<usize>)> = def
        .dims
        .iter()
        .map(|d| (d.name.clone(), d.fixed.map(|f| f.0)))
        .collect();
    let mut seen_dims: HashMap<String, ()> = HashMap::new();
    for d in &def.dims {
        if seen_dims.insert(d.name.to_string(), ()).is_some() {
            errs.push(d.name.span(), format!("dimension `{}` is declared twice", d.name));
        }
    }
    let mut sg = StepGraph {
        decls: Decls {
            name: def.name.clone(),
            dims: dims.clone(),
            inputs: vec![],
            states: vec![],
            params: vec![],
            outputs: vec![],
            views: vec![],
        },
        g: DiGraph::new(),
        updates: vec![],
        output_nodes: vec![],
    };
    let mut env: HashMap<String, Binding> = HashMap::new();
    let mut used: HashMap<String, bool> = HashMap::new();
    for d in &def.decls {
        let (shape, parts) = resolve_shape(d, &dims, &mut errs);
        let decl = Decl {
            name: d.name.clone(),
            shape,
            parts,
        };
        let key = d.name.to_string();
        if env.contains_key(&key) {
            errs.push(d.name.span(), format!("`{}` is declared twice", d.name));
            continue;
        }
        let binding = match d.kind {
            DeclKind::Input => {
                let k = sg.decls.inputs.len();
                sg.decls.inputs.push(decl);
                Binding::Node(sg.add(Op::Input(k), d.name.span(), &[]))
            }
            DeclKind::State => {
                let k = sg.decls.states.len();
                sg.decls.states.push(decl);
                Binding::Node(sg.add(Op::State(k), d.name.span(), &[]))
            }
            DeclKind::Param => {
                let k = sg.decls.params.len();
                let matrix = decl.shape.len() == 2;
                sg.decls.params.push(decl);
                let id = sg.add(Op::Param(k), d.name.span(), &[]);
                if matrix { Binding::Matrix(id) } else { Binding::Node(id) }
            }
            DeclKind::Output => {
                let k = sg.decls.outputs.len();
                sg.decls.outputs.push(decl);
                Binding::Output(k)
            }
        };
        if let Binding::Node(id) = binding {
            sg.g[id].label = Some(key.clone());
        }
        env.insert(key.clone(), binding);
        used.insert(key, false);
    }
    if sg.decls.inputs.is_empty() {
        errs.push(
            def.name.span(),
            "a cell needs at least one `input` (declare `input x: [I];`)",
        );
    }
    if sg.decls.states.is_empty() {
        errs.push(
            def.name.span(),
            "a cell needs at least one `state` (declare `state h: [H];`)",
        );
    }
    if sg.decls.params.is_empty() {
        errs.push(
            def.name.span(),
            "a cell needs at least one `param` to learn (declare `param w: [H, I];`)",
        );
    }
    if sg.decls.outputs.len() > 1 {
        errs.push(
            sg.decls.outputs[1].name.span(),
            "a cell has at most one `output`; the states are returned too",
        );
    }

    let mut updates: Vec<Option<(Id, proc_macro2::Span)>> = vec![None; sg.decls.states.len()];
    let mut outputs: Vec<Option<Id>> = vec![None; sg.decls.outputs.len()];
    // Where each state was first assigned, even if its expression failed.
    let mut attempted: Vec<Option<proc_macro2::Span>> = vec![None; sg.decls.states.len()];
    let lets: HashMap<String, proc_macro2::Span> = def
        .eqs
        .iter()
        .flat_map(|eq| match eq {
            Equation::Let { name, .. } => vec![name],
            Equation::LetSplit { names, .. } => names.iter().collect(),
            Equation::Assign { .. } => vec![],
        })
        .map(|n| (n.to_string(), n.span()))
        .collect();
    let mut cx = Cx {
        sg: &mut sg,
        env: &mut env,
        used: &mut used,
        errs: &mut errs,
        lets: &lets,
    };
    for eq in &def.eqs {
        match eq {
            Equation::Let { name, expr } => {
                let id = cx.expr(expr);
                cx.bind_let(name, id);
                record_equation(cx.sg, id, expr, || format!("{name} = {}", expr.text()));
            }
            Equation::LetSplit {
                names,
                expr,
                split_span,
            } => {
                let parent = cx.expr(expr);
                if names.len() < 2 {
                    cx.errs.push(
                        *split_span,
                        "`split` needs a pattern of at least two names, e.g. `let [i, f] = split(a);`",
                    );
                }
                for (index, name) in names.iter().enumerate() {
                    let id = parent.map(|p| {
                        cx.sg.add(
                            Op::Split {
                                index,
                                parts: names.len(),
                            },
                            name.span(),
                            &[p],
                        )
                    });
                    // The split's parts are new nodes: the first carries the line.
                    if index == 0
                        && let Some(id) = id
                    {
                        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                        cx.sg.g[id].equation = Some(format!("[{}] = split({})", names.join(", "), expr.text()));
                    }
                    cx.bind_let(name, id);
                }
            }
            Equation::Assign { target, expr } => {
                let id = cx.expr(expr);
                record_equation(cx.sg, id, expr, || format!("{target} = {}", expr.text()));
                let key = target.to_string();
                match cx.env.get(&key).copied() {
                    Some(Binding::Node(n)) if matches!(cx.sg.op(n), Op::State(_)) || is_updated_state(&updates, n) => {
                        let k = state_index(cx.sg, &key);
                        if let Some(first) = attempted[k] {
                            cx.errs.push(target.span(), format!("state `{target}` is updated twice"));
                            cx.errs.push(first, format!("first update of `{target}` is here"));
                            continue;
                        }
                        attempted[k] = Some(target.span());
                        if let Some(id) = id {
                            cx.sg.g[id].label.get_or_insert_with(|| key.clone());
                            updates[k] = Some((id, target.span()));
                            cx.env.insert(key, Binding::Node(id));
                        }
                    }
                    Some(Binding::Output(k)) => {
                        if let Some(id) = id {
                            cx.sg.g[id].label.get_or_insert_with(|| key.clone());
                            outputs[k] = Some(id);
                            cx.env.insert(key, Binding::Node(id));
                        }
                    }
                    Some(_) => cx.errs.push(
                        target.span(),
                        format!("cannot assign to `{target}`: only states and outputs are assigned; use `let {target} = ...;` for a new value"),
                    ),
                    None => cx.errs.push(
                        target.span(),
                        format!("cannot find state or output `{target}`; declare it with `state {target}: [..];`"),
                    ),
                }
            }
        }
    }
    for (k, u) in updates.iter().enumerate() {
        match u {
            Some((id, _)) => sg.updates.push(*id),
            None if attempted[k].is_some() => {} // its equation already reported an error
            None => {
                let s = &sg.decls.states[k].name;
                errs.push(
                    s.span(),
                    format!("state `{s}` is never updated; add an equation `{s} = ...;`"),
                );
            }
        }
    }
    for (k, o) in outputs.iter().enumerate() {
        match o {
            Some(id) => sg.output_nodes.push(*id),
            None => {
                let s = &sg.decls.outputs[k].name;
                errs.push(
                    s.span(),
                    format!("output `{s}` is never assigned; add an equation `{s} = ...;`"),
                );
            }
        }
    }
    if sg.decls.outputs.is_empty() && !sg.updates.is_empty() {
        sg.output_nodes.push(sg.updates[0]);
    }
    for d in def
        .decls
        .iter()
        .filter(|d| matches!(d.kind, DeclKind::Param | DeclKind::Input))
    {
        if used.get(&d.name.to_string()) == Some(&false) {
            let what = if d.kind == DeclKind::Param {
                "parameter"
            } else {
                "input"
            };
            errs.push(
                d.name.span(),
                format!("{what} `{}` is never used; remove it or use it in an equation", d.name),
            );
        }
    }
    errs.finish()?;
    Ok(sg)
}

/// Records on node `id` the line that defines it (`text`), unless the line
/// only names another value or the node already has one.
fn record_equation(sg: &mut StepGraph, id: Option<Id>, expr: &ast::Expr, text: impl FnOnce() -> String) {
    if let (Some(id), false) = (id, matches!(expr, ast::Expr::Name(_))) {
        sg.g[id].equation.get_or_insert_with(text);
    }
}

fn is_updated_state(updates: &[Option<(Id, proc_macro2::Span)>], n: Id) -> bool {
    updates.iter().any(|u| matches!(u, Some((id, _)) if *id == n))
}

fn state_index(sg: &StepGraph, name: &str) -> usize {
    sg.decls.states.iter().position(|s| s.name == name).expect("state")
}

/// The shape of `d` and, for a matrix with summed columns, its column blocks.
fn resolve_shape(d: &ast::Decl, dims: &[(Ident, Option<usize>)], errs: &mut Errors) -> (Vec<Dim>, Vec<Dim>) {
    if d.shape.len() > 2 || (d.kind != DeclKind::Param && d.shape.len() != 1) {
        let want = if d.kind == DeclKind::Param {
            "`[]` (a scalar), `[N]` or `[R, C]`"
        } else {
            "a vector shape `[N]`"
        };
        errs.push(d.shape_span, format!("`{}` needs {want}", d.name));
    }
    if let Some(t) = d.sums.first()
        && (d.kind != DeclKind::Param || d.shape.len() != 2)
    {
        errs.push(t.span, language::shape_sum());
    }
    let dim = |t: &ast::DimTerm, errs: &mut Errors| {
        let sym = t
            .sym
            .as_ref()
            .and_then(|s| match dims.iter().position(|(n, _)| n == s) {
                Some(i) => Some(i),
                None => {
                    let declared: Vec<String> = dims.iter().map(|d| d.0.to_string()).collect();
                    errs.push(
                        s.span(),
                        format!("unknown dimension `{s}`; the cell declares ({})", declared.join(", ")),
                    );
                    None
                }
            });
        if t.coef == 0 {
            errs.push(t.span, "a dimension cannot be zero");
        }
        Dim { coef: t.coef, sym }
    };
    let shape: Vec<Dim> = d.shape.iter().map(|t| dim(t, errs)).collect();
    let parts = if d.sums.is_empty() {
        Vec::new()
    } else {
        let first = shape.last().copied();
        first.into_iter().chain(d.sums.iter().map(|t| dim(t, errs))).collect()
    };
    (shape, parts)
}
