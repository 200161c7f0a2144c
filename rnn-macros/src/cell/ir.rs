//! The types the passes share: the cell's declarations, its step graph
//! and symbolic dimensions.
//!
//! The step graph has one node per operation of one time step (petgraph).
//! Edges carry data from operand to user; the edge weight is the operand
//! position. Nodes are created in evaluation order, so node index order is a
//! topological order. `State(k)` nodes are the state at t-1; the new value
//! of each state is the node in `updates[k]`, and the recurrence edge from
//! that node to `State(k)` at t+1 exists only in the unrolled graph
//! (`time.rs`). `resolve` builds it; `shape` checks it; nothing after them
//! changes it. This file imports no other pass.

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use proc_macro2::Span;
use std::fmt;
use syn::Ident;

pub type Id = NodeIndex<u32>;

/// Elementwise functions the language knows. Those after `Abs` only
/// appear in gradients.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Func {
    Sigmoid,
    Tanh,
    Relu,
    HardSigmoid,
    Exp,
    Sqrt,
    /// The natural logarithm.
    Log,
    /// PyTorch's `Softplus` (beta 1, threshold 20).
    Softplus,
    Abs,
    /// `x > 0 ? 1 : 0` (PyTorch's relu derivative, 0 at 0).
    Step,
    /// Derivative of `HardSigmoid` at its input.
    HardSigmoidGrad,
    /// Derivative of `Softplus` at its input.
    SoftplusGrad,
    /// -1, 0 or 1: the derivative of `Abs`.
    Sign,
    /// 1 above 0, 0 below, 1/2 at 0: the derivative of `max(a, b)` in `a`,
    /// of `a - b`.
    TieStep,
}

impl Func {
    /// The functions a user may call, by name.
    pub const USER: &'static [(&'static str, Func)] = &[
        ("sigmoid", Func::Sigmoid),
        ("tanh", Func::Tanh),
        ("relu", Func::Relu),
        ("hard_sigmoid", Func::HardSigmoid),
        ("exp", Func::Exp),
        ("sqrt", Func::Sqrt),
        ("log", Func::Log),
        ("softplus", Func::Softplus),
        ("abs", Func::Abs),
    ];

    /// The reductions over a vector's width a user may call, by name: the
    /// result is the row's sum or mean, broadcast to the vector's width.
    pub const USER_REDUCE: &'static [(&'static str, Op)] =
        &[("sum", Op::Sum { mean: false }), ("mean", Op::Sum { mean: true })];

    /// The functions of two arguments a user may call, by name.
    pub const USER_BINARY: &'static [(&'static str, Op)] = &[("max", Op::Max), ("min", Op::Min)];

    pub fn name(self) -> &'static str {
        match self {
            Func::Sigmoid => "sigmoid",
            Func::Tanh => "tanh",
            Func::Relu => "relu",
            Func::HardSigmoid => "hard_sigmoid",
            Func::Exp => "exp",
            Func::Sqrt => "sqrt",
            Func::Log => "log",
            Func::Softplus => "softplus",
            Func::Abs => "abs",
            Func::Step => "step",
            Func::HardSigmoidGrad => "hard_sigmoid_grad",
            Func::SoftplusGrad => "softplus_grad",
            Func::Sign => "sign",
            Func::TieStep => "tie_step",
        }
    }
}

/// One operation of the step.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Op {
    /// Input `k` at step t.
    Input(usize),
    /// State `k` at step t-1.
    State(usize),
    /// Parameter `k` (a vector, or a matrix used only as `w @ v`).
    Param(usize),
    Const(f64),
    /// `w @ v` batched: operands `[Param(w), v]`, result `v · wᵀ`.
    MatVec,
    Add,
    Sub,
    Mul,
    /// `a / b`, elementwise.
    Div,
    /// `max(a, b)`, elementwise.
    Max,
    /// `min(a, b)`, elementwise.
    Min,
    Neg,
    Func(Func),
    /// The sum (or, with `mean`, the mean) of a row of the operand, in
    /// every column of a value as wide as the operand.
    Sum {
        mean: bool,
    },
    /// Part `index` of `parts` equal blocks of the operand.
    Split {
        index: usize,
        parts: usize,
    },
}

