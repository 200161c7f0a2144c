//! Flow -> [`Program`]: what is materialised, where it lives, and when it runs.
//!
//! A program has three sections: `pre` (before the time loop, over all
//! T·B rows), `body` (once per step, over B rows) and `post` (after the loop,
//! over all rows). Matrix products are the only values that must be
//! materialised for their own sake; elementwise values are recomputed inline
//! inside fused kernels, and stored only when a product reads them, when
//! they leave the step (states, outputs, gradients), when the backward pass
//! reads them, or when a later section reads them. Within a section, items
//! alternate: the products of level L, then one fused elementwise kernel per
//! symbolic width for level L. Products of hoisted groups go to `pre`
//! (forward) or `post` (backward); so do weight gradients, one product each.

use crate::cell::flow::{Flow, Group, K, KOp, Leaf, Sink, WeightGrad};
use crate::cell::ir::Dim;
use crate::cell::options::Options;
use std::collections::BTreeSet;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Section {
    Pre,
    Body,
    Post,
}

/// A sum of dimensions (packed buffers mix widths).
pub type Dims = Vec<Dim>;

/// A buffer the generated code declares or receives.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Buf {
    /// Input sequence `k`, all steps.
    Xs(usize),
    /// History of state `k`: block t holds the state after t steps.
    Hist(usize),
    /// Output sequence `k`, all steps.
    Out(usize),
    /// Buffer `k` of [`Program::own`].
    Own(usize),
    /// A forward buffer kept in the trace (`Trace::saved[k]`), backward only.
    Saved(usize),
    /// Gradient of output `k`, all steps.
    DOut(usize),
    /// Carried adjoint of state `k`'s new value (per step).
    Seed(usize),
    /// Adjoint of state `k` at t-1 (per step, swapped with `Seed`).
    SeedNext(usize),
    /// Gradient of input `k`, all steps.
    DXs(usize),
    /// Vector parameter `k` (unbatched).
    Param(usize),
}

/// Where a value lives: a buffer, its row width, a column offset, whether it
/// holds all steps, and whether it is one block later (a state's new value).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Loc {
    pub buf: Buf,
    pub ld: Dims,
    pub col: Dims,
    pub all_steps: bool,
    pub next_block: bool,
    /// The buffer holds one chunk of steps, not all (see [`chunk_input_products`]):
    /// step t is block `t % chunk`.
    pub chunked: bool,
}

