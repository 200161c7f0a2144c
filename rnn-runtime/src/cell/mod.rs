//! The [`Cell`] trait: what the cell compiler emits for every cell.
//!
//! Layers, training loops and tools are written against this trait, so a
//! user's own cell gets stacking, bidirectional layers, checkpoints and
//! training exactly as the shipped cells do.
//!
//! Conventions: sequences are time-major `[T, B, width]`; a state is a list
//! of `[B, width]` matrices in the order the cell declares its states. A
//! batch of sequences of different lengths is packed as PyTorch packs it
//! ([`packed`]): `N` rows `[N, 1, width]`, step after step, with the
//! [`BatchSizes`] saying how many sequences run at each step.
//!
//! Files, bottom up: `records.rs` (what a pass returns or keeps: [`Forward`],
//! [`Trace`], [`InputGrads`], and the shape checks), [`input`] (values or
//! one-hot ids, and the products that read either), [`packed`] (the layout
//! of variable-length batches), this file (the trait), `scratch.rs`
//! ([`Scratch`]: one cell's buffers reused from step to step).

pub mod input;
pub mod packed;
mod records;
mod scratch;

pub use input::CellInput;
pub use packed::BatchSizes;
pub use records::{
    Forward, InputGrads, Trace, check_batch, check_dims, check_input, check_saved, check_states, check_trace, trace_tag,
};
pub use scratch::Scratch;

use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::Workspace;
use input::{InputRef, dense_input, gather_rows};
use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMutD};
use rand::Rng;

