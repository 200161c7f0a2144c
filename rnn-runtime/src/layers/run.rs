//! Forward, training forward, BPTT and streaming steps of [`Layers`].
//!
//! Each direction of each layer runs its cell's own sequence code once over
//! the whole sequence; the reverse direction sees its input with the time
//! axis reversed, and its outputs (and, in backward, its output gradients
//! and input gradients) are reversed back, so every tensor the caller sees is
//! indexed by the true time step.
//!
//! With lengths (the `_with_lengths` methods) the batch is sorted and
//! packed once (`packing.rs`), every layer and direction runs on the
//! packed rows (a step costs only the sequences still running; the reverse
//! direction reverses each sequence within its own length), and the
//! outputs, final states and gradients are unpacked into the caller's
//! padded layout and order at the end.
//!
//! The `_ws` methods take every buffer from a [`Workspace`] and refill the
//! result they are given ([`LayersTrace`], [`LayersOutput`],
//! [`LayersInputGrads`]), giving its old memory back first: a loop that
//! passes the same workspace and results every step allocates nothing once
//! the shapes have been seen.

use super::Layers;
use super::packing::Packing;
use crate::cell::CellInput;
use crate::cell::input::gather_rows;
use crate::cell::{BatchSizes, Cell, Forward, InputGrads, Trace, check_batch};
use crate::error::RnnError;
use crate::float::Float;
use crate::nn::dropout::{apply_mask, draw_mask};
use crate::workspace::{Workspace, array2, array3};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};
use rand::rngs::StdRng;

/// An empty `[0, 0, 0]` array (no allocation).
fn empty3<F>() -> Array3<F> {
    Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty")
}

/// Buffers a run keeps between calls: the initial-state rows handed to one
/// cell, the time-reversed ids of a one-hot input and its packed ids.
#[derive(Debug, Clone)]
struct RunBuffers<F> {
    rows: Vec<Array2<F>>,
    reversed_ids: Vec<usize>,
    packed_ids: Vec<usize>,
    /// The dropout mask applied to each layer's output before the next
    /// layer read it (one per boundary), when `dropped`.
    masks: Vec<Vec<F>>,
    dropped: bool,
}

impl<F> RunBuffers<F> {
    fn new() -> Self {
        RunBuffers {
            rows: Vec::new(),
            reversed_ids: Vec::new(),
            packed_ids: Vec::new(),
            masks: Vec::new(),
            dropped: false,
        }
    }
}

/// What a run of [`Layers`] gets besides its input and initial state.
#[derive(Debug, Default)]
pub struct RunOptions<'r> {
    /// The length of each sequence (`[B]`, any order; see
    /// [`Layers::forward_ws_with_lengths`]); `None`: every sequence has `T`
    /// steps.
    pub lengths: Option<&'r [usize]>,
    /// Dropout on every layer's output but the last's before the next layer
    /// reads it (the `dropout` of PyTorch's `nn.LSTM`): the probability and
    /// the generator its masks are drawn from. A training pass keeps the
    /// masks for its backward pass.
    pub dropout: Option<(f64, &'r mut StdRng)>,
}

/// What [`Layers::forward_train_ws`] keeps for [`Layers::backward_ws`].
#[derive(Debug, Clone)]
pub struct LayersTrace<F> {
    /// The last layer's output, `[T, B, D*O]`.
    pub out: Array3<F>,
    /// Final states, one `[L*D, B, width]` per cell state.
    pub states: Vec<Array3<F>>,
    /// Each cell's trace, in order `l*D + d` (the reverse direction's trace
    /// is in its own, reversed, time order; with lengths, over the packed
    /// rows, sorted by length).
    pub traces: Vec<Trace<F>>,
    /// Sequence length `T`.
    pub len: usize,
    /// Batch size `B`.
    pub batch: usize,
    buffers: RunBuffers<F>,
    packing: Packing,
}

impl<F> LayersTrace<F> {
    /// An empty trace for [`Layers::forward_train_ws`] to fill.
    pub fn empty() -> Self {
        LayersTrace {
            out: empty3(),
            states: Vec::new(),
            traces: Vec::new(),
            len: 0,
            batch: 0,
            buffers: RunBuffers::new(),
            packing: Packing::default(),
        }
    }

    /// The lengths the forward pass was given
    /// ([`Layers::forward_train_ws_with_lengths`]), in the caller's order;
    /// `None` when it ran every sequence for all `T` steps.
    pub fn lengths(&self) -> Option<&[usize]> {
        self.packing.given.then_some(&self.packing.lengths[..])
    }
}