pub struct Node {
    pub op: Op,
    pub span: Span,
    /// The user's name for this value, if it has one (for DOT and dumps).
    pub label: Option<String>,
    /// The equation that defines this value, as the user wrote it
    /// (`c = sigmoid(f) * c + sigmoid(i) * tanh(g)`), for the emitted code.
    pub equation: Option<String>,
}

/// One dimension: `coef * dims[sym]`, or `coef` when `sym` is `None`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Dim {
    pub coef: usize,
    pub sym: Option<usize>,
}

/// Formats dimensions with the cell's names (`4 * H`).
pub struct ShowDim<'a>(pub Dim, pub &'a [(Ident, Option<usize>)]);

impl fmt::Display for ShowDim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.coef, self.0.sym) {
            (c, None) => write!(f, "{c}"),
            (1, Some(s)) => write!(f, "{}", self.1[s].0),
            (c, Some(s)) => write!(f, "{c} * {}", self.1[s].0),
        }
    }
}

/// A declared name of the cell.
#[derive(Clone)]
pub struct Decl {
    pub name: Ident,
    /// The shape; a matrix with summed columns (`[4 * H, I + H]`) has its
    /// first column block (`I`) here and every block in `parts`.
    pub shape: Vec<Dim>,
    /// The column blocks of a matrix declared with a sum (`[I, H]`); empty
    /// otherwise.
    pub parts: Vec<Dim>,
}

impl Decl {
    /// The shape with the columns written out (`[4 * H, I + H]`).
    pub fn show_shape(&self, dims: &[(Ident, Option<usize>)]) -> String {
        let mut axes: Vec<String> = self.shape.iter().map(|d| ShowDim(*d, dims).to_string()).collect();
        if !self.parts.is_empty() {
            let sum: Vec<String> = self.parts.iter().map(|d| ShowDim(*d, dims).to_string()).collect();
            if let Some(last) = axes.last_mut() {
                *last = sum.join(" + ");
            }
        }
        format!("[{}]", axes.join(", "))
    }
}

/// A matrix parameter read as another weight: column block `part` of
/// `param` (one of its `parts`), the weight of one product of `param @
/// concat(..)`, or (`transposed`) the whole of `param` transposed, the
/// weight of `param.T @ v`. Weights are numbered parameters first, then
/// views: weight `params.len() + j` is view `j`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct View {
    pub param: usize,
    pub part: usize,
    pub transposed: bool,
}

/// What the cell declares: its name, its sizes (fixed or bound at run
/// time) and its inputs, states, parameters and outputs, in declaration
/// order. Codegen reads these and the schedule, nothing else of the graph.
pub struct Decls {
    pub name: Ident,
    pub dims: Vec<(Ident, Option<usize>)>,
    pub inputs: Vec<Decl>,
    pub states: Vec<Decl>,
    pub params: Vec<Decl>,
    pub outputs: Vec<Decl>,
    /// Column blocks of parameters, read as weights of their own (see [`View`]).
    pub views: Vec<View>,
}

impl Decls {
    /// The width of each input (they arrive side by side).
    pub fn input_widths(&self) -> Vec<Dim> {
        self.inputs.iter().map(|d| d.shape[0]).collect()
    }

    /// The view weight `w` is, if it is one (not a parameter).
    pub fn view(&self, w: usize) -> Option<View> {
        w.checked_sub(self.params.len()).map(|j| self.views[j])
    }

    /// The shape of weight `w` (a parameter's, or a view's: its rows and
    /// its block of columns).
    pub fn weight_shape(&self, w: usize) -> Vec<Dim> {
        match self.view(w) {
            Some(v) if v.transposed => vec![self.params[v.param].shape[1], self.params[v.param].shape[0]],
            Some(v) => vec![self.params[v.param].shape[0], self.params[v.param].parts[v.part]],
            None => self.params[w].shape.clone(),
        }
    }

    /// The weight for block `part` of matrix parameter `param` (or, when
    /// `transposed`, for the whole of it transposed), made on first use.
    pub fn view_of(&mut self, param: usize, part: usize, transposed: bool) -> usize {
        let v = View {
            param,
            part,
            transposed,
        };
        let j = match self.views.iter().position(|x| *x == v) {
            Some(j) => j,
            None => {
                self.views.push(v);
                self.views.len() - 1
            }
        };
        self.params.len() + j
    }

