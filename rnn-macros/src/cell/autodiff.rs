//! Reverse-mode differentiation of one step: forward flow -> backward flow.
//!
//! A reverse walk over the forward flow with one rule per operation. Each
//! value's adjoint is the sum of what its users send it; `split` sends its
//! adjoint into one block of a `concat`; a product group sends one stacked
//! `matvecT` to its operand and records a weight gradient per member. The
//! backward flow reads forward values through `Leaf::Fwd` (saved by the
//! training forward) and recomputes parameter-only values. Adjoints of
//! unbatched values stay per batch row and are summed only into parameter
//! gradients, which is exact because every rule is linear in the adjoint.
//!
//! In: `Stacked`; out: `Differentiated`, the forward and the backward flow.
//! Infallible: every operation of a forward flow has a rule.

use crate::cell::flow::{Flow, K, KOp, Leaf, Sink, WeightGrad, is_temporary};
use crate::cell::ir::{Dim, Func};
use crate::cell::stack::Stacked;
use std::collections::BTreeSet;

pub struct Differentiated {
    pub fwd: Stacked,
    pub bwd: Flow,
}

struct Ad<'a> {
    f: &'a Flow,
    /// The forward values' names in the emitted code.
    fwd_names: Vec<String>,
    /// Forward values computed again rather than read from the trace.
    remat: &'a BTreeSet<K>,
    b: Flow,
    fwd_memo: Vec<Option<K>>,
}

impl Ad<'_> {
    /// The backward-flow node that reads forward value `n` at the same step.
    fn fwd(&mut self, n: K) -> K {
        if let Some(k) = self.fwd_memo[n.index()] {
            return k;
        }
        let k = self.fwd_node(n);
        if !is_temporary(&self.fwd_names[n.index()]) {
            self.b.name(k, self.fwd_names[n.index()].clone());
        }
        k
    }

    fn fwd_node(&mut self, n: K) -> K {
        let node = *self.f.node(n);
        let k = match node.op {
            KOp::Leaf(l @ (Leaf::Input(_) | Leaf::StatePrev(_) | Leaf::Param(_) | Leaf::Const(_) | Leaf::Zero)) => {
                self.b.add(KOp::Leaf(l), node.width, node.batched, &[])
            }
            op if !node.batched || self.remat.contains(&n) => {
                let args: Vec<K> = self.f.args(n).into_iter().map(|a| self.fwd(a)).collect();
                self.b.add(op, node.width, node.batched, &args)
            }
            _ => self.b.add(KOp::Leaf(Leaf::Fwd(n)), node.width, true, &[]),
        };
        self.fwd_memo[n.index()] = Some(k);
        k
    }

    fn op(&mut self, op: KOp, like: K, args: &[K]) -> K {
        let w = self.b.node(like).width;
        self.b.add(op, w, true, args)
    }

    fn konst(&mut self, c: f64) -> K {
        self.b.add(KOp::Leaf(Leaf::Const(c)), None, false, &[])
    }

    fn sum(&mut self, parts: &[K]) -> Option<K> {
        let mut it = parts.iter().copied();
        let first = it.next()?;
        Some(it.fold(first, |acc, p| self.op(KOp::Add, acc, &[acc, p])))
    }
}

pub fn differentiate(fwd: Stacked) -> Differentiated {
    // Once to see what the backward reads of the forward pass, then again
    // recomputing what is cheap to recompute from the rest of that.
    let first = backward(&fwd, &BTreeSet::new());
    let remat = recomputable(&fwd.flow, &first.fwd_reads());
    let bwd = if remat.is_empty() {
        first
    } else {
        backward(&fwd, &remat)
    };
    Differentiated { fwd, bwd }
}

