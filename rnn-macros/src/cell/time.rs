//! The time plan: an analysis of the graph unrolled over a few steps.
//!
//! The step graph is copied for `UNROLL` steps; parameters are shared by all
//! copies and each state's new value at t feeds the state node at t+1. A
//! node is *recurrent* when some initial state reaches its copy at t = 1;
//! a batched node no initial state reaches is the same function of x_t at
//! every t and is *hoisted*: it can run for all steps at once, outside the
//! loop. Unbatched nodes depend on parameters only.
//!
//! In: a checked cell (`Shaped`); out: `Planned`, a class per step-graph
//! node, and the unrolled graph that `inspect` draws. Infallible.

use crate::cell::ir::{Id, Op};
use crate::cell::shape::Shaped;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

pub const UNROLL: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    /// Parameters and constants only: the same at every step.
    Param,
    /// Depends on inputs but not on the state: runs for all steps at once.
    Hoisted,
    /// Depends on the state: stays in the time loop.
    Recurrent,
}

/// The unrolled graph: node weights are `(step, step-graph node)`;
/// parameters appear once with step `usize::MAX`.
pub struct Unrolled {
    pub g: DiGraph<(usize, Id), ()>,
    /// `copies[t][n]`: the unrolled node of step node `n` at step `t`.
    pub copies: Vec<Vec<NodeIndex>>,
}

pub struct Planned {
    pub shaped: Shaped,
    pub class: Vec<Class>,
    pub unrolled: Unrolled,
}

pub fn unroll(sh: &Shaped, steps: usize) -> Unrolled {
    let sg = &sh.sg;
    let mut g = DiGraph::new();
    let mut shared = vec![None; sg.g.node_count()];
    for n in sg.g.node_indices() {
        if matches!(sg.op(n), Op::Param(_)) {
            shared[n.index()] = Some(g.add_node((usize::MAX, n)));
        }
    }
    let mut copies: Vec<Vec<NodeIndex>> = Vec::new();
    for t in 0..steps {
        let row: Vec<NodeIndex> =
            sg.g.node_indices()
                .map(|n| shared[n.index()].unwrap_or_else(|| g.add_node((t, n))))
                .collect();
        for e in sg.g.edge_indices() {
            let (a, b) = sg.g.edge_endpoints(e).expect("edge");
            g.add_edge(row[a.index()], row[b.index()], ());
        }
        if t > 0 {
            for (k, &u) in sg.updates.iter().enumerate() {
                let state =
                    sg.g.node_indices()
                        .find(|&n| sg.op(n) == Op::State(k))
                        .expect("state node");
                g.add_edge(copies[t - 1][u.index()], row[state.index()], ());
            }
        }
        copies.push(row);
    }
    Unrolled { g, copies }
}

pub fn plan(sh: Shaped) -> Planned {
    let unrolled = unroll(&sh, UNROLL);
    let sg = &sh.sg;
    let mut reached = vec![false; unrolled.g.node_count()];
    for n in sg.g.node_indices() {
        if let Op::State(_) = sg.op(n) {
            let mut dfs = Dfs::new(&unrolled.g, unrolled.copies[0][n.index()]);
            while let Some(v) = dfs.next(&unrolled.g) {
                reached[v.index()] = true;
            }
        }
    }
    let class =
        sg.g.node_indices()
            .map(|n| {
                if !sh.batched(n) {
                    Class::Param
                } else if reached[unrolled.copies[1][n.index()].index()] {
                    Class::Recurrent
                } else {
                    Class::Hoisted
                }
            })
            .collect();
    Planned {
        shaped: sh,
        class,
        unrolled,
    }
}
