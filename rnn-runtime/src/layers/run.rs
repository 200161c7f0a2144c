//! Forward, training forward, BPTT and streaming steps of [`Layers`].
//!
//! Each direction of each layer runs its cell's own sequence code once over
//! the whole sequence; the reverse direction sees its input with the time
//! axis reversed, and its outputs (and, in backward, its output gradients
//! and input gradients) are reversed back, so every tensor the caller sees is
//! indexed by the true time step.

use super::Layers;
use crate::cell::CellInput;
use crate::cell::{Cell, Forward, InputGrads, Trace};
use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::Workspace;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

/// What [`Layers::forward_train`] keeps for [`Layers::backward`].
#[derive(Debug, Clone)]
pub struct LayersTrace<F> {
    /// The last layer's output, `[T, B, D*O]`.
    pub out: Array3<F>,
    /// Final states, one `[L*D, B, width]` per cell state.
    pub states: Vec<Array3<F>>,
    /// Each cell's trace, in order `l*D + d` (the reverse direction's trace
    /// is in its own, reversed, time order).
    pub traces: Vec<Trace<F>>,
    /// Sequence length `T`.
    pub len: usize,
    /// Batch size `B`.
    pub batch: usize,
}

impl<F> LayersTrace<F> {
    /// An empty trace for [`Layers::forward_train_ws`] to fill.
    pub fn empty() -> Self {
        LayersTrace {
            out: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            states: Vec::new(),
            traces: Vec::new(),
            len: 0,
            batch: 0,
        }
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

/// `a` with its time axis reversed, in standard layout.
fn reversed<F: Float>(a: ArrayView3<'_, F>) -> Array3<F> {
    a.slice(s![..;-1, .., ..]).as_standard_layout().into_owned()
}

/// The same input under a shorter lifetime.
/// (ndarray views are invariant in their lifetime, so this is a reborrow).
fn shorter<'s, 'l: 's, F>(input: CellInput<'l, F>) -> CellInput<'s, F> {
    match input {
        CellInput::Values(xs) => CellInput::Values(xs.reborrow()),
        CellInput::OneHot { ids, len, batch } => CellInput::OneHot { ids, len, batch },
    }
}

/// Owned storage for a time-reversed [`CellInput`].
enum Reversed<F> {
    Values(Array3<F>),
    Ids(Vec<usize>, usize, usize),
}

impl<F: Float> Reversed<F> {
    fn of(input: CellInput<'_, F>) -> Self {
        match input {
            CellInput::Values(xs) => Reversed::Values(reversed(xs)),
            CellInput::OneHot { ids, len, batch } => {
                let ids = (0..len)
                    .rev()
                    .flat_map(|t| ids[t * batch..(t + 1) * batch].iter().copied());
                Reversed::Ids(ids.collect(), len, batch)
            }
        }
    }

    fn input(&self) -> CellInput<'_, F> {
        match self {
            Reversed::Values(xs) => CellInput::Values(xs.view()),
            Reversed::Ids(ids, len, batch) => CellInput::OneHot {
                ids,
                len: *len,
                batch: *batch,
            },
        }
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

/// Row `idx` of every state tensor (empty stays empty: the cell uses zeros).
fn rows_of<F: Float>(states: &[Array3<F>], idx: usize) -> Vec<Array2<F>> {
    states.iter().map(|s| s.index_axis(Axis(0), idx).to_owned()).collect()
}

/// Checks that a cell returned `[rows, cols, width]` for `what`.
fn check_cell_result(what: String, got: &[usize], want: &[usize]) -> Result<(), RnnError> {
    if got != want {
        return Err(RnnError::shape(what, want, got));
    }
    Ok(())
}

impl<F: Float, C: Cell<F>> Layers<F, C> {
    fn check_input(&self, input: &CellInput<'_, F>, init: &[Array3<F>]) -> Result<(usize, usize), RnnError> {
        let (t_len, batch) = input.check("layers input xs [T, B, I]", self.input_size())?;
        check_state_list("initial state", init, self.cells.len(), batch, &self.state_sizes())?;
        Ok((t_len, batch))
    }