/// Forward values the backward computes again instead of reading them
/// from the trace: sums, differences, products, quotients, negations,
/// extrema and splits of values it reads anyway (`kept`), of leaves, or of
/// other such values (not a product's operand). A layer normalisation's
/// normalised value is then recomputed from the centred one and the row's
/// `1 / sqrt(var + eps)` instead of being saved for every step beside them.
fn recomputable(f: &Flow, kept: &BTreeSet<K>) -> BTreeSet<K> {
    let mut remat = BTreeSet::new();
    // A product's operand stays saved: its weight gradient reads it for all
    // steps at once after the loop.
    let operands: BTreeSet<K> =
        f.g.node_indices()
            .filter(|&n| matches!(f.node(n).op, KOp::MatVec { .. }))
            .map(|n| f.args(n)[0])
            .collect();
    // Index order is topological: operands are decided first.
    for n in f.g.node_indices() {
        let cheap = matches!(
            f.node(n).op,
            KOp::Add | KOp::Sub | KOp::Mul | KOp::Div | KOp::Neg | KOp::Max | KOp::Min | KOp::Split { .. }
        );
        let available = |a: &K| kept.contains(a) || remat.contains(a) || f.leaf(*a).is_some();
        if cheap && f.node(n).batched && !operands.contains(&n) && f.args(n).iter().all(available) {
            remat.insert(n);
        }
    }
    // Only what the backward reads, and what that is computed from, matters.
    let mut out = BTreeSet::new();
    let mut stack: Vec<K> = kept.iter().copied().filter(|k| remat.contains(k)).collect();
    while let Some(n) = stack.pop() {
        if remat.contains(&n) && out.insert(n) {
            stack.extend(f.args(n));
        }
    }
    out
}

