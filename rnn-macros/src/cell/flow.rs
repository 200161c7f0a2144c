//! The kernel-level IR shared by the forward and the backward program.
//!
//! A [`Flow`] is a petgraph DAG of per-step values: leaves (inputs, states at
//! t-1, parameters, constants, saved forward values, incoming adjoints),
//! elementwise operations, and matrix products over stacked groups. Sinks
//! say which values leave the step (new states, outputs, gradients). The
//! scheduler decides what is materialised, where and when; codegen only
//! prints its decisions.

use crate::cell::ir::Dim;
use crate::cell::ir::Func;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::BTreeSet;

pub type K = NodeIndex<u32>;

/// A value available without computing anything in the step.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Leaf {
    Input(usize),
    /// State `k` at t-1.
    StatePrev(usize),
    /// A vector parameter (unbatched).
    Param(usize),
    Const(f64),
    Zero,
    /// A forward value (a node of the forward flow) at the same step.
    Fwd(K),
    /// Backward: the adjoint of state `k`'s new value, carried from t+1.
    SeedState(usize),
    /// Backward: the gradient of output `k` at this step.
    SeedOut(usize),
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum KOp {
    Leaf(Leaf),
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Neg,
    /// The operand, unchanged (gives a carried seed a node of its own).
    Copy,
    Func(Func),
    /// A row's sum (or mean) in every column: computed by the kernel that
    /// computes its operand, read by later kernels.
    Sum {
        mean: bool,
    },
    Split {
        index: usize,
        parts: usize,
    },
    /// The adjoint of a split value: operand `k` is block `k`.
    Concat {
        parts: usize,
    },
    /// Member `member` of product group `group`: `v · wᵀ`, operand `[v]`.
    MatVec {
        group: usize,
        member: usize,
    },
    /// The adjoint of a group's operand: `Σ_k dY_k · W_k`, operands `[dY_0, ..]`.
    MatVecT {
        group: usize,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct KNode {
    pub op: KOp,
    /// `None` for scalars (constants).
    pub width: Option<Dim>,
    pub batched: bool,
}

/// Products that share their vector operand, stacked into one GEMM.
#[derive(Clone, Debug)]
pub struct Group {
    /// The matrix parameter of each member.
    pub weights: Vec<usize>,
    /// Rows of each member's matrix.
    pub rows: Vec<Dim>,
    /// Columns (the operand's width).
    pub cols: Dim,
    /// True when the operand does not depend on the state: the product runs
    /// once for all steps outside the time loop.
    pub hoisted: bool,
}

/// Whether `name` is one [`Flow::value_names`] made up (`t` and a number).
pub fn is_temporary(name: &str) -> bool {
    name.len() > 1 && name.starts_with('t') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Values that leave a step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sink {
    NewState(usize),
    Output(usize),
    InputGrad(usize),
    /// Backward: adjoint of state `k` at t-1 (carried to the previous step).
    StateGrad(usize),
    /// Backward: accumulated over batch and time into the parameter's gradient.
    ParamGrad(usize),
}

/// `dW_member += Σ_t dYᵀ · v`, done after the time loop as one product.
#[derive(Clone, Copy, Debug)]
pub struct WeightGrad {
    pub group: usize,
    pub member: usize,
    pub dy: K,
    pub operand: K,
}

pub struct Flow {
    pub g: DiGraph<KNode, u8>,
    pub sinks: Vec<(Sink, K)>,
    pub weight_grads: Vec<WeightGrad>,
    /// The user's name for each value, where it has one (`gates`, `c_new`,
    /// `d_gates`), by node index.
    pub names: Vec<Option<String>>,
    /// The equation each value implements, as the user wrote it, by node
    /// index (forward values that a line of the cell defines).
    pub equations: Vec<Option<String>>,
    /// The parameters declared as scalars (`param alpha: [];`).
    pub scalar_params: std::collections::BTreeSet<usize>,
    /// The width of each input, in declaration order: the inputs arrive
    /// side by side, input `k` in the columns after those before it.
    pub inputs: Vec<Dim>,
}

impl Flow {
    pub fn new() -> Self {
        Flow {
            g: DiGraph::new(),
            sinks: vec![],
            weight_grads: vec![],
            names: vec![],
            equations: vec![],
            scalar_params: std::collections::BTreeSet::new(),
            inputs: vec![],
        }
    }

    /// Names `k` `name`, unless it has a name already.
    pub fn name(&mut self, k: K, name: impl Into<String>) {
        self.names[k.index()].get_or_insert_with(|| name.into());
    }

    /// The identifier each value has in the emitted code: its name, one
    /// made from its function and its operand's name (`sigmoid_f`,
    /// `mean_wx`), or `t` and its number; each unique, also with the
    /// `_0`, `_1`, .. of its sub-blocks.
    pub fn value_names(&self) -> Vec<String> {
        self.value_names_taken().0
    }

    /// [`Flow::value_names`], and every identifier they take (each name and
    /// its sub-blocks' `_0`, `_1`, ..), for names made later to avoid.
    pub fn value_names_taken(&self) -> (Vec<String>, std::collections::BTreeSet<String>) {
        let mut taken: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut out: Vec<String> = Vec::with_capacity(self.g.node_count());
        for n in self.g.node_indices() {
            let derived = || {
                let arg = self.args(n).first().map(|a| out[a.index()].clone());
                match (self.g[n].op, arg) {
                    (KOp::Func(f), Some(a)) if !is_temporary(&a) => Some(format!("{}_{a}", f.name())),
                    (KOp::Sum { mean }, Some(a)) if !is_temporary(&a) => {
                        Some(format!("{}_{a}", if mean { "mean" } else { "sum" }))
                    }
                    _ => None,
                }
            };
            let base = match self.names[n.index()].clone().or_else(derived) {
                // Not `__`, the emitted code's own prefix, and not a
                // capital, which a unit struct or constant in the user's
                // module would take as its pattern.
                Some(name) if name.starts_with("__") || name.starts_with(|c: char| c.is_uppercase()) => {
                    format!("v_{name}")
                }
                Some(name) => name,
                None => format!("t{}", n.index()),
            };
            let parts = self.g[n].width.map_or(1, |w| w.coef);
            let all = |name: &str| -> Vec<String> {
                std::iter::once(name.to_string())
                    .chain((0..parts).map(|s| format!("{name}_{s}")))
                    .collect()
            };
            let mut name = base.clone();
            let mut k = 2;
            while all(&name).iter().any(|x| taken.contains(x)) {
                name = format!("{base}{k}");
                k += 1;
            }
            taken.extend(all(&name));
            out.push(name);
        }
        (out, taken)
    }

    pub fn add(&mut self, op: KOp, width: Option<Dim>, batched: bool, args: &[K]) -> K {
        self.names.push(None);
        self.equations.push(None);
        let id = self.g.add_node(KNode { op, width, batched });
        for (pos, a) in args.iter().enumerate() {
            self.g.add_edge(*a, id, pos as u8);
        }
        id
    }

    pub fn args(&self, n: K) -> Vec<K> {
        let mut v: Vec<(u8, K)> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .map(|e| (*e.weight(), e.source()))
            .collect();
        v.sort_by_key(|p| p.0);
        v.into_iter().map(|p| p.1).collect()
    }

    pub fn node(&self, n: K) -> &KNode {
        &self.g[n]
    }

    /// Which values hold the same number in every column of a row:
    /// reductions, numbers, and what is computed from those alone (not a
    /// concatenation, whose blocks may differ); a `Leaf::Fwd` is what its
    /// forward value is in `fwd` (the forward flow's own result; empty for
    /// the forward flow itself).
    pub fn row_constants(&self, fwd: &[bool]) -> Vec<bool> {
        let mut rc = vec![false; self.g.node_count()];
        // Nodes are created operands first, so index order is topological.
        for n in self.g.node_indices() {
            rc[n.index()] = match self.g[n].op {
                KOp::Leaf(Leaf::Const(_) | Leaf::Zero) | KOp::Sum { .. } => true,
                KOp::Leaf(Leaf::Fwd(f)) => fwd.get(f.index()).copied().unwrap_or(false),
                KOp::Leaf(_) | KOp::MatVec { .. } | KOp::MatVecT { .. } | KOp::Concat { .. } => false,
                _ => self.args(n).iter().all(|a| rc[a.index()]),
            };
        }
        rc
    }

    /// Whether `n` is a reduction over its row ([`KOp::Sum`]).
    pub fn is_reduction(&self, n: K) -> bool {
        matches!(self.g[n].op, KOp::Sum { .. })
    }

    pub fn is_gemm(&self, n: K) -> bool {
        matches!(self.g[n].op, KOp::MatVec { .. } | KOp::MatVecT { .. })
    }

    /// Whether `n` is a leaf with a buffer of its own (not a constant or zero).
    pub fn has_buffer(&self, n: K) -> bool {
        match self.leaf(n) {
            Some(Leaf::Const(_) | Leaf::Zero) => false,
            Some(_) => true,
            None => false,
        }
    }

    /// Forward values this (backward) flow reads through `Leaf::Fwd`: the
    /// training forward keeps them.
    pub fn fwd_reads(&self) -> BTreeSet<K> {
        self.g
            .node_indices()
            .filter_map(|k| match self.leaf(k) {
                Some(Leaf::Fwd(f)) => Some(f),
                _ => None,
            })
            .collect()
    }

    pub fn leaf(&self, n: K) -> Option<Leaf> {
        match self.g[n].op {
            KOp::Leaf(l) => Some(l),
            _ => None,
        }
    }
}
