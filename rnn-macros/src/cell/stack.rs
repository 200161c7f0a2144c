//! Step graph -> forward [`Flow`], stacking products that share an operand.
//!
//! Every `w @ v` with the same `v` joins one [`Group`]: their matrices are
//! laid out one above the other once per call and the step runs one GEMM
//! for the group instead of one per product. The same stacking carries to
//! the backward pass, where `Σ_k dY_k · W_k` for the group is again one GEMM.
//! A group whose operand is not recurrent is *hoisted* (the time plan's
//! class): its product runs for all steps at once.
//!
//! In: `Planned`; out: `Stacked`, the forward flow with its groups. Without
//! `options.stack` every product is a group of its own; without
//! `options.hoist` no group is hoisted. Infallible.

use crate::cell::flow::{Flow, Group, K, KOp, Leaf, Sink};
use crate::cell::ir::{Id, Op};
use crate::cell::options::Options;
use crate::cell::shape::Shape;
use crate::cell::time::{Class, Planned};

/// The forward flow, its groups, and the map from step nodes to flow nodes.
pub struct Stacked {
    pub flow: Flow,
    pub groups: Vec<Group>,
    /// Flow node of each step node (`None` for matrix parameters).
    pub map: Vec<Option<K>>,
}

/// `options.stack`: share one group between products of one operand;
/// `options.hoist`: mark groups whose operand does not depend on the state.
pub fn stack(p: &Planned, options: Options) -> Stacked {
    let sh = &p.shaped;
    let sg = &sh.sg;
    // Group products by operand, in order of first appearance.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_operand: Vec<Id> = Vec::new();
    let mut member_of: Vec<Option<(usize, usize)>> = vec![None; sg.g.node_count()];
    for n in sg.g.node_indices() {
        if sg.op(n) != Op::MatVec {
            continue;
        }
        let args = sg.args(n);
        let Op::Param(w) = sg.op(args[0]) else {
            unreachable!("resolve checks `@`")
        };
        let shared = if options.stack {
            group_operand.iter().position(|&o| o == args[1])
        } else {
            None
        };
        let gi = match shared {
            Some(gi) => gi,
            None => {
                group_operand.push(args[1]);
                groups.push(Group {
                    weights: vec![],
                    rows: vec![],
                    cols: sh.width(args[1]),
                    hoisted: options.hoist && p.class[args[1].index()] != Class::Recurrent,
                });
                groups.len() - 1
            }
        };
        member_of[n.index()] = Some((gi, groups[gi].weights.len()));
        groups[gi].weights.push(w);
        groups[gi].rows.push(sh.width(n));
    }
    let mut flow = Flow::new();
    flow.inputs = sg.decls.input_widths();
    flow.scalar_params = (0..sg.decls.params.len())
        .filter(|&k| sg.decls.params[k].shape.is_empty())
        .collect();
    let mut map: Vec<Option<K>> = vec![None; sg.g.node_count()];
    for n in sg.g.node_indices() {
        let width = match sh.shapes[n.index()] {
            Shape::Scalar => None,
            _ => Some(sh.width(n)),
        };
        let batched = sh.batched(n);
        let args: Vec<K> = sg.args(n).iter().filter_map(|a| map[a.index()]).collect();
        let op = match sg.op(n) {
            Op::Input(k) => KOp::Leaf(Leaf::Input(k)),
            Op::State(k) => KOp::Leaf(Leaf::StatePrev(k)),
            Op::Param(k) => {
                if sg.decls.weight_shape(k).len() == 2 {
                    continue;
                }
                KOp::Leaf(Leaf::Param(k))
            }
            Op::Const(c) => KOp::Leaf(Leaf::Const(c)),
            Op::MatVec => {
                let (group, member) = member_of[n.index()].expect("grouped");
                KOp::MatVec { group, member }
            }
            Op::Add => KOp::Add,
            Op::Sub => KOp::Sub,
            Op::Mul => KOp::Mul,
            Op::Div => KOp::Div,
            Op::Max => KOp::Max,
            Op::Min => KOp::Min,
            Op::Neg => KOp::Neg,
            Op::Func(f) => KOp::Func(f),
            Op::Sum { mean } => KOp::Sum { mean },
            Op::Split { index, parts } => KOp::Split { index, parts },
        };
        let k = flow.add(op, width, batched, &args);
        map[n.index()] = Some(k);
        flow.equations[k.index()].clone_from(&sg.g[n].equation);
        if let Some(label) = &sg.g[n].label {
            // A state's new value is `c_new`; `c` is the value before the step.
            let update = sg.updates.iter().position(|&u| u == n);
            match update {
                Some(s) if sg.decls.states[s].name == label.as_str() => flow.name(k, format!("{label}_new")),
                _ => flow.name(k, label.clone()),
            }
        }
        if let (KOp::MatVec { group, member }, Some(v)) = (op, args.first().and_then(|a| flow.names[a.index()].clone()))
        {
            // An unnamed product `w @ v` is `w_v` (`weight_hh_h`).
            let w = groups[group].weights[member];
            let view = sg.decls.view(w);
            let name = &sg.decls.params[view.map_or(w, |v| v.param)].name;
            let t = if view.is_some_and(|v| v.transposed) { "_t" } else { "" };
            flow.name(k, format!("{name}{t}_{v}"));
        }
    }
    for (k, u) in sg.updates.iter().enumerate() {
        flow.sinks.push((Sink::NewState(k), map[u.index()].expect("update")));
    }
    for (k, o) in sg.output_nodes.iter().enumerate() {
        flow.sinks.push((Sink::Output(k), map[o.index()].expect("output")));
    }
    Stacked { flow, groups, map }
}
