//! Graphviz DOT for the step graph and for the graph unrolled over three
//! steps, with the time plan's decisions marked: hoisted values (one batched
//! operation for all steps), stacked products, values saved for BPTT.

use crate::cell::ir::Op;
use crate::cell::shape::show;
use crate::cell::stack::Stacked;
use crate::cell::time::{Class, Planned};
use std::collections::BTreeSet;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

struct Marks {
    stacked: Vec<Option<usize>>,
    saved: Vec<bool>,
}

fn marks(p: &Planned, st: &Stacked, keep: &BTreeSet<crate::cell::flow::K>) -> Marks {
    let sg = &p.shaped.sg;
    let mut stacked = vec![None; sg.g.node_count()];
    let mut saved = vec![false; sg.g.node_count()];
    for n in sg.g.node_indices() {
        if let Some(k) = st.map[n.index()] {
            if let crate::cell::flow::KOp::MatVec { group, .. } = st.flow.node(k).op
                && st.groups[group].weights.len() > 1
            {
                stacked[n.index()] = Some(group);
            }
            saved[n.index()] = keep.contains(&k);
        }
    }
    Marks { stacked, saved }
}

fn node_attrs(p: &Planned, m: &Marks, n: crate::cell::ir::Id, label: String) -> String {
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

pub fn step_dot(p: &Planned, st: &Stacked, keep: &BTreeSet<crate::cell::flow::K>) -> String {
    let sg = &p.shaped.sg;
    let m = marks(p, st, keep);
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

pub fn unrolled_dot(p: &Planned, st: &Stacked, keep: &BTreeSet<crate::cell::flow::K>) -> String {
    let sg = &p.shaped.sg;
    let u = &p.unrolled;
    let m = marks(p, st, keep);
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

/// `(value, shape)` rows for the `SHAPES` constant.
pub fn shape_table(p: &Planned) -> Vec<(String, String)> {
    let sg = &p.shaped.sg;
    sg.g.node_indices()
        .map(|n| {
            (
                format!("%{} {}", n.index(), sg.describe(n)),
                show(&p.shaped.shapes[n.index()], &sg.decls.dims),
            )
        })
        .collect()
}