/// The backward flow of `fwd`, recomputing the forward values in `remat`.
fn backward(fwd: &Stacked, remat: &BTreeSet<K>) -> Flow {
    let f = &fwd.flow;
    let n_nodes = f.g.node_count();
    let mut b = Flow::new();
    b.scalar_params.clone_from(&f.scalar_params);
    b.inputs.clone_from(&f.inputs);
    let mut ad = Ad {
        f,
        fwd_names: f.value_names(),
        remat,
        b,
        fwd_memo: vec![None; n_nodes],
    };
    let mut adj: Vec<Vec<K>> = vec![Vec::new(); n_nodes];
    let mut split_parts: Vec<Vec<Vec<K>>> = vec![Vec::new(); n_nodes];
    // Member adjoints of each product group, and each group's operand.
    let mut group_dy: Vec<Vec<Option<K>>> = fwd.groups.iter().map(|g| vec![None; g.weights.len()]).collect();
    let mut group_operand: Vec<Option<K>> = vec![None; fwd.groups.len()];
    for n in f.g.node_indices() {
        if let KOp::MatVec { group, .. } = f.node(n).op {
            group_operand[group] = Some(f.args(n)[0]);
        }
    }
    let mut seed_names: Vec<(K, String)> = Vec::new();
    for &(sink, n) in &f.sinks {
        let w = f.node(n).width;
        let seed = match sink {
            Sink::NewState(k) => Leaf::SeedState(k),
            Sink::Output(k) => Leaf::SeedOut(k),
            _ => unreachable!("forward sinks"),
        };
        let mut s = ad.b.add(KOp::Leaf(seed), w, true, &[]);
        // The adjoints a step is given, where no adjoint's name is theirs:
        // `d_out`, the gradient of its output, and `d_c_next`, state `c`'s
        // adjoint from the next step.
        match seed {
            Leaf::SeedOut(_) => seed_names.push((s, "d_out".to_string())),
            Leaf::SeedState(k) => {
                let prev =
                    f.g.node_indices()
                        .find(|&p| f.node(p).op == KOp::Leaf(Leaf::StatePrev(k)));
                if let Some(p) = prev.filter(|p| !is_temporary(&ad.fwd_names[p.index()])) {
                    seed_names.push((s, format!("d_{}_next", ad.fwd_names[p.index()])));
                }
                s = ad.b.add(KOp::Copy, w, true, &[s]);
            }
            _ => {}
        }
        adj[n.index()].push(s);
    }
    for n in f.g.node_indices().rev() {
        // Product groups whose operand is `n` send their stacked adjoint first.
        for (gi, op) in group_operand.iter().enumerate() {
            if *op != Some(n) || group_dy[gi].iter().all(Option::is_none) {
                continue;
            }
            let members: Vec<K> = group_dy[gi]
                .clone()
                .into_iter()
                .enumerate()
                .map(|(m, d)| {
                    let w = Some(fwd.groups[gi].rows[m]);
                    d.unwrap_or_else(|| ad.b.add(KOp::Leaf(Leaf::Zero), w, true, &[]))
                })
                .collect();
            let operand = ad.fwd(n);
            for (member, d) in group_dy[gi].iter().enumerate() {
                if let Some(dy) = d {
                    ad.b.weight_grads.push(WeightGrad {
                        group: gi,
                        member,
                        dy: *dy,
                        operand,
                    });
                }
            }
            let t = ad.b.add(KOp::MatVecT { group: gi }, f.node(n).width, true, &members);
            adj[n.index()].push(t);
        }
        if !split_parts[n.index()].is_empty() {
            let parts = std::mem::take(&mut split_parts[n.index()]);
            let count = parts.len();
            let mut blocks = Vec::new();
            let block_width = f.node(n).width.map(|w| Dim {
                coef: w.coef / count,
                sym: w.sym,
            });
            for p in parts {
                let b = match ad.sum(&p) {
                    Some(b) => b,
                    None => ad.b.add(KOp::Leaf(Leaf::Zero), block_width, true, &[]),
                };
                blocks.push(b);
            }
            let c = ad.b.add(KOp::Concat { parts: count }, f.node(n).width, true, &blocks);
            adj[n.index()].push(c);
        }
        let node = *f.node(n);
        let contributions = std::mem::take(&mut adj[n.index()]);
        let d = ad.sum(&contributions);
        if let Some(d) = d
            && !is_temporary(&ad.fwd_names[n.index()])
        {
            let name = format!("d_{}", ad.fwd_names[n.index()]);
            ad.b.name(d, name);
        }
        let args = f.args(n);
        match node.op {
            KOp::Leaf(Leaf::Input(k)) => {
                let d = d.unwrap_or_else(|| ad.b.add(KOp::Leaf(Leaf::Zero), node.width, true, &[]));
                ad.b.sinks.push((Sink::InputGrad(k), d));
            }
            KOp::Leaf(Leaf::StatePrev(k)) => {
                let d = d.unwrap_or_else(|| ad.b.add(KOp::Leaf(Leaf::Zero), node.width, true, &[]));
                ad.b.sinks.push((Sink::StateGrad(k), d));
            }
            _ => {}
        }
        let Some(d) = d else { continue };
        match node.op {
            KOp::Leaf(Leaf::Param(k)) => ad.b.sinks.push((Sink::ParamGrad(k), d)),
            KOp::Leaf(_) => {}
            // y = a + b: da = dy, db = dy
            KOp::Add => {
                adj[args[0].index()].push(d);
                adj[args[1].index()].push(d);
            }
            // y = a - b: da = dy, db = -dy
            KOp::Sub => {
                adj[args[0].index()].push(d);
                let nd = ad.op(KOp::Neg, d, &[d]);
                adj[args[1].index()].push(nd);
            }
            // y = a * b: da = dy * b, db = dy * a
            KOp::Mul => {
                let (a, b) = (ad.fwd(args[0]), ad.fwd(args[1]));
                let da = ad.op(KOp::Mul, d, &[d, b]);
                let db = ad.op(KOp::Mul, d, &[d, a]);
                adj[args[0].index()].push(da);
                adj[args[1].index()].push(db);
            }
            // y = a / b: da = dy / b, db = -da * y (PyTorch: -dy * a / b²)
            KOp::Div => {
                let (b, y) = (ad.fwd(args[1]), ad.fwd(n));
                let da = ad.op(KOp::Div, d, &[d, b]);
                let day = ad.op(KOp::Mul, d, &[da, y]);
                let db = ad.op(KOp::Neg, d, &[day]);
                adj[args[0].index()].push(da);
                adj[args[1].index()].push(db);
            }
            // y = max(a, b): da = dy * [a > b], db = dy * [b > a], a tie halved
            // y = min(a, b): the same with a and b swapped
            KOp::Max | KOp::Min => {
                let (a, b) = (ad.fwd(args[0]), ad.fwd(args[1]));
                let (hi, lo) = if node.op == KOp::Max { (a, b) } else { (b, a) };
                let a_minus_b = ad.op(KOp::Sub, d, &[hi, lo]);
                let b_minus_a = ad.op(KOp::Sub, d, &[lo, hi]);
                let sa = ad.op(KOp::Func(Func::TieStep), d, &[a_minus_b]);
                let sb = ad.op(KOp::Func(Func::TieStep), d, &[b_minus_a]);
                let da = ad.op(KOp::Mul, d, &[d, sa]);
                let db = ad.op(KOp::Mul, d, &[d, sb]);
                adj[args[0].index()].push(da);
                adj[args[1].index()].push(db);
            }
            // y = sqrt(x): dx = dy / (2 y)
            KOp::Func(Func::Sqrt) => {
                let (two, y) = (ad.konst(2.0), ad.fwd(n));
                let twice = ad.op(KOp::Mul, y, &[two, y]);
                let dx = ad.op(KOp::Div, d, &[d, twice]);
                adj[args[0].index()].push(dx);
            }
            // y = log(x): dx = dy / x
            KOp::Func(Func::Log) => {
                let x = ad.fwd(args[0]);
                let dx = ad.op(KOp::Div, d, &[d, x]);
                adj[args[0].index()].push(dx);
            }
            // y_j = Σ_i v_i in every column j: dv_i = Σ_j dy_j, the same
            // reduction of the adjoint (and the mean's: the mean of dy)
            KOp::Sum { mean } => {
                let dv = ad.op(KOp::Sum { mean }, d, &[d]);
                adj[args[0].index()].push(dv);
            }
            // y = -a: da = -dy
            KOp::Neg => {
                let nd = ad.op(KOp::Neg, d, &[d]);
                adj[args[0].index()].push(nd);
            }
            KOp::Func(func) => {
                let y = ad.fwd(n);
                let local = match func {
                    // y = tanh(x): dx = dy * (1 - y*y)
                    Func::Tanh => {
                        let one = ad.konst(1.0);
                        let yy = ad.op(KOp::Mul, y, &[y, y]);
                        ad.op(KOp::Sub, y, &[one, yy])
                    }
                    // y = sigmoid(x): dx = dy * y * (1 - y)
                    Func::Sigmoid => {
                        let one = ad.konst(1.0);
                        let omy = ad.op(KOp::Sub, y, &[one, y]);
                        ad.op(KOp::Mul, y, &[y, omy])
                    }
                    // y = relu(x): dx = dy * (y > 0)
                    Func::Relu => ad.op(KOp::Func(Func::Step), y, &[y]),
                    // y = hard_sigmoid(x): dx = dy * (1/6 on (-3, 3))
                    Func::HardSigmoid => {
                        let x = ad.fwd(args[0]);
                        ad.op(KOp::Func(Func::HardSigmoidGrad), x, &[x])
                    }
                    // y = exp(x): dx = dy * y
                    Func::Exp => y,
                    // y = softplus(x): dx = dy * sigmoid(x) (1 past the threshold)
                    Func::Softplus => {
                        let x = ad.fwd(args[0]);
                        ad.op(KOp::Func(Func::SoftplusGrad), x, &[x])
                    }
                    // y = |x|: dx = dy * sign(x)
                    Func::Abs => {
                        let x = ad.fwd(args[0]);
                        ad.op(KOp::Func(Func::Sign), x, &[x])
                    }
                    Func::Sqrt | Func::Log => unreachable!("rules of their own above"),
                    // Only in gradients, never differentiated again.
                    Func::Step | Func::HardSigmoidGrad | Func::SoftplusGrad | Func::Sign | Func::TieStep => continue,
                };
                let dx = ad.op(KOp::Mul, d, &[d, local]);
                adj[args[0].index()].push(dx);
            }
            // y = block `index` of a: da gets dy in that block
            KOp::Split { index, parts } => {
                let slots = &mut split_parts[args[0].index()];
                if slots.is_empty() {
                    *slots = vec![Vec::new(); parts];
                }
                slots[index].push(d);
            }
            KOp::MatVec { group, member } => group_dy[group][member] = Some(d),
            KOp::Concat { .. } | KOp::MatVecT { .. } | KOp::Copy => unreachable!("not in a forward flow"),
        }
    }
    for (s, name) in seed_names {
        ad.b.name(s, name);
    }
    ad.b
}
