//! The output of scheduling: a [`Program`] per pass over a sequence
//! (inference forward, training forward, backward) and the [`Plans`] that
//! link them. Codegen prints these and decides nothing.
//!
//! A program has three sections: `pre` (before the time loop, over all
//! T·B rows), `body` (once per step, over B rows) and `post` (after the
//! loop, over all rows). Each value that is stored has a home ([`Loc`]): a
//! buffer, its row width, a column offset, and whether it holds all steps.

use crate::cell::flow::{Flow, Group, K, WeightGrad};
use crate::cell::ir::Dim;
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
    /// The buffer holds one chunk of steps, not all (see `chunk.rs`):
    /// step t is block `t % chunk`.
    pub chunked: bool,
}

/// The width of a scalar, and of a row scalar's row.
pub const ONE: Dim = Dim { coef: 1, sym: None };

impl Loc {
    /// Whether the location holds one number per row (a row scalar: a
    /// value the same in every column, see `homes.rs`), not a row of the
    /// value's width.
    pub fn is_row_scalar(&self) -> bool {
        matches!(self.buf, Buf::Own(_) | Buf::Saved(_)) && self.ld == [ONE]
    }

    pub fn whole(buf: Buf, width: Dim, all_steps: bool) -> Loc {
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
    /// Holds one chunk of steps (see `chunk.rs`).
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

impl Role<'_> {
    pub fn is_backward(&self) -> bool {
        matches!(self, Role::Backward { .. })
    }
}

/// The three programs of a cell, the flows they run and the trace layout
/// that links them: everything codegen prints.
pub struct Plans {
    /// The forward flow and its product groups (from `stack`).
    pub fwd_flow: Flow,
    pub groups: Vec<Group>,
    /// The backward flow (from `autodiff`).
    pub bwd_flow: Flow,
    /// Forward flow node of each step-graph node (for inspection).
    pub map: Vec<Option<K>>,
    /// Forward without keeping anything (inference, streaming).
    pub infer: Program,
    /// Forward that keeps what the backward reads.
    pub train: Program,
    pub bwd: Program,
    /// Buffers of `train` handed to the trace, in `Trace::saved` order
    /// (after the input and the state histories).
    pub kept: Vec<usize>,
    /// The input is read only through products before the loop (see
    /// `one_hot.rs`): a one-hot input is looked up in the
    /// weights, and its weight gradient scattered, instead of multiplied.
    pub one_hot_lookup: bool,
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