/// A compiled recurrent cell: parameters plus emitted forward, BPTT and step code.
///
/// The gradient of a cell's parameters has the cell's own type (every
/// parameter field then holds its gradient), as `grad` does in PyTorch.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a recurrent cell over `{F}`",
    label = "not a cell",
    note = "declare a cell with `rnn::cell!` (or implement `rnn::Cell` by hand)"
)]
pub trait Cell<F: Float>: Clone + Sized {
    /// Sizes that shapes are written in (for example input and hidden size).
    type Dims: Copy + std::fmt::Debug + PartialEq;
    /// The cell's name as declared.
    const NAME: &'static str;
    /// Parameter names in declaration order (PyTorch names for shipped cells).
    const PARAM_NAMES: &'static [&'static str];
    /// State names in declaration order.
    const STATE_NAMES: &'static [&'static str];

    /// Parameters drawn from PyTorch's default `U(-1/sqrt(H), 1/sqrt(H))`,
    /// `H` being the width of the first state.
    fn new<R: Rng + ?Sized>(dims: Self::Dims, rng: &mut R) -> Self;
    /// All parameters zero (the starting point of a gradient).
    fn zeros(dims: Self::Dims) -> Self;
    /// The bound sizes.
    fn dims(&self) -> Self::Dims;
    /// `dims` with the input width changed to `input_size` (for stacked layers).
    fn with_input_size(dims: Self::Dims, input_size: usize) -> Result<Self::Dims, RnnError>;
    /// Width of one input step.
    fn input_size(&self) -> usize;
    /// Width of one output step.
    fn output_size(&self) -> usize;
    /// Width of each state.
    fn state_sizes(&self) -> Vec<usize>;
    /// Every parameter with its name, in declaration order.
    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)>;
    /// Every parameter, mutably, with its name.
    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)>;

    /// Parameter `k` in declaration order (`k < PARAM_NAMES.len()`, panics
    /// otherwise). Emitted cells return it without allocating; the default
    /// goes through [`Cell::params`].
    fn param(&self, k: usize) -> ArrayViewD<'_, F> {
        self.params().swap_remove(k).1
    }

    /// Parameter `k`, mutably (see [`Cell::param`]).
    fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, F> {
        self.params_mut().swap_remove(k).1
    }

    /// Sets every parameter to zero (to reuse a gradient; emitted cells do
    /// it without allocating).
    fn fill_zero(&mut self) {
        for (_, mut p) in self.params_mut() {
            p.fill(F::zero());
        }
    }

    /// Zero states for a batch of `batch` sequences.
    fn zero_state(&self, batch: usize) -> Vec<Array2<F>> {
        self.state_sizes()
            .into_iter()
            .map(|w| Array2::zeros((batch, w)))
            .collect()
    }

    /// Inference over a sequence `xs[T, B, I]` from `init` (empty slice:
    /// zeros) into `out`, with buffers from `ws`: what `out` held goes back
    /// to `ws` first, so a loop reusing both allocates nothing.
    fn forward_ws(
        &self,
        xs: ArrayView3<'_, F>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        out: &mut Forward<F>,
    ) -> Result<(), RnnError>;
    /// Training forward into `trace` (keeps what BPTT needs), with buffers
    /// from `ws`; `trace`'s old buffers go back to `ws` first.
    fn forward_train_ws(
        &self,
        xs: ArrayView3<'_, F>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        trace: &mut Trace<F>,
    ) -> Result<(), RnnError>;
    /// BPTT: adds the parameter gradients into `grads` and writes the
    /// gradients of the inputs and initial states into `input`, given
    /// `d_out[T, B, O]` and the gradients of the final states (empty slice:
    /// zeros), with buffers from `ws`; `input`'s old buffers go back to `ws`.
    ///
    /// After a packed forward pass ([`Cell::forward_train_packed_ws`])
    /// `d_out` has the shape of [`Trace::outputs`] (`[N, 1, O]`, the packed
    /// rows) and the input gradient comes back packed the same way.
    #[allow(clippy::too_many_arguments)]
    fn backward_ws(
        &self,
        trace: &Trace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
        grads: &mut Self,
        ws: &mut Workspace<F>,
        input: &mut InputGrads<F>,
    ) -> Result<(), RnnError>;

    /// [`Cell::forward_ws`] over values or one-hot ids. Emitted cells that
    /// read their input only through products look one-hot rows up in the
    /// weights; the default writes the vectors out and runs `forward_ws`.
    fn forward_input_ws(
        &self,
        input: CellInput<'_, F>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        out: &mut Forward<F>,
    ) -> Result<(), RnnError> {
        with_values(self, input, ws, |xs, ws| self.forward_ws(xs, init, ws, out))
    }

    /// [`Cell::forward_train_ws`] over values or one-hot ids (see
    /// [`Cell::forward_input_ws`]); the trace records which it was, and the
    /// backward pass of a one-hot trace leaves [`InputGrads::d_xs`] empty.
    fn forward_train_input_ws(
        &self,
        input: CellInput<'_, F>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        trace: &mut Trace<F>,
    ) -> Result<(), RnnError> {
        let one_hot = input.is_one_hot();
        with_values(self, input, ws, |xs, ws| self.forward_train_ws(xs, init, ws, trace))?;
        trace.one_hot = one_hot;
        Ok(())
    }

    /// Inference over a batch of sequences of different lengths, packed
    /// ([`packed`]): `input` holds the `N = sizes.rows()` rows, values
    /// `[N, 1, I]` or one-hot ids (`len = N`, `batch = 1`), sorted by
    /// length, longest first, with `sizes` the number of sequences running
    /// at each step; `init` is `[B, width]` per state in the same order
    /// (empty slice: zeros). Fills `out` with the packed outputs `[N, 1, O]`
    /// and the final states `[B, width]`, each sequence's state after its
    /// own last step (a sequence of length 0 keeps its initial state). A
    /// step costs only the rows still running.
    ///
    /// A full batch ([`BatchSizes::full`]) may also be given as `[T, B, I]`
    /// (the outputs are then `[T, B, O]`): that is [`Cell::forward_input_ws`].
    /// Every `cell!` cell implements this; the default (for cells written
    /// by hand) runs a full batch through [`Cell::forward_input_ws`] as
    /// `[T, B, I]` (outputs `[T, B, O]`) and returns [`RnnError::Invalid`]
    /// for a packed one.
    fn forward_packed_ws(
        &self,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        out: &mut Forward<F>,
    ) -> Result<(), RnnError> {
        full_batch_only(self, input, sizes, |input| self.forward_input_ws(input, init, ws, out))
    }

    /// Training forward over a packed batch (see [`Cell::forward_packed_ws`])
    /// into `trace`, which remembers the [`BatchSizes`]
    /// ([`Trace::layout`]); [`Cell::backward_ws`] then takes the packed
    /// output gradient `[N, 1, O]` and returns packed input gradients.
    fn forward_train_packed_ws(
        &self,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
        ws: &mut Workspace<F>,
        trace: &mut Trace<F>,
    ) -> Result<(), RnnError> {
        full_batch_only(self, input, sizes, |input| {
            self.forward_train_input_ws(input, init, ws, trace)
        })
    }

    /// [`Cell::forward_packed_ws`] into a fresh result.
    fn forward_packed(
        &self,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
    ) -> Result<Forward<F>, RnnError> {
        let mut out = Forward::empty();
        self.forward_packed_ws(input, sizes, init, &mut Workspace::new(), &mut out)?;
        Ok(out)
    }

    /// [`Cell::forward_train_packed_ws`] into a fresh trace.
    fn forward_train_packed(
        &self,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
    ) -> Result<Trace<F>, RnnError> {
        let mut trace = Trace::empty();
        self.forward_train_packed_ws(input, sizes, init, &mut Workspace::new(), &mut trace)?;
        Ok(trace)
    }

    /// Inference over a sequence `xs[T, B, I]` from `init` (empty slice: zeros); keeps nothing.
    fn forward(&self, xs: ArrayView3<'_, F>, init: &[Array2<F>]) -> Result<Forward<F>, RnnError> {
        let mut out = Forward::empty();
        self.forward_ws(xs, init, &mut Workspace::new(), &mut out)?;
        Ok(out)
    }
    /// Training forward: like [`Cell::forward`] but keeps what BPTT needs.
    fn forward_train(&self, xs: ArrayView3<'_, F>, init: &[Array2<F>]) -> Result<Trace<F>, RnnError> {
        let mut trace = Trace::empty();
        self.forward_train_ws(xs, init, &mut Workspace::new(), &mut trace)?;
        Ok(trace)
    }
    /// BPTT: adds the parameter gradients into `grads` and returns the
    /// gradients of the inputs and initial states, given `d_out[T, B, O]`
    /// and the gradients of the final states (empty slice: zeros).
    fn backward_into(
        &self,
        trace: &Trace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
        grads: &mut Self,
    ) -> Result<InputGrads<F>, RnnError> {
        let mut input = InputGrads::empty();
        self.backward_ws(trace, d_out, d_final, grads, &mut Workspace::new(), &mut input)?;
        Ok(input)
    }
    /// One step for streaming use: updates `state` in place, returns the output `[B, O]`.
    fn step(&self, x: ArrayView2<'_, F>, state: &mut [Array2<F>]) -> Result<Array2<F>, RnnError>;

    /// BPTT into fresh gradients.
    fn backward(
        &self,
        trace: &Trace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
    ) -> Result<(Self, InputGrads<F>), RnnError> {
        let mut grads = Self::zeros(self.dims());
        let input = self.backward_into(trace, d_out, d_final, &mut grads)?;
        Ok((grads, input))
    }
}

