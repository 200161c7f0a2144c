//! Flow -> [`Program`]s: what is stored, where it lives, and when it runs.
//!
//! Matrix products are the only values that must be stored for their own
//! sake; elementwise values are recomputed inline inside fused kernels, and
//! stored only when a product reads them, when they leave the step (states,
//! outputs, gradients), when the backward pass reads them, or when a later
//! section reads them. Products of hoisted groups go before the loop
//! (forward) or after it (backward); so do weight gradients, one product
//! each.
//!
//! Each program is one chain of steps, one file each; read them in order:
//! [`sections`] -> [`storage`] -> [`homes`] -> [`items`]. [`plan`] schedules
//! the three programs of a cell and links them through the trace; [`chunk`]
//! and [`one_hot`] refine the finished programs. The output types are in
//! [`program`].

mod chunk;
mod homes;
mod items;
mod one_hot;
mod program;
mod sections;
mod storage;

pub use program::{Buf, Item, Kernel, Loc, PanelSpec, Plans, Program, Section, WeightGradItem};

use crate::cell::autodiff::Differentiated;
use crate::cell::flow::{Flow, Group, K};
use crate::cell::options::Options;
use crate::cell::stack::Stacked;
use program::Role;
use std::collections::BTreeSet;

/// Schedules the forward twice (inference and training) and the backward,
/// linking the backward's reads of forward values to the training trace.
pub fn plan(diff: Differentiated, options: Options) -> Plans {
    let Differentiated {
        fwd: Stacked {
            flow: fwd_flow,
            groups,
            map,
        },
        bwd: bwd_flow,
    } = diff;
    let (fwd, bwd) = (&fwd_flow, &bwd_flow);
    let keep = bwd.fwd_reads();
    let empty = BTreeSet::new();
    let fwd_rc = fwd.row_constants(&[]);
    let bwd_rc = bwd.row_constants(&fwd_rc);
    let infer = program(fwd, &groups, Role::Forward { keep: &empty }, &fwd_rc, options);
    let train = program(fwd, &groups, Role::Forward { keep: &keep }, &fwd_rc, options);
    let mut kept: Vec<usize> = Vec::new();
    for f in &keep {
        if let Some(Loc { buf: Buf::Own(b), .. }) = &train.homes[f.index()]
            && !kept.contains(b)
        {
            kept.push(*b);
        }
    }
    let fwd_home = |f: K| -> Loc {
        let mut l = train.homes[f.index()].clone().expect("kept forward value has a home");
        if let Buf::Own(b) = l.buf {
            l.buf = Buf::Saved(kept.iter().position(|x| *x == b).expect("kept"));
        }
        l
    };
    let bwd_prog = program(bwd, &groups, Role::Backward { fwd_home: &fwd_home }, &bwd_rc, options);
    // Ids stand for one one-hot vector: a cell of several inputs takes values.
    let one_hot_lookup =
        fwd.inputs.len() == 1 && one_hot::input_only_in_products(fwd, bwd, &groups, [&infer, &train, &bwd_prog]);
    let (mut infer, mut train) = (infer, train);
    if options.chunk {
        chunk::chunk_input_products(fwd, &mut infer, &[]);
        chunk::chunk_input_products(fwd, &mut train, &kept);
    }
    Plans {
        fwd_flow,
        groups,
        bwd_flow,
        map,
        infer,
        train,
        bwd: bwd_prog,
        kept,
        one_hot_lookup,
    }
}

/// One program: the steps in order. `row_const`: which of the flow's
/// values hold one number per row ([`Flow::row_constants`]).
fn program(flow: &Flow, groups: &[Group], role: Role<'_>, row_const: &[bool], options: Options) -> Program {
    let sections = sections::assign(flow, groups, role.is_backward(), options);
    let storage = storage::decide(flow, groups, &role, sections, options);
    let homes = homes::place(flow, groups, &role, &storage, row_const);
    items::build(flow, groups, &storage, homes, options)
}
