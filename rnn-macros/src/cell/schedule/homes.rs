//! Step 3: where each stored value lives.
//!
//! Leaves live in the buffers the generated code receives (inputs, state
//! histories, parameters, seeds; forward values in the trace, for the
//! backward). Each product group of more than one member gets one packed
//! buffer, in which its operands (backward: its members' adjoints) sit side
//! by side. A stored value's first role is its home: the buffer of a sink
//! it leaves through, its packed slot, or a buffer of its own; its other
//! roles are extra copies. A value that must hold all steps gets a home
//! that does. Out: every stored value has a home; every `Own` buffer knows
//! whether it holds all steps.

use super::program::{Buf, Loc, ONE, OwnBuf, Role, Section};
use super::storage::Storage;
use crate::cell::flow::{Flow, Group, K, KOp, Leaf, Sink};
use crate::cell::ir::Dim;

pub struct Homes {
    /// Buffers the program allocates.
    pub own: Vec<OwnBuf>,
    /// Where each stored node (and each leaf with a buffer) can be read.
    pub homes: Vec<Option<Loc>>,
    /// Further places each node is copied to (packed slots, sinks).
    pub extra: Vec<Vec<Loc>>,
    /// Groups of more than one member, whose weights are packed.
    pub packed_groups: Vec<usize>,
    /// The packed buffer of each such group.
    pub group_buf: Vec<Option<usize>>,
}