impl<F> Default for LayersTrace<F> {
    fn default() -> Self {
        Self::empty()
    }
}

/// What [`Layers::forward_ws`] returns: the last layer's output and the
/// final states, in memory reused from one call to the next.
#[derive(Debug, Clone)]
pub struct LayersOutput<F> {
    /// The last layer's output, `[T, B, D*O]`.
    pub out: Array3<F>,
    /// Final states, one `[L*D, B, width]` per cell state.
    pub states: Vec<Array3<F>>,
    cells: Vec<Forward<F>>,
    buffers: RunBuffers<F>,
    packing: Packing,
}

impl<F> LayersOutput<F> {
    /// An empty result for [`Layers::forward_ws`] to fill.
    pub fn empty() -> Self {
        LayersOutput {
            out: empty3(),
            states: Vec::new(),
            cells: Vec::new(),
            buffers: RunBuffers::new(),
            packing: Packing::default(),
        }
    }
}

impl<F> Default for LayersOutput<F> {
    fn default() -> Self {
        Self::empty()
    }
}

/// What [`Layers::backward_ws`] returns besides the parameter gradients:
/// the gradients of the input and of the initial states.
#[derive(Debug, Clone)]
pub struct LayersInputGrads<F> {
    /// `[T, B, I]`; empty (`[0, 0, 0]`) when the forward pass read one-hot
    /// ids, which have no gradient.
    pub d_xs: Array3<F>,
    /// One `[L*D, B, width]` per cell state.
    pub d_init: Vec<Array3<F>>,
    cell: InputGrads<F>,
    buffers: RunBuffers<F>,
}

impl<F> LayersInputGrads<F> {
    /// Empty gradients for [`Layers::backward_ws`] to fill.
    pub fn empty() -> Self {
        LayersInputGrads {
            d_xs: empty3(),
            d_init: Vec::new(),
            cell: InputGrads::empty(),
            buffers: RunBuffers::new(),
        }
    }
}

impl<F> Default for LayersInputGrads<F> {
    fn default() -> Self {
        Self::empty()
    }
}

/// The outputs and final states a per-cell result carries.
trait CellRun<F> {
    fn outputs(&self) -> &Array3<F>;
    fn states(&self) -> &[Array2<F>];
}

impl<F> CellRun<F> for Forward<F> {
    fn outputs(&self) -> &Array3<F> {
        &self.outputs
    }
    fn states(&self) -> &[Array2<F>] {
        &self.states
    }
}

impl<F> CellRun<F> for Trace<F> {
    fn outputs(&self) -> &Array3<F> {
        &self.outputs
    }
    fn states(&self) -> &[Array2<F>] {
        &self.states
    }
}

/// A `[t, b, w]` array over a workspace buffer: zero-filled, or left for
/// the caller to overwrite completely.
fn take3<F: Float>(ws: &mut Workspace<F>, (t, b, w): (usize, usize, usize), zero: bool) -> Array3<F> {
    let v = if zero {
        ws.take(t * b * w)
    } else {
        ws.take_dirty(t * b * w)
    };
    array3(v, t, b, w)
}

/// Gives every array of `list` back to `ws`, leaving it empty (its capacity
/// kept for the next fill).
fn give_all<F: Float, D: ndarray::Dimension>(ws: &mut Workspace<F>, list: &mut Vec<ndarray::Array<F, D>>) {
    for a in list.drain(..) {
        ws.give_array(a);
    }
}

/// A copy of `a` (any layout) in a workspace buffer, with its time axis
/// reversed when `reverse`.
fn copy3<F: Float>(ws: &mut Workspace<F>, a: ArrayView3<'_, F>, reverse: bool) -> Array3<F> {
    let mut out = take3(ws, a.dim(), false);
    if reverse {
        out.assign(&a.slice(s![..;-1, .., ..]));
    } else {
        out.assign(&a);
    }
    out
}

/// Fills `rows` with row `idx` of every state tensor (none when `states` is
/// empty: the cell then uses zeros), in workspace buffers; with an active
/// `packing`, its sequences in sorted order.
fn state_rows<F: Float>(
    ws: &mut Workspace<F>,
    states: &[Array3<F>],
    idx: usize,
    packing: &Packing,
    rows: &mut Vec<Array2<F>>,
) {
    give_all(ws, rows);
    for s in states {
        let row = s.index_axis(Axis(0), idx);
        let mut a = array2(ws.take_dirty(row.len()), row.nrows(), row.ncols());
        if packing.active {
            packing.sort_rows(row, a.view_mut());
        } else {
            a.assign(&row);
        }
        rows.push(a);
    }
}

