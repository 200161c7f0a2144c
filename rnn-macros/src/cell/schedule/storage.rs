//! Step 2: which values are stored (materialised) and which of those hold
//! all steps; the final section of every node.
//!
//! Matrix products are stored for their own sake, with the operands they
//! read from a buffer; so are values that leave the step (sinks), forward
//! values the backward reads (training form, all steps), weight-gradient
//! adjoints (in panels, or all steps without `options.panels`) and body
//! values a later section reads (all steps). Everything else is recomputed
//! inline inside fused kernels, unless `options.fuse` is off, which stores
//! every vector value. Hoisted forward products, and what they read, move
//! before the loop here; a leaf copied into a slot (a packed operand, a
//! sink) moves to the earliest section that reads it. Both moves depend on
//! the decisions above them, so they stay in this step, in this order.

use super::program::{Role, Section};
use super::sections::Sections;
use crate::cell::flow::{Flow, Group, K, KOp, Sink};
use crate::cell::options::Options;

pub struct Storage {
    /// The final section of every node.
    pub sections: Sections,
    /// Stored in a buffer, by node index.
    pub stored: Vec<bool>,
    /// Stored for all steps, by node index.
    pub all_steps: Vec<bool>,
    /// Per weight gradient of the flow: its adjoint reaches the product
    /// through panels the loop fills (see `WeightGradItem::panels`).
    pub panels: Vec<bool>,
}

pub fn decide(flow: &Flow, groups: &[Group], role: &Role<'_>, sections: Sections, options: Options) -> Storage {
    let n = flow.g.node_count();
    let backward = role.is_backward();
    let Sections(mut sec) = sections;
    let mut mat = vec![false; n];
    let mut all = vec![false; n];
    for k in flow.g.node_indices() {
        match flow.node(k).op {
            KOp::MatVec { .. } => {
                mat[k.index()] = true;
                let a = flow.args(k)[0];
                if !flow.has_buffer(a) {
                    mat[a.index()] = true;
                }
            }
            KOp::MatVecT { group } => {
                mat[k.index()] = true;
                for a in flow.args(k) {
                    if groups[group].weights.len() > 1 || !flow.has_buffer(a) {
                        mat[a.index()] = true;
                    }
                }
            }
            // A reduction is read after the loop over its row: stored.
            KOp::Sum { .. } => mat[k.index()] = true,
            _ => {}
        }
    }
    for &(sink, k) in &flow.sinks {
        if !matches!(sink, Sink::ParamGrad(_)) {
            mat[k.index()] = true;
        }
    }
    if !options.fuse {
        for k in flow.g.node_indices() {
            if flow.leaf(k).is_none() && flow.node(k).width.is_some() {
                mat[k.index()] = true;
            }
        }
    }
    // A weight gradient's dY computed in the loop reaches the product after
    // it through panels filled step by step (see `WeightGradItem::panels`),
    // so it needs no buffer of all steps; without `options.panels` it keeps one.
    let wg_panels: Vec<bool> = flow
        .weight_grads
        .iter()
        .map(|wg| options.panels && sec[wg.dy.index()] == Section::Body)
        .collect();
    for (wg, &panels) in flow.weight_grads.iter().zip(&wg_panels) {
        mat[wg.dy.index()] = true;
        if !panels {
            all[wg.dy.index()] = true;
        }
    }
    if let Role::Forward { keep } = role {
        for k in keep.iter() {
            if flow.leaf(*k).is_none() {
                mat[k.index()] = true;
                all[k.index()] = true;
            }
        }
    }
    // A body value read by a post value is stored for all steps.
    for k in flow.g.node_indices() {
        if sec[k.index()] != Section::Post {
            continue;
        }
        for a in flow.args(k) {
            if sec[a.index()] == Section::Body && !flow.has_buffer(a) {
                mat[a.index()] = true;
                all[a.index()] = true;
            }
        }
    }
    // Forward: hoisted products and what they read run before the loop.
    if !backward {
        let mut stack: Vec<K> = flow
            .g
            .node_indices()
            .filter(|&k| matches!(flow.node(k).op, KOp::MatVec { group, .. } if groups[group].hoisted))
            .collect();
        while let Some(k) = stack.pop() {
            if sec[k.index()] == Section::Pre {
                continue;
            }
            sec[k.index()] = Section::Pre;
            all[k.index()] = true;
            for a in flow.args(k) {
                if flow.leaf(a).is_none() {
                    stack.push(a);
                }
            }
        }
    }

    // A value the kernel of its own level computes and a later level's
    // kernel reads again (across a reduction, as layer normalisation does)
    // is stored once rather than recomputed there.
    if options.fuse {
        let level = super::sections::levels(flow, &sec);
        for k in flow.g.node_indices() {
            let node = flow.node(k);
            if mat[k.index()] || !node.batched || node.width.is_none() || flow.leaf(k).is_some() {
                continue;
            }
            let users: Vec<K> = flow.g.neighbors_directed(k, petgraph::Direction::Outgoing).collect();
            let here = |u: &K| sec[u.index()] == sec[k.index()];
            let same = users.iter().any(|u| here(u) && level[u.index()] == level[k.index()]);
            let later = users.iter().any(|u| here(u) && level[u.index()] > level[k.index()]);
            if same && later {
                mat[k.index()] = true;
            }
        }
    }

    // A leaf copied into a slot (a packed operand, a sink) is copied in the
    // earliest section that reads the slot.
    for k in flow.g.node_indices() {
        if flow.leaf(k).is_some() && mat[k.index()] {
            let users = flow
                .g
                .neighbors_directed(k, petgraph::Direction::Outgoing)
                .map(|u| sec[u.index()])
                .min();
            if let Some(s) = users {
                sec[k.index()] = s;
                if s != Section::Body {
                    all[k.index()] = true;
                }
            }
        }
    }
    Storage {
        sections: Sections(sec),
        stored: mat,
        all_steps: all,
        panels: wg_panels,
    }
}