impl Loc {
    fn whole(buf: Buf, width: Dim, all_steps: bool) -> Loc {
        Loc {
            buf,
            ld: vec![width],
            col: vec![],
            all_steps,
            next_block: false,
            chunked: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OwnBuf {
    pub width: Dims,
    pub all_steps: bool,
    /// Holds one chunk of steps (see [`chunk_input_products`]).
    pub chunked: bool,
}

#[derive(Clone, Debug)]
pub enum Item {
    /// Forward product of a group: `c = a · W_gᵀ`.
    Gemm {
        group: usize,
        a: Loc,
        c: Loc,
    },
    /// Backward product of a group: `c = a · W_g` (`a` holds the members' adjoints side by side).
    GemmT {
        group: usize,
        a: Loc,
        c: Loc,
    },
    Kernel(Kernel),
}

/// One fused elementwise loop over rows and `base` columns.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub base: Dim,
    /// Values computed inline, in evaluation order.
    pub inline: Vec<K>,
    /// Stores: value -> location.
    pub targets: Vec<(K, Loc)>,
    /// Parameter gradients accumulated from a value.
    pub accums: Vec<(K, usize)>,
}

#[derive(Clone, Debug)]
pub struct WeightGradItem {
    pub wg: WeightGrad,
    pub dy: Loc,
    pub operand: Loc,
    /// `dy` is computed in the loop: each step copies its rows of the
    /// member's columns into panels laid out for this product (the runtime's
    /// `PanelsA`), which the product reads after the loop.
    pub panels: bool,
}

/// Columns `dy.col .. dy.col + width` of a weight gradient's `dy`, kept in
/// panels for the product after the loop.
#[derive(Clone, PartialEq, Debug)]
pub struct PanelSpec {
    pub dy: Loc,
    pub width: Dim,
}

pub struct Program {
    pub own: Vec<OwnBuf>,
    pub pre: Vec<Item>,
    pub body: Vec<Item>,
    pub post: Vec<Item>,
    pub weight_grads: Vec<WeightGradItem>,
    /// Where each materialised node (and each leaf with a buffer) can be read.
    pub homes: Vec<Option<Loc>>,
    /// Packed weight buffers needed (groups of more than one member).
    pub packed_groups: Vec<usize>,
}

/// Forward or backward, with what each needs from outside.
pub enum Role<'a> {
    /// `keep`: forward nodes the backward reads (training form keeps them for all steps).
    Forward { keep: &'a BTreeSet<K> },
    /// `fwd_home`: where each forward node is found in the trace.
    Backward { fwd_home: &'a dyn Fn(K) -> Loc },
}

pub fn schedule(flow: &Flow, groups: &[Group], role: Role<'_>, options: Options) -> Program {
    let n = flow.g.node_count();
    let backward = matches!(role, Role::Backward { .. });
    let width = |k: K| flow.node(k).width;

    // 1. Section of every node. Forward: values that feed no state update
    //    (outputs only) run after the loop; hoisted products (below) before it.
    //    Backward: adjoints that do not depend on the carried state adjoint run
    //    before the loop; those that depend on a hoisted product after it.
    let mut sec = vec![Section::Body; n];
    if !options.hoist {
        // Everything stays in the loop.
    } else if backward {
        let mut seeded = vec![false; n];
        for k in flow.g.node_indices() {
            let args = flow.args(k);
            let hoisted = matches!(flow.node(k).op, KOp::MatVecT { group } if groups[group].hoisted);
            seeded[k.index()] =
                matches!(flow.leaf(k), Some(Leaf::SeedState(_))) || args.iter().any(|a| seeded[a.index()]);
            // The input gradient of a hoisted product runs in the loop, on
            // each step's adjoints while they are in cache: the kernel is as
            // fast on B rows as on T·B, and then nothing but the weight
            // gradients' panels keeps those adjoints for all steps.
            sec[k.index()] = if args.iter().any(|a| sec[a.index()] == Section::Post) {
                Section::Post
            } else if hoisted && seeded[k.index()] {
                Section::Body
            } else if !seeded[k.index()] && flow.leaf(k).is_none() {
                Section::Pre
            } else {
                Section::Body
            };
        }
    } else {
        let mut feeds = vec![false; n];
        for &(sink, k) in &flow.sinks {
            if let Sink::NewState(_) = sink {
                feeds[k.index()] = true;
            }
        }
        for k in flow.g.node_indices().rev() {
            if feeds[k.index()] {
                for a in flow.args(k) {
                    feeds[a.index()] = true;
                }
            }
        }
        for k in flow.g.node_indices() {
            if !feeds[k.index()] && flow.leaf(k).is_none() && flow.node(k).batched {
                sec[k.index()] = Section::Post;
            }
        }
        // A group's members run as one GEMM, so they share the earliest section.
        for g in 0..groups.len() {
            let members: Vec<K> = flow
                .g
                .node_indices()
                .filter(|&k| matches!(flow.node(k).op, KOp::MatVec { group, .. } if group == g))
                .collect();
            if let Some(first) = members.iter().map(|k| sec[k.index()]).min() {
                for k in members {
                    sec[k.index()] = first;
                }
            }
        }
    }

    // 2. What is materialised, and which of those must hold all steps.
    let mut mat = vec![false; n];
    let mut all = vec![false; n];
    let has_buffer = |k: K| match flow.leaf(k) {
        Some(Leaf::Const(_) | Leaf::Zero) => false,
        Some(_) => true,
        None => false,
    };
    for k in flow.g.node_indices() {
        match flow.node(k).op {
            KOp::MatVec { .. } => {
                mat[k.index()] = true;
                let a = flow.args(k)[0];
                if !has_buffer(a) {
                    mat[a.index()] = true;
                }
            }
            KOp::MatVecT { group } => {
                mat[k.index()] = true;
                for a in flow.args(k) {
                    if groups[group].weights.len() > 1 || !has_buffer(a) {
                        mat[a.index()] = true;
                    }
                }
            }
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
    if let Role::Forward { keep } = &role {
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
            if sec[a.index()] == Section::Body && !has_buffer(a) {
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

    // 3. Homes.
    let mut own: Vec<OwnBuf> = Vec::new();
    let mut homes: Vec<Option<Loc>> = vec![None; n];
    let mut extra: Vec<Vec<Loc>> = vec![Vec::new(); n];
    let mut packed_groups = Vec::new();
    // Leaves with buffers.
    for k in flow.g.node_indices() {
        let Some(leaf) = flow.leaf(k) else { continue };
        let w = width(k);
        homes[k.index()] = match (leaf, &role) {
            (Leaf::Input(i), _) => Some(Loc::whole(Buf::Xs(i), w.expect("width"), true)),
            (Leaf::StatePrev(s), _) => Some(Loc::whole(Buf::Hist(s), w.expect("width"), true)),
            (Leaf::Param(p), _) => Some(Loc::whole(Buf::Param(p), w.expect("width"), true)),
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
        let w = width(k).expect("materialised values are vectors");
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
                Sink::InputGrad(i) => roles.push(Loc::whole(Buf::DXs(i), w, true)),
                Sink::StateGrad(i) => roles.push(Loc::whole(Buf::SeedNext(i), w, false)),
                Sink::ParamGrad(_) => {}
            }
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
        if has_buffer(k) {
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

    // 4. Levels within each section.
    let mut lvl = vec![0usize; n];
    for k in flow.g.node_indices() {
        let mut l = 0;
        for a in flow.args(k) {
            if sec[a.index()] == sec[k.index()] {
                l = l.max(lvl[a.index()]);
            }
        }
        if flow.is_gemm(k) {
            l += 1;
        }
        lvl[k.index()] = l;
    }

    // 5. Items.
    let mut sections: [Vec<Item>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (si, s) in [Section::Pre, Section::Body, Section::Post].into_iter().enumerate() {
        let max = flow
            .g
            .node_indices()
            .filter(|k| sec[k.index()] == s && (mat[k.index()] || is_accum(flow, *k)))
            .map(|k| lvl[k.index()])
            .max();
        let Some(max) = max else { continue };
        for level in 0..=max {
            for k in flow.g.node_indices() {
                if sec[k.index()] != s || lvl[k.index()] != level {
                    continue;
                }
                match flow.node(k).op {
                    KOp::MatVec { group, member } => {
                        // One GEMM per group, emitted at its first member.
                        if member != 0 {
                            continue;
                        }
                        let a = flow.args(k)[0];
                        let c = match group_buf[group] {
                            Some(b) => Loc {
                                buf: Buf::Own(b),
                                ld: groups[group].rows.clone(),
                                col: vec![],
                                all_steps: own[b].all_steps,
                                next_block: false,
                                chunked: false,
                            },
                            None => homes[k.index()].clone().expect("home"),
                        };
                        sections[si].push(Item::Gemm {
                            group,
                            a: homes[a.index()].clone().expect("operand home"),
                            c,
                        });
                    }
                    KOp::MatVecT { group } => {
                        let args = flow.args(k);
                        let a = match group_buf[group] {
                            Some(b) => Loc {
                                buf: Buf::Own(b),
                                ld: groups[group].rows.clone(),
                                col: vec![],
                                all_steps: own[b].all_steps,
                                next_block: false,
                                chunked: false,
                            },
                            None => homes[args[0].index()].clone().expect("dY home"),
                        };
                        let c = homes[k.index()].clone().expect("home");
                        sections[si].push(Item::GemmT { group, a, c });
                    }
                    _ => {}
                }
            }
            // Kernels: materialised non-product values and accumulations at this level.
            let mut targets: Vec<K> = Vec::new();
            let mut accums: Vec<(K, usize)> = Vec::new();
            for k in flow.g.node_indices() {
                if sec[k.index()] != s || lvl[k.index()] != level {
                    continue;
                }
                let computed_here = mat[k.index()] && !flow.is_gemm(k) && !has_buffer(k);
                let copied_here = (flow.is_gemm(k) || has_buffer(k)) && !extra[k.index()].is_empty();
                if computed_here || copied_here {
                    targets.push(k);
                }
                for &(sink, sk) in &flow.sinks {
                    if let (Sink::ParamGrad(p), true) = (sink, sk == k) {
                        accums.push((k, p));
                    }
                }
            }
            let mut by_sym: Vec<SymKernel> = Vec::new();
            for k in targets {
                let sym = width(k).and_then(|w| w.sym);
                match by_sym.iter_mut().find(|e| e.0 == sym) {
                    Some(e) => e.1.push(k),
                    None => by_sym.push((sym, vec![k], vec![])),
                }
            }
            for (k, p) in accums {
                let sym = width(k).and_then(|w| w.sym);
                match by_sym.iter_mut().find(|e| e.0 == sym) {
                    Some(e) => e.2.push((k, p)),
                    None => by_sym.push((sym, vec![], vec![(k, p)])),
                }
            }
            for (_, ts, acc) in by_sym {
                if !options.fuse {
                    // One loop per value, in evaluation order.
                    for &t in &ts {
                        let a: Vec<(K, usize)> = acc.iter().copied().filter(|x| x.0 == t).collect();
                        sections[si].push(Item::Kernel(build_kernel(
                            flow,
                            &[t],
                            &a,
                            &homes,
                            &extra,
                            &mat,
                            &has_buffer,
                        )));
                    }
                    let rest: Vec<(K, usize)> = acc.iter().copied().filter(|x| !ts.contains(&x.0)).collect();
                    if !rest.is_empty() {
                        sections[si].push(Item::Kernel(build_kernel(
                            flow,
                            &[],
                            &rest,
                            &homes,
                            &extra,
                            &mat,
                            &has_buffer,
                        )));
                    }
                    continue;
                }
                let kernel = build_kernel(flow, &ts, &acc, &homes, &extra, &mat, &has_buffer);
                sections[si].push(Item::Kernel(kernel));
            }
        }
    }

    // 6. Weight gradients, after the loop.
    let mut weight_grads = Vec::new();
    for (wg, &panels) in flow.weight_grads.iter().zip(&wg_panels) {
        weight_grads.push(WeightGradItem {
            wg: *wg,
            dy: homes[wg.dy.index()].clone().expect("dy home"),
            operand: homes[wg.operand.index()].clone().expect("operand home"),
            panels,
        });
    }
    let [pre, body, post] = sections;
    Program {
        own,
        pre,
        body,
        post,
        weight_grads,
        homes,
        packed_groups,
    }
}

/// Targets and accumulations of one kernel, keyed by their width's symbol.
type SymKernel = (Option<usize>, Vec<K>, Vec<(K, usize)>);

fn is_accum(flow: &Flow, k: K) -> bool {
    flow.sinks
        .iter()
        .any(|&(s, sk)| sk == k && matches!(s, Sink::ParamGrad(_)))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn build_kernel(
    flow: &Flow,
    targets: &[K],
    accums: &[(K, usize)],
    homes: &[Option<Loc>],
    extra: &[Vec<Loc>],
    mat: &[bool],
    has_buffer: &dyn Fn(K) -> bool,
) -> Kernel {
    // Values computed here: everything the targets need that is not already stored.
    let target_set: BTreeSet<K> = targets.iter().copied().collect();
    let mut inline: BTreeSet<K> = BTreeSet::new();
    let mut stack: Vec<K> = targets.iter().copied().chain(accums.iter().map(|a| a.0)).collect();
    let mut seen: BTreeSet<K> = BTreeSet::new();
    let mut coefs: Vec<usize> = Vec::new();
    let mut sym = None;
    while let Some(k) = stack.pop() {
        if !seen.insert(k) {
            continue;
        }
        if let Some(w) = flow.node(k).width {
            coefs.push(w.coef);
            sym = w.sym;
        }
        let stored = flow.is_gemm(k) || has_buffer(k) || (mat[k.index()] && !target_set.contains(&k));
        if stored {
            continue;
        }
        inline.insert(k);
        stack.extend(flow.args(k));
    }
    let base = coefs.into_iter().fold(0, gcd).max(1);
    let mut stores = Vec::new();
    for &k in targets {
        if let Some(h) = &homes[k.index()]
            && inline.contains(&k)
        {
            stores.push((k, h.clone()));
        }
        for l in &extra[k.index()] {
            stores.push((k, l.clone()));
        }
    }
    Kernel {
        base: Dim { coef: base, sym },
        inline: inline.into_iter().collect(),
        targets: stores,
        accums: accums.to_vec(),
    }
}

/// The three programs of a cell and the trace layout that links them.
pub struct Plans {
    /// Forward without keeping anything (inference, streaming).
    pub infer: Program,
    /// Forward that keeps what the backward reads.
    pub train: Program,
    pub bwd: Program,
    /// Buffers of `train` handed to the trace, in `Trace::saved` order
    /// (after the input and the state histories).
    pub kept: Vec<usize>,
    /// The input is read only through products before the loop (see
    /// [`input_only_in_products`]): a one-hot input is looked up in the
    /// weights, and its weight gradient scattered, instead of multiplied.
    pub one_hot_lookup: bool,
}

/// Moves each product of the input that runs before the loop into a buffer
/// of all steps (the input projection `x W^T`) into the loop, where it runs
/// every `chunk` steps for the next `chunk` steps into a buffer of one
/// chunk (`chunk` is chosen at run time from the batch, about 128 rows).
///
/// All at once, the projection writes a buffer of T·B rows that has left
/// the caches by the time each step reads its block (8 MB written to memory
/// and read back for LSTM medium); a chunk is read while still in L2, and
/// the product is as fast on 128 rows as on T·B. Only when the loop body
/// alone reads the buffer: a kept one (the backward pass reads it) stays
/// whole.
pub fn chunk_input_products(flow: &Flow, prog: &mut Program, kept: &[usize]) {
    let reads_outside_body = |prog: &Program, b: usize| {
        prog.pre.iter().chain(&prog.post).any(|it| match it {
            Item::Gemm { a, c, .. } | Item::GemmT { a, c, .. } => a.buf == Buf::Own(b) || c.buf == Buf::Own(b),
            Item::Kernel(k) => {
                let nodes = k
                    .inline
                    .iter()
                    .chain(k.targets.iter().map(|t| &t.0))
                    .chain(k.accums.iter().map(|a| &a.0));
                k.targets.iter().any(|(_, l)| l.buf == Buf::Own(b))
                    || nodes
                        .flat_map(|&n| flow.args(n).into_iter().chain([n]))
                        .any(|n| matches!(&prog.homes[n.index()], Some(l) if l.buf == Buf::Own(b)))
            }
        })
    };
    let mut i = 0;
    while i < prog.pre.len() {
        let target = match &prog.pre[i] {
            Item::Gemm { a, c, .. } if matches!(a.buf, Buf::Xs(_)) && c.all_steps => match c.buf {
                Buf::Own(b) if !kept.contains(&b) => Some(b),
                _ => None,
            },
            _ => None,
        };
        let Some(b) = target else {
            i += 1;
            continue;
        };
        let item = prog.pre.remove(i);
        if reads_outside_body(prog, b) {
            prog.pre.insert(i, item);
            i += 1;
            continue;
        }
        prog.own[b].chunked = true;
        let mark = |l: &mut Loc| {
            if l.buf == Buf::Own(b) {
                l.chunked = true;
            }
        };
        for h in prog.homes.iter_mut().flatten() {
            mark(h);
        }
        let mut item = item;
        for it in std::iter::once(&mut item).chain(prog.body.iter_mut()) {
            match it {
                Item::Gemm { a, c, .. } | Item::GemmT { a, c, .. } => {
                    mark(a);
                    mark(c);
                }
                Item::Kernel(k) => k.targets.iter_mut().for_each(|(_, l)| mark(l)),
            }
        }
        // First in the body: before anything of the step reads the chunk.
        prog.body.insert(0, item);
    }
}

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

/// Forward values the backward reads (`Leaf::Fwd`): the training forward keeps them.
pub fn kept_forward_values(bwd: &Flow) -> BTreeSet<K> {
    bwd.g
        .node_indices()
        .filter_map(|k| match bwd.leaf(k) {
            Some(Leaf::Fwd(f)) => Some(f),
            _ => None,
        })
        .collect()
}

/// Schedules the forward twice (inference and training) and the backward,
/// linking the backward's reads of forward values to the training trace.
pub fn plan_cell(fwd: &Flow, bwd: &Flow, groups: &[Group], options: Options) -> Plans {
    let keep = kept_forward_values(bwd);
    let empty = BTreeSet::new();
    let infer = schedule(fwd, groups, Role::Forward { keep: &empty }, options);
    let train = schedule(fwd, groups, Role::Forward { keep: &keep }, options);
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
    let bwd_prog = schedule(bwd, groups, Role::Backward { fwd_home: &fwd_home }, options);
    let one_hot_lookup = input_only_in_products(fwd, bwd, groups, [&infer, &train, &bwd_prog]);
    let (mut infer, mut train) = (infer, train);
    if options.chunk {
        chunk_input_products(fwd, &mut infer, &[]);
        chunk_input_products(fwd, &mut train, &kept);
    }
    Plans {
        infer,
        train,
        bwd: bwd_prog,
        kept,
        one_hot_lookup,
    }
}

impl Program {
    /// The panels the loop fills for weight gradients: one per distinct
    /// `dy` location and width (members that read the same columns share one).
    pub fn weight_grad_panels(&self, groups: &[Group]) -> Vec<PanelSpec> {
        let mut out: Vec<PanelSpec> = Vec::new();
        for w in self.weight_grads.iter().filter(|w| w.panels) {
            let spec = PanelSpec {
                dy: w.dy.clone(),
                width: groups[w.wg.group].rows[w.wg.member],
            };
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
        out
    }
}