/// Writes a cell's `[B, width]` state `st` into row `idx` of `all`
/// (`[L*D, B, width]`), in the caller's order.
fn put_state<F: Float>(all: &mut Array3<F>, idx: usize, st: &Array2<F>, packing: &Packing) {
    let dst = all.index_axis_mut(Axis(0), idx);
    if packing.active {
        packing.unsort_rows(st.view(), dst);
    } else {
        let mut dst = dst;
        dst.assign(st);
    }
}

/// Writes the ids of a one-hot input `[len * batch]` into `out` in reverse
/// time order.
fn reverse_ids(ids: &[usize], len: usize, batch: usize, out: &mut Vec<usize>) {
    out.clear();
    for t in (0..len).rev() {
        out.extend_from_slice(&ids[t * batch..(t + 1) * batch]);
    }
}

/// The same input under a shorter lifetime.
/// (ndarray views are invariant in their lifetime, so this is a reborrow).
fn shorter<'s, 'l: 's, F>(input: CellInput<'l, F>) -> CellInput<'s, F> {
    match input {
        CellInput::Values(xs) => CellInput::Values(xs.reborrow()),
        CellInput::OneHot { ids, len, batch } => CellInput::OneHot { ids, len, batch },
        CellInput::Picked { xs, rows } => CellInput::Picked {
            xs: xs.reborrow(),
            rows,
        },
    }
}

/// Checks a list of `[L*D, B, width]` state tensors (empty: zeros).
fn check_state_list<F>(
    what: &str,
    states: &[Array3<F>],
    rows: usize,
    batch: usize,
    widths: &[usize],
) -> Result<(), RnnError> {
    if states.is_empty() {
        return Ok(());
    }
    if states.len() != widths.len() {
        return Err(RnnError::shape(
            format!("{what} (number of state tensors)"),
            &[widths.len()],
            &[states.len()],
        ));
    }
    for (k, (s, &w)) in states.iter().zip(widths).enumerate() {
        if s.shape() != [rows, batch, w] {
            return Err(RnnError::shape(format!("{what}[{k}]"), &[rows, batch, w], s.shape()));
        }
    }
    Ok(())
}

/// Checks that a cell returned `want` for what `what()` names (the name is
/// only built for the error).
fn check_cell_result(what: impl FnOnce() -> String, got: &[usize], want: &[usize]) -> Result<(), RnnError> {
    if got != want {
        return Err(RnnError::shape(what(), want, got));
    }
    Ok(())
}

/// Where [`Layers::run_all`] writes: the last layer's output, the final
/// states, one result per cell, the reusable buffers and the packing.
struct RunInto<'r, F, R> {
    out: &'r mut Array3<F>,
    states: &'r mut Vec<Array3<F>>,
    results: &'r mut Vec<R>,
    buffers: &'r mut RunBuffers<F>,
    packing: &'r mut Packing,
}

/// A cell's run: `(cell, input, batch sizes, initial state rows, ws, result)`.
type RunCell<'f, F, C, R> = dyn FnMut(&C, CellInput<'_, F>, BatchSizes<'_>, &[Array2<F>], &mut Workspace<F>, &mut R) -> Result<(), RnnError>
    + 'f;

