//! What a user (and a snapshot) can read of the compiler's work: the texts
//! behind the `SOURCE`, `STEP_DOT`, `UNROLLED_DOT`, `PLAN` and `SHAPES`
//! constants.
//!
//! Graphviz DOT for the step graph and for the graph unrolled over three
//! steps, with the time plan's decisions marked: hoisted values (one batched
//! operation for all steps), stacked products, values saved for BPTT; text
//! dumps of the flows and programs; the emitted code pretty-printed. Nothing
//! here feeds back into the pipeline: every function reads a finished pass.

use crate::cell::flow::{Flow, K, KOp, Leaf};
use crate::cell::ir::{Id, Names, Op};
use crate::cell::schedule::{Item, Loc, Plans, Program};
use crate::cell::shape::show;
use crate::cell::time::{Class, Planned};
use proc_macro2::TokenStream;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The texts of the inspection constants.
pub struct Texts {
    /// `SOURCE`: the emitted code, pretty-printed.
    pub source: String,
    pub step_dot: String,
    pub unrolled_dot: String,
    pub plan: String,
    /// `SHAPES`: `(value, shape)` rows.
    pub shapes: Vec<(String, String)>,
}

/// The inspection texts of a cell: `code` is what the cell compiled to
/// (its types and `Cell` implementation).
pub fn texts(code: &TokenStream, p: &Planned, plans: &Plans) -> Texts {
    let keep = plans.bwd_flow.fwd_reads();
    Texts {
        source: source(code),
        step_dot: step_dot(p, plans, &keep),
        unrolled_dot: unrolled_dot(p, plans, &keep),
        plan: plan_text(&Names::of(&p.shaped.sg.decls), plans),
        shapes: shape_table(p, plans),
    }
}

/// `code` pretty-printed (or as tokens, with the reason, if it does not parse).
pub fn source(code: &TokenStream) -> String {
    match syn::parse2::<syn::File>(code.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(e) => format!("// could not pretty-print: {e}\n{code}"),
    }
}

/// The text of the `PLAN` constant: the plan in words, then the flows and
/// programs it summarises.
pub fn plan_text(names: &Names, plans: &Plans) -> String {
    format!(
        "# in words\n{}\n# forward flow\n{}\n# backward flow\n{}\n# inference program\n{}\n# training forward program\n{}\n# backward program\n{}",
        in_words(names, plans),
        flow_text(&plans.fwd_flow, names),
        flow_text(&plans.bwd_flow, names),
        program_text(&plans.infer, &plans.fwd_flow, names),
        program_text(&plans.train, &plans.fwd_flow, names),
        program_text(&plans.bwd, &plans.bwd_flow, names)
    )
}