    /// Weight `w`'s name for dumps: a parameter's, or `w[:, I..I + H]`
    /// for a view (`w[:, ..I]` for the first block).
    pub fn weight_name(&self, w: usize) -> String {
        match self.view(w) {
            None => self.params[w].name.to_string(),
            Some(v) if v.transposed => format!("{}.T", self.params[v.param].name),
            Some(v) => {
                let p = &self.params[v.param];
                let show = |ds: &[Dim]| {
                    ds.iter()
                        .map(|d| ShowDim(*d, &self.dims).to_string())
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                let (before, through) = (show(&p.parts[..v.part]), show(&p.parts[..=v.part]));
                if v.part == 0 {
                    format!("{}[:, ..{through}]", p.name)
                } else {
                    format!("{}[:, {before}..{through}]", p.name)
                }
            }
        }
    }

    /// Width of what the cell returns per step: its output, or its first state.
    pub fn output_width(&self) -> Dim {
        match self.outputs.first() {
            Some(o) => o.shape[0],
            None => self.states[0].shape[0],
        }
    }
}

/// Display names of a cell's declarations (for dumps).
pub struct Names {
    pub inputs: Vec<String>,
    pub states: Vec<String>,
    pub params: Vec<String>,
    pub outputs: Vec<String>,
}

impl Names {
    pub fn of(decls: &Decls) -> Names {
        let n = |d: &[Decl]| d.iter().map(|d| d.name.to_string()).collect::<Vec<_>>();
        let mut outputs = n(&decls.outputs);
        if outputs.is_empty() {
            outputs.push(decls.states[0].name.to_string());
        }
        Names {
            inputs: n(&decls.inputs),
            states: n(&decls.states),
            params: n(&decls.params)
                .into_iter()
                .chain((decls.params.len()..decls.params.len() + decls.views.len()).map(|w| decls.weight_name(w)))
                .collect(),
            outputs,
        }
    }
}

/// The resolved cell: its declarations and the graph of one step.
pub struct StepGraph {
    pub decls: Decls,
    pub g: DiGraph<Node, u8>,
    /// New value of each state.
    pub updates: Vec<Id>,
    /// Value of each output (the first state's new value when none is declared).
    pub output_nodes: Vec<Id>,
}

impl StepGraph {
    pub fn add(&mut self, op: Op, span: Span, args: &[Id]) -> Id {
        let id = self.g.add_node(Node {
            op,
            span,
            label: None,
            equation: None,
        });
        for (pos, a) in args.iter().enumerate() {
            self.g.add_edge(*a, id, pos as u8);
        }
        id
    }

    /// Operands of `n` in position order.
    pub fn args(&self, n: Id) -> Vec<Id> {
        let mut v: Vec<(u8, Id)> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .map(|e| (*e.weight(), e.source()))
            .collect();
        v.sort_by_key(|p| p.0);
        v.into_iter().map(|p| p.1).collect()
    }

    pub fn op(&self, n: Id) -> Op {
        self.g[n].op
    }

    /// A short text for a node: its op and, if named, the user's name.
    pub fn describe(&self, n: Id) -> String {
        let op = self.op_text(n);
        match &self.g[n].label {
            Some(l) => format!("{l} = {op}"),
            None => op,
        }
    }

    /// A node's operation, in words (`+`, `sigmoid`, `param w`).
    pub fn op_text(&self, n: Id) -> String {
        match self.g[n].op {
            Op::Input(k) => format!("input {}", self.decls.inputs[k].name),
            Op::State(k) => format!("{}[t-1]", self.decls.states[k].name),
            Op::Param(k) => format!("param {}", self.decls.weight_name(k)),
            Op::Const(c) => format!("{c}"),
            Op::MatVec => "@".to_string(),
            Op::Add => "+".to_string(),
            Op::Sub => "-".to_string(),
            Op::Mul => "*".to_string(),
            Op::Div => "/".to_string(),
            Op::Max => "max".to_string(),
            Op::Min => "min".to_string(),
            Op::Neg => "neg".to_string(),
            Op::Func(f) => f.name().to_string(),
            Op::Sum { mean: false } => "sum".to_string(),
            Op::Sum { mean: true } => "mean".to_string(),
            Op::Split { index, parts } => format!("split {index}/{parts}"),
        }
    }
}