impl<F: Float, C: Cell<F>> Layers<F, C> {
    /// Runs every cell with `run(cell, input, batch sizes, initial state,
    /// ws, result)`, wiring layers and directions together, into `into`
    /// (existing entries are refilled, so their memory is reused): on the
    /// padded input as it is, or, with `lengths` that are not all `T`, on
    /// its packed rows. Returns `(T, B)`.
    #[allow(clippy::too_many_arguments)]
    fn run_all<R: CellRun<F>>(
        &self,
        input: CellInput<'_, F>,
        options: RunOptions<'_>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        into: RunInto<'_, F, R>,
        fresh: impl Fn() -> R,
        run: &mut RunCell<'_, F, C, R>,
    ) -> Result<(usize, usize), RnnError> {
        let (t_len, batch) = input.check("layers input xs [T, B, I]", self.input_size())?;
        check_batch("layers input xs [T, B, I]", batch)?;
        let widths = &self.state_widths;
        check_state_list("initial state", init, self.cells.len(), batch, widths)?;
        let dirs = self.num_directions();
        let o = self.cell_output_size();
        let RunInto {
            out,
            states,
            results,
            buffers,
            packing,
        } = into;
        let RunOptions { lengths, mut dropout } = options;
        packing.set(lengths, t_len, batch)?;
        let packing = &*packing;
        let RunBuffers {
            rows: init_rows,
            reversed_ids,
            packed_ids,
            masks,
            dropped,
        } = buffers;
        *dropped = dropout.is_some() && self.num_layers > 1;
        masks.truncate(self.num_layers.saturating_sub(1));
        while masks.len() + 1 < self.num_layers {
            masks.push(Vec::new());
        }
        // The rows every cell runs on: `[T, B, width]`, or `[N, 1, width]` packed.
        let (sizes, a0, a1) = if packing.active {
            (packing.batch_sizes(), packing.rows(), 1)
        } else {
            (BatchSizes::full(t_len, batch), t_len, batch)
        };
        give_all(ws, states);
        for &w in widths {
            states.push(take3(ws, (self.cells.len(), batch, w), false));
        }
        results.truncate(self.cells.len());
        while results.len() < self.cells.len() {
            results.push(fresh());
        }
        // A copy of the input, where one is needed: rows the caller picked
        // (gathered here), or a padded input in another layout (packed).
        let mut packed_xs: Option<Array3<F>> = None;
        let mut gathered_xs: Option<Array3<F>> = None;
        let input = match input {
            CellInput::Picked { xs, rows } => {
                let v = gather_rows(ws, xs, rows);
                gathered_xs = Some(array3(v, rows.len(), 1, xs.ncols()));
                CellInput::Values(gathered_xs.as_ref().expect("just set").view())
            }
            other => shorter(other),
        };
        let first = if !packing.active {
            input
        } else {
            match input {
                CellInput::Values(xs) => match xs.to_slice() {
                    // The cells read the packed rows where they lie in the padded input.
                    Some(all) => CellInput::Picked {
                        xs: ArrayView2::from_shape((t_len * batch, xs.shape()[2]), all).expect("T*B rows"),
                        rows: packing.padded_rows(false),
                    },
                    None => {
                        let mut v = ws.take_dirty(a0 * xs.shape()[2]);
                        packing.pack(xs, &mut v);
                        packed_xs = Some(array3(v, a0, 1, xs.shape()[2]));
                        CellInput::Values(packed_xs.as_ref().expect("just set").view())
                    }
                },
                CellInput::Picked { .. } => unreachable!("gathered above"),
                CellInput::OneHot { ids, .. } => {
                    packing.pack_ids(ids, packed_ids);
                    CellInput::OneHot {
                        ids: &packed_ids[..],
                        len: a0,
                        batch: 1,
                    }
                }
            }
        };
        let top_unpacked = packing.active && dirs == 1;
        let mut below: Option<Array3<F>> = None;
        let ran = (|| {
            for l in 0..self.num_layers {
                // The top layer of one direction unpacks its cell's packed
                // rows straight into the padded result (one copy, not two).
                let top_unpacked = top_unpacked && l + 1 == self.num_layers;
                let shape = if top_unpacked {
                    (t_len, batch, o)
                } else {
                    (a0, a1, dirs * o)
                };
                let mut layer_out = take3(ws, shape, false);
                if let (Some(a), Some((p, rng))) = (below.as_mut(), dropout.as_mut()) {
                    let mask = &mut masks[l - 1];
                    mask.clear();
                    mask.resize(a.len(), F::zero());
                    draw_mask(mask, *p, &mut **rng);
                    apply_mask(a.as_slice_mut().expect("workspace array"), mask);
                }
                let input = match &below {
                    Some(a) => CellInput::Values(a.view()),
                    None => shorter(first),
                };
                for d in 0..dirs {
                    let idx = l * dirs + d;
                    let cell = &self.cells[idx];
                    state_rows(ws, init, idx, packing, init_rows);
                    let r = &mut results[idx];
                    let ran = if d == 0 {
                        run(cell, input, sizes, init_rows, ws, r)
                    } else {
                        match input {
                            CellInput::Picked { xs, .. } => {
                                // Only layer 0 of a packed batch: the padded rows, reversed.
                                let rows = packing.padded_rows(true);
                                run(cell, CellInput::Picked { xs, rows }, sizes, init_rows, ws, r)
                            }
                            CellInput::Values(xs) if packing.active => {
                                let all = xs.as_slice().expect("packed rows are standard");
                                let xs = ArrayView2::from_shape((a0, xs.shape()[2]), all).expect("N rows");
                                let rows = packing.reversed_rows();
                                run(cell, CellInput::Picked { xs, rows }, sizes, init_rows, ws, r)
                            }
                            CellInput::Values(xs) => {
                                let rev = copy3(ws, xs, true);
                                let ran = run(cell, CellInput::Values(rev.view()), sizes, init_rows, ws, r);
                                ws.give_array(rev);
                                ran
                            }
                            CellInput::OneHot { ids, len, batch } => {
                                if packing.active {
                                    packing.reverse_ids(ids, reversed_ids);
                                } else {
                                    reverse_ids(ids, len, batch, reversed_ids);
                                }
                                let ids = &reversed_ids[..];
                                run(cell, CellInput::OneHot { ids, len, batch }, sizes, init_rows, ws, r)
                            }
                        }
                    };
                    give_all(ws, init_rows);
                    ran?;
                    let outs = r.outputs();
                    check_cell_result(|| format!("outputs of cell l{l} d{d}"), outs.shape(), &[a0, a1, o])?;
                    if top_unpacked {
                        packing.unpack(
                            outs.as_slice().expect("cell outputs are standard"),
                            layer_out.view_mut(),
                        );
                    } else if d == 0 {
                        layer_out.slice_mut(s![.., .., d * o..(d + 1) * o]).assign(outs);
                    } else if packing.active {
                        let src = outs.as_slice().expect("cell outputs are standard");
                        let dst = layer_out.as_slice_mut().expect("standard");
                        packing.reverse(src, (o, 0), dst, (dirs * o, d * o), o);
                    } else {
                        layer_out
                            .slice_mut(s![.., .., d * o..(d + 1) * o])
                            .assign(&outs.slice(s![..;-1, .., ..]));
                    }
                    let cell_states = r.states();
                    check_cell_result(
                        || format!("number of final states of cell l{l} d{d}"),
                        &[cell_states.len()],
                        &[widths.len()],
                    )?;
                    for (k, st) in cell_states.iter().enumerate() {
                        check_cell_result(
                            || format!("final state {k} of cell l{l} d{d}"),
                            st.shape(),
                            &[batch, widths[k]],
                        )?;
                        put_state(&mut states[k], idx, st, packing);
                    }
                }
                if let Some(a) = below.replace(layer_out) {
                    ws.give_array(a);
                }
            }
            Ok(())
        })();
        for a in [packed_xs, gathered_xs].into_iter().flatten() {
            ws.give_array(a);
        }
        if let Err(e) = ran {
            if let Some(a) = below {
                ws.give_array(a);
            }
            return Err(e);
        }
        let last = below.expect("num_layers >= 1");
        let last = if packing.active && !top_unpacked {
            let mut padded = take3(ws, (t_len, batch, dirs * o), false);
            packing.unpack(last.as_slice().expect("standard"), padded.view_mut());
            ws.give_array(last);
            padded
        } else {
            last
        };
        ws.give_array(std::mem::replace(out, last));
        Ok((t_len, batch))
    }