/// The plan in plain words, with the user's names: each product (stacked
/// with which others, before the loop or in it), the fused loops of each
/// pass before, in and after the time loop, what the training forward
/// saves for BPTT, and the weight gradients.
fn in_words(names: &Names, plans: &Plans) -> String {
    let (fwd, bwd) = (&plans.fwd_flow, &plans.bwd_flow);
    let (fv, bv) = (fwd.value_names(), bwd.value_names());
    let mut s = String::new();
    for (gi, g) in plans.groups.iter().enumerate() {
        let operand = fwd
            .g
            .node_indices()
            .find(|&n| matches!(fwd.node(n).op, KOp::MatVec { group, .. } if group == gi))
            .map(|n| fv[fwd.args(n)[0].index()].clone())
            .unwrap_or_default();
        let members: Vec<String> = g
            .weights
            .iter()
            .map(|&w| format!("{} @ {operand}", names.params[w]))
            .collect();
        let stacked = if members.len() > 1 {
            format!("{} (stacked into one product)", members.join(" and "))
        } else {
            members.join("")
        };
        let when = if g.hoisted {
            "does not depend on the state: runs for many steps at once"
        } else {
            "runs in the loop, one product per step"
        };
        let _ = writeln!(s, "forward: {stacked} {when}");
    }
    let loops = |prog: &Program| {
        let count = |items: &[Item]| items.iter().filter(|i| matches!(i, Item::Kernel(_))).count();
        format!(
            "{} fused loop(s) before the time loop, {} per step, {} after it",
            count(&prog.pre),
            count(&prog.body),
            count(&prog.post)
        )
    };
    let _ = writeln!(s, "inference: {}", loops(&plans.infer));
    let _ = writeln!(s, "training forward: {}", loops(&plans.train));
    let saved: Vec<String> = bwd.fwd_reads().into_iter().map(|k| fv[k.index()].clone()).collect();
    let _ = writeln!(
        s,
        "saved for BPTT, every step: {} (and the states before each step)",
        if saved.is_empty() {
            "nothing else".to_string()
        } else {
            saved.join(", ")
        }
    );
    let _ = writeln!(s, "backward: {}", loops(&plans.bwd));
    for w in &bwd.weight_grads {
        let param = names.params[plans.groups[w.group].weights[w.member]].clone();
        let _ = writeln!(
            s,
            "backward: d{param} = sum over steps of {}ᵀ · {}, one product after the loop",
            bv[w.dy.index()],
            bv[w.operand.index()]
        );
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

struct Marks {
    stacked: Vec<Option<usize>>,
    saved: Vec<bool>,
}

fn marks(p: &Planned, plans: &Plans, keep: &BTreeSet<K>) -> Marks {
    let sg = &p.shaped.sg;
    let mut stacked = vec![None; sg.g.node_count()];
    let mut saved = vec![false; sg.g.node_count()];
    for n in sg.g.node_indices() {
        if let Some(k) = plans.map[n.index()] {
            if let KOp::MatVec { group, .. } = plans.fwd_flow.node(k).op
                && plans.groups[group].weights.len() > 1
            {
                stacked[n.index()] = Some(group);
            }
            saved[n.index()] = keep.contains(&k);
        }
    }
    Marks { stacked, saved }
}

fn node_attrs(p: &Planned, m: &Marks, n: Id, label: String) -> String {
    let sg = &p.shaped.sg;
    let mut notes = Vec::new();
    let fill = match p.class[n.index()] {
        Class::Hoisted => {
            notes.push("all steps at once".to_string());
            "lightblue"
        }
        Class::Param => "lightgrey",
        Class::Recurrent => "white",
    };
    if let Some(g) = m.stacked[n.index()] {
        notes.push(format!("stacked g{g}"));
    }
    let color = if m.saved[n.index()] {
        notes.push("saved for BPTT".to_string());
        "orange"
    } else {
        "black"
    };
    let shape = show(&p.shaped.shapes[n.index()], &sg.decls.dims);
    let mut text = format!("{label}\\n{}", esc(&shape));
    if !notes.is_empty() {
        text.push_str(&format!("\\n[{}]", notes.join(", ")));
    }
    format!("label=\"{text}\", style=filled, fillcolor={fill}, color={color}")
}

fn step_dot(p: &Planned, plans: &Plans, keep: &BTreeSet<K>) -> String {
    let sg = &p.shaped.sg;
    let m = marks(p, plans, keep);
    let mut s = format!("digraph {} {{\n  rankdir=TB;\n  node [shape=box];\n", sg.decls.name);
    for n in sg.g.node_indices() {
        let _ = writeln!(s, "  n{} [{}];", n.index(), node_attrs(p, &m, n, esc(&sg.describe(n))));
    }
    for e in sg.g.edge_indices() {
        let (a, b) = sg.g.edge_endpoints(e).expect("edge");
        let _ = writeln!(s, "  n{} -> n{};", a.index(), b.index());
    }
    for (k, u) in sg.updates.iter().enumerate() {
        if let Some(state) = sg.g.node_indices().find(|&n| sg.op(n) == Op::State(k)) {
            let _ = writeln!(
                s,
                "  n{} -> n{} [style=dashed, label=\"t+1\"];",
                u.index(),
                state.index()
            );
        }
    }
    s.push_str("}\n");
    s
}

fn unrolled_dot(p: &Planned, plans: &Plans, keep: &BTreeSet<K>) -> String {
    let sg = &p.shaped.sg;
    let u = &p.unrolled;
    let m = marks(p, plans, keep);
    let mut s = format!(
        "digraph {}_unrolled {{\n  rankdir=LR;\n  node [shape=box];\n",
        sg.decls.name
    );
    for v in u.g.node_indices() {
        let (t, n) = u.g[v];
        let label = if t == usize::MAX {
            esc(&sg.describe(n))
        } else {
            format!("{} @t{}", esc(&sg.describe(n)), t)
        };
        let _ = writeln!(s, "  u{} [{}];", v.index(), node_attrs(p, &m, n, label));
    }
    for e in u.g.edge_indices() {
        let (a, b) = u.g.edge_endpoints(e).expect("edge");
        let rec = matches!(u.g[b].1, n if matches!(sg.op(n), Op::State(_))) && u.g[a].0 != u.g[b].0;
        let style = if rec { " [style=dashed]" } else { "" };
        let _ = writeln!(s, "  u{} -> u{}{};", a.index(), b.index(), style);
    }
    s.push_str("}\n");
    s
}

/// `(value, shape)` rows for the `SHAPES` constant: each value by the name
/// `PLAN` and the emitted code give it (`gates: +`), a matrix parameter by
/// its declaration.
fn shape_table(p: &Planned, plans: &Plans) -> Vec<(String, String)> {
    let sg = &p.shaped.sg;
    let v = plans.fwd_flow.value_names();
    sg.g.node_indices()
        .map(|n| {
            let value = match plans.map[n.index()] {
                Some(k) => format!("{}: {}", v[k.index()], sg.op_text(n)),
                None => sg.describe(n),
            };
            (value, show(&p.shaped.shapes[n.index()], &sg.decls.dims))
        })
        .collect()
}

/// A flow, one line per node (`name = op operands`, each value by the name
/// the emitted code gives it), then its sinks and weight gradients.
pub fn flow_text(flow: &Flow, names: &Names) -> String {
    let mut s = String::new();
    let v = flow.value_names();
    for n in flow.g.node_indices() {
        let node = &flow.g[n];
        let args: Vec<String> = flow.args(n).iter().map(|a| v[a.index()].clone()).collect();
        let op = match node.op {
            KOp::Leaf(l) => match l {
                Leaf::Input(k) => format!("input {}", names.inputs[k]),
                Leaf::StatePrev(k) => format!("{}[t-1]", names.states[k]),
                Leaf::Param(k) => format!("param {}", names.params[k]),
                Leaf::Const(c) => format!("const {c}"),
                Leaf::Zero => "zero".into(),
                Leaf::Fwd(_) => "saved by the forward pass".into(),
                Leaf::SeedState(k) => format!("d{}[t]", names.states[k]),
                Leaf::SeedOut(k) => format!("d{}[t]", names.outputs[k]),
            },
            KOp::Add => "add".into(),
            KOp::Sub => "sub".into(),
            KOp::Mul => "mul".into(),
            KOp::Div => "div".into(),
            KOp::Max => "max".into(),
            KOp::Min => "min".into(),
            KOp::Neg => "neg".into(),
            KOp::Copy => "copy".into(),
            KOp::Func(f) => f.name().into(),
            KOp::Sum { mean: false } => "sum".into(),
            KOp::Sum { mean: true } => "mean".into(),
            KOp::Split { index, parts } => format!("split {index}/{parts}"),
            KOp::Concat { parts } => format!("concat {parts}"),
            KOp::MatVec { group, member } => format!("matvec g{group}.{member}"),
            KOp::MatVecT { group } => format!("matvecT g{group}"),
        };
        s.push_str(&format!("{} = {} {}\n", v[n.index()], op, args.join(" ")).replace(" \n", "\n"));
    }
    for (sink, n) in &flow.sinks {
        s.push_str(&format!("sink {:?} <- {}\n", sink, v[n.index()]));
    }
    for w in &flow.weight_grads {
        s.push_str(&format!(
            "weight grad g{}.{} <- {}ᵀ · {}\n",
            w.group,
            w.member,
            v[w.dy.index()],
            v[w.operand.index()]
        ));
    }
    s
}

/// A program of `flow`, one line per buffer and per item, values by name.
pub fn program_text(prog: &Program, flow: &Flow, names: &Names) -> String {
    let mut s = String::new();
    let v = flow.value_names();
    let loc = |l: &Loc| {
        format!(
            "{:?}{}{}{}",
            l.buf,
            if l.col.is_empty() {
                String::new()
            } else {
                format!("+{:?}", l.col.iter().map(|d| (d.coef, d.sym)).collect::<Vec<_>>())
            },
            if l.chunked {
                " chunk"
            } else if l.all_steps {
                " all"
            } else {
                " step"
            },
            if l.next_block { " next" } else { "" }
        )
    };
    for (i, b) in prog.own.iter().enumerate() {
        let _ = writeln!(
            s,
            "buf{i}: width {:?} {}",
            b.width.iter().map(|d| (d.coef, d.sym)).collect::<Vec<_>>(),
            if b.chunked {
                "chunk of steps"
            } else if b.all_steps {
                "all steps"
            } else {
                "per step"
            }
        );
    }
    for (name, items) in [("pre", &prog.pre), ("body", &prog.body), ("post", &prog.post)] {
        for it in items {
            match it {
                Item::Gemm { group, a, c } => {
                    let _ = writeln!(s, "{name}: gemm g{group} {} -> {}", loc(a), loc(c));
                }
                Item::GemmT { group, a, c } => {
                    let _ = writeln!(s, "{name}: gemmT g{group} {} -> {}", loc(a), loc(c));
                }
                Item::Kernel(k) => {
                    let t: Vec<String> = k
                        .targets
                        .iter()
                        .map(|(n, l)| format!("{} -> {}", v[n.index()], loc(l)))
                        .collect();
                    let a: Vec<String> = k
                        .accums
                        .iter()
                        .map(|(n, p)| format!("{} +> d{}", v[n.index()], names.params[*p]))
                        .collect();
                    let _ = writeln!(
                        s,
                        "{name}: kernel base {:?} inline {} [{}]",
                        (k.base.coef, k.base.sym),
                        k.inline.len(),
                        t.into_iter().chain(a).collect::<Vec<_>>().join(", ")
                    );
                }
            }
        }
    }
    for w in &prog.weight_grads {
        let _ = writeln!(
            s,
            "post: weight grad g{}.{} {}ᵀ{} · {}",
            w.wg.group,
            w.wg.member,
            loc(&w.dy),
            if w.panels { " (panels)" } else { "" },
            loc(&w.operand)
        );
    }
    s
}