/// `row_const`: which values hold one number per row
/// ([`Flow::row_constants`]); those stored in a buffer of their own and
/// read only elementwise get one column per row (a row scalar).
pub fn place(flow: &Flow, groups: &[Group], role: &Role<'_>, storage: &Storage, row_const: &[bool]) -> Homes {
    let n = flow.g.node_count();
    let backward = role.is_backward();
    let width = |k: K| flow.node(k).width;
    let (sec, mat, all) = (&storage.sections.0, &storage.stored, &storage.all_steps);
    let mut own: Vec<OwnBuf> = Vec::new();
    let mut homes: Vec<Option<Loc>> = vec![None; n];
    let mut extra: Vec<Vec<Loc>> = vec![Vec::new(); n];
    let mut packed_groups = Vec::new();
    // Leaves with buffers.
    for k in flow.g.node_indices() {
        let Some(leaf) = flow.leaf(k) else { continue };
        let w = width(k);
        homes[k.index()] = match (leaf, role) {
            (Leaf::Input(i), _) => Some(input_block(Buf::Xs(0), &flow.inputs, i)),
            (Leaf::StatePrev(s), _) => Some(Loc::whole(Buf::Hist(s), w.expect("width"), true)),
            // A scalar parameter is one value wide.
            (Leaf::Param(p), _) => Some(Loc::whole(Buf::Param(p), w.unwrap_or(ONE), true)),
            (Leaf::SeedState(s), _) => Some(Loc::whole(Buf::Seed(s), w.expect("width"), false)),
            (Leaf::SeedOut(o), _) => Some(Loc::whole(Buf::DOut(o), w.expect("width"), true)),
            (Leaf::Fwd(f), Role::Backward { fwd_home }) => Some(fwd_home(f)),
            _ => None,
        };
    }
    // Stacked groups: one packed buffer per group of more than one member.
    let mut group_buf: Vec<Option<usize>> = vec![None; groups.len()];
    for (gi, g) in groups.iter().enumerate() {
        if g.weights.len() > 1 {
            packed_groups.push(gi);
            own.push(OwnBuf {
                width: g.rows.clone(),
                all_steps: false,
                chunked: false,
            });
            group_buf[gi] = Some(own.len() - 1);
        }
    }
    let col_of = |g: &Group, m: usize| g.rows[..m].to_vec();
    let mut packed_role: Vec<Option<(usize, usize)>> = vec![None; n];
    for k in flow.g.node_indices() {
        match flow.node(k).op {
            KOp::MatVec { group, member } if !backward && groups[group].weights.len() > 1 => {
                packed_role[k.index()] = Some((group, member));
            }
            KOp::MatVecT { group } if groups[group].weights.len() > 1 => {
                for (m, a) in flow.args(k).into_iter().enumerate() {
                    if packed_role[a.index()].is_none() {
                        packed_role[a.index()] = Some((group, m));
                    } else {
                        // Already packed elsewhere: stored a second time here.
                        let gb = group_buf[group].expect("packed");
                        extra[a.index()].push(Loc {
                            buf: Buf::Own(gb),
                            ld: groups[group].rows.clone(),
                            col: col_of(&groups[group], m),
                            all_steps: false,
                            next_block: false,
                            chunked: false,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for k in flow.g.node_indices() {
        if !mat[k.index()] {
            continue;
        }
        let mut w = width(k).expect("materialised values are vectors");
        let mut roles: Vec<Loc> = Vec::new();
        for &(sink, s) in &flow.sinks {
            if s != k {
                continue;
            }
            match sink {
                Sink::NewState(i) => roles.push(Loc {
                    next_block: true,
                    chunked: false,
                    ..Loc::whole(Buf::Hist(i), w, true)
                }),
                Sink::Output(i) => roles.push(Loc::whole(Buf::Out(i), w, true)),
                Sink::InputGrad(i) => roles.push(input_block(Buf::DXs(0), &flow.inputs, i)),
                Sink::StateGrad(i) => roles.push(Loc::whole(Buf::SeedNext(i), w, false)),
                Sink::ParamGrad(_) => {}
            }
        }
        if roles.is_empty() && row_const[k.index()] && !read_by_product(flow, k) {
            w = ONE;
        }
        if let Some((g, m)) = packed_role[k.index()] {
            roles.insert(
                0,
                Loc {
                    buf: Buf::Own(group_buf[g].expect("packed")),
                    ld: groups[g].rows.clone(),
                    col: col_of(&groups[g], m),
                    all_steps: false,
                    next_block: false,
                    chunked: false,
                },
            );
        }
        let needs_all = all[k.index()] || sec[k.index()] != Section::Body;
        if flow.has_buffer(k) {
            // A leaf keeps its own buffer; its roles are copies.
            for r in &roles {
                if let (Buf::Own(b), true) = (r.buf, needs_all) {
                    own[b].all_steps = true;
                }
            }
            extra[k.index()].extend(roles);
            continue;
        }
        // Prefer a home that keeps all steps when one is needed.
        if needs_all {
            if let Some(pos) = roles.iter().position(|l| l.all_steps || matches!(l.buf, Buf::Own(_))) {
                let r = roles.remove(pos);
                roles.insert(0, r);
            } else {
                own.push(OwnBuf {
                    width: vec![w],
                    all_steps: true,
                    chunked: false,
                });
                roles.insert(0, Loc::whole(Buf::Own(own.len() - 1), w, true));
            }
        }
        if roles.is_empty() {
            own.push(OwnBuf {
                width: vec![w],
                all_steps: needs_all,
                chunked: false,
            });
            roles.push(Loc::whole(Buf::Own(own.len() - 1), w, needs_all));
        }
        let mut home = roles.remove(0);
        if let Buf::Own(b) = home.buf
            && needs_all
        {
            own[b].all_steps = true;
            home.all_steps = true;
        }
        homes[k.index()] = Some(home);
        extra[k.index()].extend(roles);
    }
    // Packed buffers hold all steps if any member's home says so.
    for k in flow.g.node_indices() {
        if let Some(Loc {
            buf: Buf::Own(b),
            all_steps: true,
            ..
        }) = &homes[k.index()]
        {
            own[*b].all_steps = true;
        }
    }
    for h in homes.iter_mut().flatten() {
        if let Buf::Own(b) = h.buf {
            h.all_steps = own[b].all_steps;
        }
    }
    for l in extra.iter_mut().flatten() {
        if let Buf::Own(b) = l.buf {
            l.all_steps = own[b].all_steps;
        }
    }
    Homes {
        own,
        homes,
        extra,
        packed_groups,
        group_buf,
    }
}

/// Whether a product reads `k` (as its operand, or as a weight
/// gradient's adjoint or operand): then it needs its whole row.
fn read_by_product(flow: &Flow, k: K) -> bool {
    flow.g
        .neighbors_directed(k, petgraph::Direction::Outgoing)
        .any(|r| flow.is_gemm(r))
        || flow.weight_grads.iter().any(|wg| wg.dy == k || wg.operand == k)
}

/// Input `i`'s columns of `buf` (the inputs, or their gradients, side by
/// side in declaration order, `widths` wide each).
fn input_block(buf: Buf, widths: &[Dim], i: usize) -> Loc {
    Loc {
        ld: widths.to_vec(),
        col: widths[..i].to_vec(),
        ..Loc::whole(buf, widths[i], true)
    }
}