    /// Inference over `xs[T, B, I]` from `init` (one `[L*D, B, width]` per
    /// cell state; an empty slice means zeros).
    ///
    /// Returns the last layer's output `[T, B, D*O]` and the final states,
    /// one `[L*D, B, width]` per cell state. Wrong shapes are
    /// [`RnnError::Shape`].
    pub fn forward(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        self.forward_with_lengths(xs, None, init)
    }

    /// [`Layers::forward`] over sequences of different lengths (see
    /// [`Layers::forward_ws_with_lengths`]).
    pub fn forward_with_lengths(
        &self,
        xs: ArrayView3<'_, F>,
        lengths: Option<&[usize]>,
        init: &[Array3<F>],
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut out = LayersOutput::empty();
        self.forward_ws_with_lengths(CellInput::Values(xs), lengths, init, &mut Workspace::new(), &mut out)?;
        Ok((out.out, out.states))
    }

    /// [`Layers::forward`] over values or one-hot ids (layer 0 reads them
    /// through [`Cell::forward_input_ws`]) into `out`, with buffers from
    /// `ws`: what `out` held goes back to `ws` first, so a loop reusing both
    /// allocates nothing.
    pub fn forward_ws(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        out: &mut LayersOutput<F>,
    ) -> Result<(), RnnError> {
        self.forward_ws_with_lengths(input, None, init, ws, out)
    }