/// The default of the packed passes for cells written by hand: a full
/// batch runs as `[T, B, I]` through `f` (packed rows `[N, 1, I]` are seen
/// as that), a packed one is an error.
fn full_batch_only<F: Float, C: Cell<F>>(
    cell: &C,
    input: CellInput<'_, F>,
    sizes: BatchSizes<'_>,
    f: impl FnOnce(CellInput<'_, F>) -> Result<(), RnnError>,
) -> Result<(), RnnError> {
    let (a0, a1) = packed::check_packed_input("xs", &input, sizes, cell.input_size())?;
    if sizes.is_packed() {
        return Err(RnnError::Invalid(format!(
            "cell {} has no code for variable-length batches (declare it with `cell!`, or implement `forward_packed_ws`)",
            C::NAME
        )));
    }
    let (t, b) = (sizes.len(), sizes.batch());
    if (a0, a1) == (t, b) {
        return f(input);
    }
    match input {
        CellInput::Values(xs) => {
            let xs = xs.as_standard_layout();
            let v = xs
                .view()
                .into_shape_with_order((t, b, cell.input_size()))
                .expect("N = T B rows");
            f(CellInput::Values(v))
        }
        CellInput::OneHot { ids, .. } => f(CellInput::OneHot { ids, len: t, batch: b }),
        CellInput::Picked { xs, rows } => {
            let v = xs.select(ndarray::Axis(0), rows);
            let v = v
                .into_shape_with_order((t, b, cell.input_size()))
                .expect("N = T B rows");
            f(CellInput::Values(v.view()))
        }
    }
}

/// Runs `f` on `input` as values: one-hot ids are written out as vectors
/// in a buffer from `ws` (given back afterwards).
fn with_values<F: Float, C: Cell<F>>(
    cell: &C,
    input: CellInput<'_, F>,
    ws: &mut Workspace<F>,
    f: impl FnOnce(ArrayView3<'_, F>, &mut Workspace<F>) -> Result<(), RnnError>,
) -> Result<(), RnnError> {
    match input {
        CellInput::Values(xs) => f(xs, ws),
        CellInput::OneHot { ids, len, batch } => {
            let width = cell.input_size();
            input.check("xs", width)?;
            let dense = dense_input(ws, InputRef::OneHot(ids), width);
            let xs = ArrayView3::from_shape((len, batch, width), &dense[..]).expect("T*B rows of the input width");
            let r = f(xs, ws);
            ws.give(dense);
            r
        }
        CellInput::Picked { xs, rows } => {
            input.check("xs", cell.input_size())?;
            let dense = gather_rows(ws, xs, rows);
            let view = ArrayView3::from_shape((rows.len(), 1, xs.ncols()), &dense[..]).expect("picked rows");
            let r = f(view, ws);
            ws.give(dense);
            r
        }
    }
}
