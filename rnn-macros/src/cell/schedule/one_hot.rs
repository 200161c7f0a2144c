//! After scheduling all three programs: can the cell take its input as
//! one-hot ids (`Plans::one_hot_lookup`)? Only when the input is read by
//! products alone, which a lookup of weight rows can replace.

use super::program::{Buf, Item, Program};
use crate::cell::flow::{Flow, Group, K, KOp, Leaf};

/// Whether every read of the input is a product that runs before the time
/// loop (forward: an operand of hoisted groups only, in both programs;
/// backward: only a weight gradient's operand, with the input gradient
/// written by products alone, which a one-hot input skips).
pub fn input_only_in_products(fwd: &Flow, bwd: &Flow, groups: &[Group], progs: [&Program; 3]) -> bool {
    let is_input = |f: &Flow, k: K| matches!(f.leaf(k), Some(Leaf::Input(_)));
    let fwd_ok = fwd.g.node_indices().filter(|&k| is_input(fwd, k)).all(|k| {
        fwd.g
            .neighbors_directed(k, petgraph::Direction::Outgoing)
            .all(|u| matches!(fwd.node(u).op, KOp::MatVec { group, .. } if groups[group].hoisted))
    });
    let bwd_ok = bwd.g.node_indices().filter(|&k| is_input(bwd, k)).all(|k| {
        bwd.g
            .neighbors_directed(k, petgraph::Direction::Outgoing)
            .next()
            .is_none()
    });
    let [infer, train, back] = progs;
    let reads_in_loop = |p: &Program| {
        p.body
            .iter()
            .chain(&p.post)
            .any(|it| matches!(it, Item::Gemm { a, .. } | Item::GemmT { a, .. } if matches!(a.buf, Buf::Xs(_))))
    };
    let kernel_writes_dx = back.pre.iter().chain(&back.body).chain(&back.post).any(|it| match it {
        Item::Kernel(k) => k.targets.iter().any(|(_, l)| matches!(l.buf, Buf::DXs(_))),
        _ => false,
    });
    fwd_ok && bwd_ok && !reads_in_loop(infer) && !reads_in_loop(train) && !kernel_writes_dx
}