    /// Runs every cell with `run(cell, input, initial state, ws, result)`,
    /// wiring layers and directions together; `results` holds one result
    /// per cell afterwards (existing entries are refilled, so their memory
    /// can be reused).
    #[allow(clippy::type_complexity)]
    fn run_all<R: CellRun<F>>(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
        results: &mut Vec<R>,
        fresh: impl Fn() -> R,
        mut run: impl FnMut(&C, CellInput<'_, F>, &[Array2<F>], &mut Workspace<F>, &mut R) -> Result<(), RnnError>,
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let (t_len, batch) = self.check_input(&input, init)?;
        let dirs = self.num_directions();
        let o = self.cell_output_size();
        let widths = self.state_sizes();
        let mut finals: Vec<Array3<F>> = widths
            .iter()
            .map(|&w| Array3::zeros((self.cells.len(), batch, w)))
            .collect();
        results.truncate(self.cells.len());
        while results.len() < self.cells.len() {
            results.push(fresh());
        }
        let first = input;
        let mut below: Option<Array3<F>> = None;
        for l in 0..self.num_layers {
            let input = match &below {
                Some(a) => CellInput::Values(a.view()),
                None => shorter(first),
            };
            let mut layer_out = Array3::zeros((t_len, batch, dirs * o));
            for d in 0..dirs {
                let idx = l * dirs + d;
                let cell = &self.cells[idx];
                let start = rows_of(init, idx);
                let r = &mut results[idx];
                if d == 0 {
                    run(cell, input, &start, ws, r)?;
                } else {
                    run(cell, Reversed::of(input).input(), &start, ws, r)?;
                }
                let outs = r.outputs();
                check_cell_result(format!("outputs of cell l{l} d{d}"), outs.shape(), &[t_len, batch, o])?;
                let mut slot = layer_out.slice_mut(s![.., .., d * o..(d + 1) * o]);
                if d == 0 {
                    slot.assign(outs);
                } else {
                    slot.assign(&outs.slice(s![..;-1, .., ..]));
                }
                let states = r.states();
                check_cell_result(
                    format!("number of final states of cell l{l} d{d}"),
                    &[states.len()],
                    &[widths.len()],
                )?;
                for (k, st) in states.iter().enumerate() {
                    check_cell_result(
                        format!("final state {k} of cell l{l} d{d}"),
                        st.shape(),
                        &[batch, widths[k]],
                    )?;
                    finals[k].index_axis_mut(Axis(0), idx).assign(st);
                }
            }
            below = Some(layer_out);
        }
        let out = below.expect("num_layers >= 1");
        Ok((out, finals))
    }

    /// Inference over `xs[T, B, I]` from `init` (one `[L*D, B, width]` per
    /// cell state; an empty slice means zeros).
    ///
    /// Returns the last layer's output `[T, B, D*O]` and the final states,
    /// one `[L*D, B, width]` per cell state. Wrong shapes are
    /// [`RnnError::Shape`].
    pub fn forward(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        self.forward_input_ws(CellInput::Values(xs), init, &mut Workspace::new())
    }

    /// [`Layers::forward`] over values or one-hot ids (layer 0 reads them
    /// through [`Cell::forward_input_ws`]), with buffers from `ws`.
    pub fn forward_input_ws(
        &self,
        input: CellInput<'_, F>,
        init: &[Array3<F>],
        ws: &mut Workspace<F>,
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut results = Vec::new();
        self.run_all(input, init, ws, &mut results, Forward::empty, |c, x, s, ws, out| {
            c.forward_input_ws(x, s, ws, out)
        })
    }

    /// Training forward: like [`Layers::forward`], keeping what
    /// [`Layers::backward`] needs.
    pub fn forward_train(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<LayersTrace<F>, RnnError> {
        let mut trace = LayersTrace::empty();
        self.forward_train_ws(CellInput::Values(xs), init, &mut Workspace::new(), &mut trace)?;
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
        let (t_len, batch) = input.check("layers input xs [T, B, I]", self.input_size())?;
        let (out, states) = self.run_all(input, init, ws, &mut trace.traces, Trace::empty, |c, x, s, ws, tr| {
            c.forward_train_input_ws(x, s, ws, tr)
        })?;
        trace.out = out;
        trace.states = states;
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
    /// per cell state).
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
        self.backward_ws(trace, d_out, d_final, grads, &mut Workspace::new())
    }

    /// [`Layers::backward_into`] with buffers from `ws`. The input gradient
    /// is empty (`[0, 0, 0]`) when the forward pass read one-hot ids.
    pub fn backward_ws(
        &self,
        trace: &LayersTrace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array3<F>],
        grads: &mut Self,
        ws: &mut Workspace<F>,
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        self.check_grads(grads)?;
        let (t_len, batch) = (trace.len, trace.batch);
        let dirs = self.num_directions();
        let o = self.cell_output_size();
        let widths = self.state_sizes();
        if trace.traces.len() != self.cells.len() {
            return Err(RnnError::shape(
                "trace (number of cell traces)",
                &[self.cells.len()],
                &[trace.traces.len()],
            ));
        }
        check_cell_result(
            "gradient of the output d_out".into(),
            d_out.shape(),
            &[t_len, batch, dirs * o],
        )?;
        check_state_list("gradient of the final state", d_final, self.cells.len(), batch, &widths)?;
        let mut d_init: Vec<Array3<F>> = widths
            .iter()
            .map(|&w| Array3::zeros((self.cells.len(), batch, w)))
            .collect();
        let mut g = InputGrads::empty();
        let mut above: Option<Array3<F>> = None;
        for l in (0..self.num_layers).rev() {
            let d_layer = match &above {
                Some(a) => a.view(),
                None => d_out,
            };
            // Layer 0 of a one-hot trace has no input gradient.
            let one_hot = l == 0 && trace.traces[0].one_hot;
            let in_width = if one_hot { 0 } else { self.cells[l * dirs].input_size() };
            let in_len = if one_hot { 0 } else { t_len };
            let in_batch = if one_hot { 0 } else { batch };
            let mut d_input = Array3::zeros((in_len, in_batch, in_width));
            for d in 0..dirs {
                let idx = l * dirs + d;
                let part = d_layer.slice(s![.., .., d * o..(d + 1) * o]);
                let d_part = if d == 0 {
                    part.as_standard_layout()
                } else {
                    reversed(part).into()
                };
                let d_fin = rows_of(d_final, idx);
                self.cells[idx].backward_ws(
                    &trace.traces[idx],
                    d_part.view(),
                    &d_fin,
                    &mut grads.cells[idx],
                    ws,
                    &mut g,
                )?;
                if !one_hot {
                    check_cell_result(
                        format!("input gradient of cell l{l} d{d}"),
                        g.d_xs.shape(),
                        &[in_len, in_batch, in_width],
                    )?;
                }
                check_cell_result(
                    format!("number of initial-state gradients of cell l{l} d{d}"),
                    &[g.d_init.len()],
                    &[widths.len()],
                )?;
                for (k, st) in g.d_init.iter().enumerate() {
                    check_cell_result(
                        format!("initial-state gradient {k} of cell l{l} d{d}"),
                        st.shape(),
                        &[batch, widths[k]],
                    )?;
                    d_init[k].index_axis_mut(Axis(0), idx).assign(st);
                }
                if one_hot {
                    // Ignored: the cell may have computed it anyway.
                } else if d == 0 {
                    d_input += &g.d_xs;
                } else {
                    d_input += &g.d_xs.slice(s![..;-1, .., ..]);
                }
            }
            above = Some(d_input);
        }
        ws.reclaim_input_grads(&mut g);
        Ok((above.expect("num_layers >= 1"), d_init))
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
        if x.shape()[1] != self.input_size() {
            return Err(RnnError::shape(
                "step input x [B, I]",
                &[batch, self.input_size()],
                x.shape(),
            ));
        }
        let widths = self.state_sizes();
        if state.len() != widths.len() {
            return Err(RnnError::shape(
                "step state (number of state tensors)",
                &[widths.len()],
                &[state.len()],
            ));
        }
        check_state_list("step state", state, self.num_layers, batch, &widths)?;
        let mut input = x.to_owned();
        for (l, cell) in self.cells.iter().enumerate() {
            let mut st = rows_of(state, l);
            input = cell.step(input.view(), &mut st)?;
            for (k, s) in st.iter().enumerate() {
                check_cell_result(format!("state {k} of cell l{l}"), s.shape(), &[batch, widths[k]])?;
                state[k].index_axis_mut(Axis(0), l).assign(s);
            }
        }
        Ok(input)
    }
}
