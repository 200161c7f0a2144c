//! Forward, training forward, BPTT and streaming steps of [`Layers`].
//!
//! Each direction of each layer runs its cell's own sequence code once over
//! the whole sequence; the reverse direction sees its input with the time
//! axis reversed, and its outputs (and, in backward, its output gradients
//! and input gradients) are reversed back, so every tensor the caller sees is
//! indexed by the true time step.

use super::Layers;
use crate::cell::{Cell, Forward, Trace};
use crate::error::RnnError;
use crate::float::Float;
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
    fn check_input(&self, xs: &ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<(usize, usize), RnnError> {
        let s = xs.shape();
        if s[2] != self.input_size() {
            return Err(RnnError::shape(
                "layers input xs [T, B, I]",
                &[s[0], s[1], self.input_size()],
                s,
            ));
        }
        check_state_list("initial state", init, self.cells.len(), s[1], &self.state_sizes())?;
        Ok((s[0], s[1]))
    }

    /// Runs every cell with `run`, wiring layers and directions together.
    #[allow(clippy::type_complexity)]
    fn run_all<R: CellRun<F>>(
        &self,
        xs: ArrayView3<'_, F>,
        init: &[Array3<F>],
        mut run: impl FnMut(&C, ArrayView3<'_, F>, &[Array2<F>]) -> Result<R, RnnError>,
    ) -> Result<(Array3<F>, Vec<Array3<F>>, Vec<R>), RnnError> {
        let (t_len, batch) = self.check_input(&xs, init)?;
        let dirs = self.num_directions();
        let o = self.cell_output_size();
        let widths = self.state_sizes();
        let mut finals: Vec<Array3<F>> = widths
            .iter()
            .map(|&w| Array3::zeros((self.cells.len(), batch, w)))
            .collect();
        let mut results = Vec::with_capacity(self.cells.len());
        let first = xs.as_standard_layout();
        let mut below: Option<Array3<F>> = None;
        for l in 0..self.num_layers {
            let input = match &below {
                Some(a) => a.view(),
                None => first.view(),
            };
            let mut layer_out = Array3::zeros((t_len, batch, dirs * o));
            for d in 0..dirs {
                let idx = l * dirs + d;
                let cell = &self.cells[idx];
                let start = rows_of(init, idx);
                let r = if d == 0 {
                    run(cell, input, &start)?
                } else {
                    run(cell, reversed(input).view(), &start)?
                };
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
                results.push(r);
            }
            below = Some(layer_out);
        }
        let out = below.expect("num_layers >= 1");
        Ok((out, finals, results))
    }

    /// Inference over `xs[T, B, I]` from `init` (one `[L*D, B, width]` per
    /// cell state; an empty slice means zeros).
    ///
    /// Returns the last layer's output `[T, B, D*O]` and the final states,
    /// one `[L*D, B, width]` per cell state. Wrong shapes are
    /// [`RnnError::Shape`].
    pub fn forward(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let (out, states, _) = self.run_all(xs, init, |c, x, s| c.forward(x, s))?;
        Ok((out, states))
    }

    /// Training forward: like [`Layers::forward`], keeping what
    /// [`Layers::backward`] needs.
    pub fn forward_train(&self, xs: ArrayView3<'_, F>, init: &[Array3<F>]) -> Result<LayersTrace<F>, RnnError> {
        let (t_len, batch) = (xs.shape()[0], xs.shape()[1]);
        let (out, states, traces) = self.run_all(xs, init, |c, x, s| c.forward_train(x, s))?;
        Ok(LayersTrace {
            out,
            states,
            traces,
            len: t_len,
            batch,
        })
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
        let mut above: Option<Array3<F>> = None;
        for l in (0..self.num_layers).rev() {
            let d_layer = match &above {
                Some(a) => a.view(),
                None => d_out,
            };
            let in_width = self.cells[l * dirs].input_size();
            let mut d_input = Array3::zeros((t_len, batch, in_width));
            for d in 0..dirs {
                let idx = l * dirs + d;
                let part = d_layer.slice(s![.., .., d * o..(d + 1) * o]);
                let d_part = if d == 0 {
                    part.as_standard_layout().into_owned()
                } else {
                    reversed(part)
                };
                let d_fin = rows_of(d_final, idx);
                let g =
                    self.cells[idx].backward_into(&trace.traces[idx], d_part.view(), &d_fin, &mut grads.cells[idx])?;
                check_cell_result(
                    format!("input gradient of cell l{l} d{d}"),
                    g.d_xs.shape(),
                    &[t_len, batch, in_width],
                )?;
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
                if d == 0 {
                    d_input += &g.d_xs;
                } else {
                    d_input += &g.d_xs.slice(s![..;-1, .., ..]);
                }
            }
            above = Some(d_input);
        }
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