    /// [`Layers::forward_ws`] over a batch of sequences of different
    /// lengths, as PyTorch runs a `PackedSequence`: sequence `b` runs
    /// steps `0..lengths[b]` of the padded input (`[T, B, I]` values or
    /// `T*B` one-hot ids); its outputs at later steps are zero, its final
    /// states are those after its own last step (its initial states for a
    /// length of 0), and the reverse direction runs from its own last step
    /// down to step 0. `lengths` is `[B]` in any order, each at most `T`;
    /// `None` (or every length `T`) is [`Layers::forward_ws`]. Outputs
    /// `[T, B, D*O]` and final states `[L*D, B, width]` are in the caller's
    /// layout and order; inside, the batch is sorted and packed once and a
    /// step costs only the sequences still running.
    ///
    /// Errors: [`RnnError::Shape`] if `lengths` does not have one length
    /// per sequence, [`RnnError::Invalid`] for a length over `T` (and for
    /// a cell written by hand that has no packed pass,
    /// [`Cell::forward_packed_ws`], unless every length is `T`).
    pub fn forward_ws_with_lengths(
        &self,
        input: CellInput<'_, F>,
        lengths: Option<&[usize]>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        out: &mut LayersOutput<F>,
    ) -> Result<(), RnnError> {
        let options = RunOptions { lengths, dropout: None };
        self.forward_ws_with(input, init, options, ws, out)
    }

    /// [`Layers::forward_ws_with_lengths`] with every option of a run:
    /// lengths and dropout between layers ([`RunOptions`]).
    pub fn forward_ws_with(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        options: RunOptions<'_>,
        ws: &mut Workspace<F>,
        out: &mut LayersOutput<F>,
    ) -> Result<(), RnnError> {
        let LayersOutput {
            out: last,
            states,
            cells,
            buffers,
            packing,
        } = out;
        let into = RunInto {
            out: last,
            states,
            results: cells,
            buffers,
            packing,
        };
        self.run_all(
            input,
            options,
            init,
            ws,
            into,
            Forward::empty,
            &mut |c, x, sizes, s, ws, out| c.forward_packed_ws(x, sizes, s, ws, out),
        )?;
        Ok(())
    }

    /// Training forward: like [`Layers::forward`], keeping what
    /// [`Layers::backward`] needs.
    pub fn forward_train(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<LayersTrace<F>, RnnError> {
        self.forward_train_with_lengths(xs, None, init)
    }

    /// [`Layers::forward_train`] over sequences of different lengths (see
    /// [`Layers::forward_ws_with_lengths`]).
    pub fn forward_train_with_lengths(
        &self,
        xs: ArrayView3<'_, F>,
        lengths: Option<&[usize]>,
        init: &[Array3<F>],
    ) -> Result<LayersTrace<F>, RnnError> {
        let mut trace = LayersTrace::empty();
        self.forward_train_ws_with_lengths(CellInput::Values(xs), lengths, init, &mut Workspace::new(), &mut trace)?;
        Ok(trace)
    }

    /// Training forward over values or one-hot ids into `trace`, with
    /// buffers from `ws`: the cells' traces in `trace` are refilled and what
    /// they held goes back to `ws` first, so a training loop that passes the
    /// same `ws` and `trace` every step reuses their memory. A one-hot
    /// input has no gradient ([`Layers::backward_ws`] returns an empty one).
    pub fn forward_train_ws(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        trace: &mut LayersTrace<F>,
    ) -> Result<(), RnnError> {
        self.forward_train_ws_with_lengths(input, None, init, ws, trace)
    }

    /// [`Layers::forward_train_ws`] over sequences of different lengths
    /// (see [`Layers::forward_ws_with_lengths`]); the trace keeps them, so
    /// [`Layers::backward_ws`] takes the same padded gradients as always
    /// (those at padding steps are ignored) and returns an input gradient
    /// that is zero at padding steps.
    pub fn forward_train_ws_with_lengths(
        &self,
        input: CellInput<'_, F>,
        lengths: Option<&[usize]>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        trace: &mut LayersTrace<F>,
    ) -> Result<(), RnnError> {
        let options = RunOptions { lengths, dropout: None };
        self.forward_train_ws_with(input, init, options, ws, trace)
    }

    /// [`Layers::forward_train_ws_with_lengths`] with every option of a
    /// run: lengths and dropout between layers ([`RunOptions`]); the trace
    /// keeps the dropout masks for [`Layers::backward_ws`].
    pub fn forward_train_ws_with(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        options: RunOptions<'_>,
        ws: &mut Workspace<F>,
        trace: &mut LayersTrace<F>,
    ) -> Result<(), RnnError> {
        let LayersTrace {
            out,
            states,
            traces,
            buffers,
            packing,
            ..
        } = trace;
        let into = RunInto {
            out,
            states,
            results: traces,
            buffers,
            packing,
        };
        let (t_len, batch) = self.run_all(
            input,
            options,
            init,
            ws,
            into,
            Trace::empty,
            &mut |c, x, sizes, s, ws, tr| c.forward_train_packed_ws(x, sizes, s, ws, tr),
        )?;
        trace.len = t_len;
        trace.batch = batch;
        Ok(())
    }

    /// BPTT through every layer and direction into fresh gradients.
    ///
    /// `d_out` is the gradient of the output `[T, B, D*O]`, `d_final` the
    /// gradients of the final states (one `[L*D, B, width]` per cell state;
    /// empty: zeros). Returns the parameter gradients (layers of the same
    /// shape, PyTorch names through [`Layers::named_params`]), the gradient of
    /// the input `[T, B, I]` and of the initial states (one `[L*D, B, width]`
    /// per cell state). After a forward pass with lengths, the gradients at
    /// padding steps of `d_out` are ignored and those of the input are zero.
    #[allow(clippy::type_complexity)]
    pub fn backward(
        &self,
        trace: &LayersTrace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array3<F>],
    ) -> Result<(Self, Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut grads = self.zeros_like();
        let (d_xs, d_init) = self.backward_into(trace, d_out, d_final, &mut grads)?;
        Ok((grads, d_xs, d_init))
    }

    /// Like [`Layers::backward`], adding the parameter gradients into
    /// `grads` (which must have this model's shape, e.g. from
    /// [`Layers::zeros_like`]); returns the input and initial-state gradients.
    pub fn backward_into(
        &self,
        trace: &LayersTrace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array3<F>],
        grads: &mut Self,
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut out = LayersInputGrads::empty();
        self.backward_ws(trace, d_out, d_final, grads, &mut Workspace::new(), &mut out)?;
        Ok((out.d_xs, out.d_init))
    }

    /// [`Layers::backward_into`] with buffers from `ws`, writing the input
    /// and initial-state gradients into `out` (whose old memory goes back to
    /// `ws` first). The input gradient is empty (`[0, 0, 0]`) when the
    /// forward pass read one-hot ids. The lengths, if the forward pass had
    /// them, come from `trace`.
    pub fn backward_ws(
        &self,
        trace: &LayersTrace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array3<F>],
        grads: &mut Self,
        ws: &mut Workspace<F>,
        out: &mut LayersInputGrads<F>,
    ) -> Result<(), RnnError> {
        self.check_grads(grads)?;
        let (t_len, batch) = (trace.len, trace.batch);
        let dirs = self.num_directions();
        let o = self.cell_output_size();
        let widths = &self.state_widths;
        let packing = &trace.packing;
        let (a0, a1) = if packing.active {
            (packing.rows(), 1)
        } else {
            (t_len, batch)
        };
        if trace.traces.len() != self.cells.len() {
            return Err(RnnError::shape(
                "trace (number of cell traces)",
                &[self.cells.len()],
                &[trace.traces.len()],
            ));
        }
        check_cell_result(
            || "gradient of the output d_out".into(),
            d_out.shape(),
            &[t_len, batch, dirs * o],
        )?;
        check_state_list("gradient of the final state", d_final, self.cells.len(), batch, widths)?;
        let LayersInputGrads {
            d_xs,
            d_init,
            cell: g,
            buffers,
        } = out;
        ws.give_array(std::mem::replace(d_xs, empty3()));
        give_all(ws, d_init);
        for &w in widths {
            d_init.push(take3(ws, (self.cells.len(), batch, w), false));
        }
        // The output gradient in packed rows.
        let d_top = packing.active.then(|| {
            let mut d = take3(ws, (a0, 1, dirs * o), false);
            packing.pack(d_out.view(), d.as_slice_mut().expect("standard"));
            d
        });
        let mut above: Option<Array3<F>> = d_top;
        for l in (0..self.num_layers).rev() {
            // Layer 0 of a one-hot trace has no input gradient.
            let one_hot = l == 0 && trace.traces[0].one_hot;
            let in_width = if one_hot { 0 } else { self.cells[l * dirs].input_size() };
            let in_len = if one_hot { 0 } else { a0 };
            let in_batch = if one_hot { 0 } else { a1 };
            // Filled by direction 0 (the cell's own buffer, taken without a
            // copy), added to by direction 1.
            let mut d_input = empty3();
            let d_layer = match &above {
                Some(a) => a.view(),
                None => d_out.view(),
            };
            for d in 0..dirs {
                let idx = l * dirs + d;
                let part = d_layer.slice(s![.., .., d * o..(d + 1) * o]);
                // The cell reads its output gradient in standard layout (and
                // the reverse direction in its own time order).
                let copy = if d == 1 && packing.active {
                    let mut c = take3(ws, (a0, 1, o), false);
                    let src = d_layer.as_slice().expect("packed rows are standard");
                    packing.reverse(src, (dirs * o, o), c.as_slice_mut().expect("standard"), (o, 0), o);
                    Some(c)
                } else {
                    (d == 1 || !part.is_standard_layout()).then(|| copy3(ws, part, d == 1))
                };
                let d_part = copy.as_ref().map_or(part, |c| c.view());
                state_rows(ws, d_final, idx, packing, &mut buffers.rows);
                let ran = self.cells[idx].backward_ws(
                    &trace.traces[idx],
                    d_part,
                    &buffers.rows,
                    &mut grads.cells[idx],
                    ws,
                    g,
                );
                give_all(ws, &mut buffers.rows);
                if let Some(c) = copy {
                    ws.give_array(c);
                }
                ran?;
                if !one_hot {
                    check_cell_result(
                        || format!("input gradient of cell l{l} d{d}"),
                        g.d_xs.shape(),
                        &[in_len, in_batch, in_width],
                    )?;
                }
                check_cell_result(
                    || format!("number of initial-state gradients of cell l{l} d{d}"),
                    &[g.d_init.len()],
                    &[widths.len()],
                )?;
                for (k, st) in g.d_init.iter().enumerate() {
                    check_cell_result(
                        || format!("initial-state gradient {k} of cell l{l} d{d}"),
                        st.shape(),
                        &[batch, widths[k]],
                    )?;
                    put_state(&mut d_init[k], idx, st, packing);
                }
                if one_hot {
                    // Ignored: the cell may have computed it anyway.
                } else if d == 0 {
                    ws.give_array(std::mem::replace(
                        &mut d_input,
                        std::mem::replace(&mut g.d_xs, empty3()),
                    ));
                } else if packing.active {
                    let src = g.d_xs.as_slice().expect("cell gradients are standard");
                    packing.add_reversed(src, d_input.as_slice_mut().expect("standard"), in_width);
                } else {
                    d_input += &g.d_xs.slice(s![..;-1, .., ..]);
                }
            }
            if l > 0 && trace.buffers.dropped {
                // The layer read the dropped-out output of the one below.
                apply_mask(
                    d_input.as_slice_mut().expect("workspace array"),
                    &trace.buffers.masks[l - 1],
                );
            }
            if let Some(a) = above.replace(d_input) {
                ws.give_array(a);
            }
        }
        ws.reclaim_input_grads(g);
        let first = above.expect("num_layers >= 1");
        *d_xs = if packing.active && !trace.traces[0].one_hot {
            let mut padded = take3(ws, (t_len, batch, first.shape()[2]), false);
            packing.unpack(first.as_slice().expect("standard"), padded.view_mut());
            ws.give_array(first);
            padded
        } else {
            first
        };
        Ok(())
    }

    /// One time step for streaming use (unidirectional layers only): `x` is
    /// `[B, I]`, `state` one `[L, B, width]` per cell state (updated in
    /// place); returns the last layer's output `[B, O]`.
    pub fn step(&self, x: ArrayView2<'_, F>, state: &mut [Array3<F>]) -> Result<Array2<F>, RnnError> {
        if self.bidirectional {
            return Err(RnnError::Invalid(
                "a bidirectional layer cannot be run step by step".into(),
            ));
        }
        let batch = x.shape()[0];
        check_batch("step input x [B, I]", batch)?;
        if x.shape()[1] != self.input_size() {
            return Err(RnnError::shape(
                "step input x [B, I]",
                &[batch, self.input_size()],
                x.shape(),
            ));
        }
        let widths = &self.state_widths;
        if state.len() != widths.len() {
            return Err(RnnError::shape(
                "step state (number of state tensors)",
                &[widths.len()],
                &[state.len()],
            ));
        }
        check_state_list("step state", state, self.num_layers, batch, widths)?;
        let mut input = x.to_owned();
        for (l, cell) in self.cells.iter().enumerate() {
            let mut st: Vec<Array2<F>> = state.iter().map(|s| s.index_axis(Axis(0), l).to_owned()).collect();
            input = cell.step(input.view(), &mut st)?;
            for (k, s) in st.iter().enumerate() {
                check_cell_result(|| format!("state {k} of cell l{l}"), s.shape(), &[batch, widths[k]])?;
                state[k].index_axis_mut(Axis(0), l).assign(s);
            }
        }
        Ok(input)
    }
}
