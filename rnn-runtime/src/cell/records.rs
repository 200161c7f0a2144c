//! What a pass over a sequence produces and keeps: [`Forward`] (inference),
//! [`Trace`] (a training forward pass, read by BPTT) and [`InputGrads`]
//! (BPTT's gradients of the inputs and initial states), each with an empty
//! value to fill and a way to give its buffers back to a [`Workspace`];
//! and the shape checks every emitted pass starts with.

use crate::error::RnnError;
use crate::workspace::Workspace;
use ndarray::{Array2, Array3, ArrayView3};

/// Outputs of an inference pass: the output at every step and the final states.
#[derive(Debug, Clone)]
pub struct Forward<F> {
    /// `[T, B, output_size]`; for a packed batch
    /// ([`Cell::forward_packed_ws`](crate::Cell::forward_packed_ws)) its
    /// packed rows, `[N, 1, output_size]`.
    pub outputs: Array3<F>,
    /// Final value of each state, `[B, width]`, in declaration order.
    pub states: Vec<Array2<F>>,
}

/// What a training forward pass keeps for backpropagation through time.
#[derive(Debug, Clone)]
pub struct Trace<F> {
    /// `[T, B, output_size]`, or `[N, 1, output_size]` for a packed batch
    /// (as the input was given).
    pub outputs: Array3<F>,
    /// Final value of each state, `[B, width]`.
    pub states: Vec<Array2<F>>,
    /// Sequence length `T` (the longest, for a packed batch).
    pub len: usize,
    /// Batch size `B`.
    pub batch: usize,
    /// The sequences running at each step of a packed batch; empty when
    /// every step ran the whole batch (see [`Trace::layout`]).
    pub batch_sizes: Vec<usize>,
    /// Saved buffers, in the order the emitted code defines (inputs, state
    /// history, saved intermediates). Read by the emitted backward only.
    #[doc(hidden)]
    pub saved: Vec<Vec<F>>,
    /// Whether the forward pass read one-hot ids ([`CellInput::OneHot`](super::CellInput::OneHot)).
    pub one_hot: bool,
    /// The ids of a one-hot input, kept for the weight gradient.
    #[doc(hidden)]
    pub tokens: Vec<usize>,
    /// Which cell made the trace ([`trace_tag`]: its type and sizes; 0 for
    /// none), so that a backward pass refuses another cell's trace.
    #[doc(hidden)]
    pub producer: u64,
}

/// Gradients with respect to a sequence's inputs and initial states.
#[derive(Debug, Clone)]
pub struct InputGrads<F> {
    /// `[T, B, input_size]` (`[N, 1, input_size]` after a packed forward
    /// pass: the input's axes). When the forward pass read one-hot ids, which
    /// have no gradient, emitted cells leave it empty (`[0, 0, 0]`) and
    /// [`crate::Layers`] ignores it.
    pub d_xs: Array3<F>,
    /// One `[B, width]` per state, in declaration order.
    pub d_init: Vec<Array2<F>>,
}

impl<F> Forward<F> {
    /// An empty result to be filled by [`crate::Cell::forward_ws`].
    pub fn empty() -> Self {
        Forward {
            outputs: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            states: Vec::new(),
        }
    }
}

impl<F> Trace<F> {
    /// An empty trace to be filled by [`crate::Cell::forward_train_ws`].
    pub fn empty() -> Self {
        Trace {
            outputs: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            states: Vec::new(),
            len: 0,
            batch: 0,
            batch_sizes: Vec::new(),
            saved: Vec::new(),
            one_hot: false,
            tokens: Vec::new(),
            producer: 0,
        }
    }
}

impl<F> InputGrads<F> {
    /// Empty gradients to be filled by [`crate::Cell::backward_ws`].
    pub fn empty() -> Self {
        InputGrads {
            d_xs: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            d_init: Vec::new(),
        }
    }
}

/// Giving a record's buffers back. Emitted passes call these first, so
/// that a result passed in again is refilled from its own memory. They are
/// methods of [`Workspace`] (the emitted code calls `ws.reclaim_trace(..)`),
/// defined here, beside the records, so that the workspace knows nothing of
/// cells.
impl<F: num_traits::Float> Workspace<F> {
    /// Takes back everything `trace` holds, leaving it empty (its lists keep
    /// their capacity for the next fill).
    pub fn reclaim_trace(&mut self, trace: &mut Trace<F>) {
        let out = std::mem::replace(
            &mut trace.outputs,
            Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
        );
        self.give_array(out);
        for s in trace.states.drain(..) {
            self.give_array(s);
        }
        for v in trace.saved.drain(..) {
            self.give(v);
        }
        trace.len = 0;
        trace.batch = 0;
        trace.batch_sizes.clear();
        trace.one_hot = false;
        trace.tokens.clear();
        trace.producer = 0;
    }

    /// Takes back everything `f` holds, leaving it empty.
    pub fn reclaim_forward(&mut self, f: &mut Forward<F>) {
        let out = std::mem::replace(
            &mut f.outputs,
            Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
        );
        self.give_array(out);
        for s in f.states.drain(..) {
            self.give_array(s);
        }
    }

    /// Takes back everything `g` holds, leaving it empty.
    pub fn reclaim_input_grads(&mut self, g: &mut InputGrads<F>) {
        let d = std::mem::replace(
            &mut g.d_xs,
            Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
        );
        self.give_array(d);
        for s in g.d_init.drain(..) {
            self.give_array(s);
        }
    }
}

/// Checks that a pass runs at least one sequence: `batch` is the batch
/// size `B` of the input `what`.
///
/// Errors: [`RnnError::Invalid`] for `B = 0` (a sequence length of 0 is
/// valid; a batch of no sequences is not).
pub fn check_batch(what: &str, batch: usize) -> Result<(), RnnError> {
    if batch == 0 {
        return Err(RnnError::Invalid(format!(
            "{what}: batch size 0; a batch needs at least 1 sequence"
        )));
    }
    Ok(())
}

/// Checks that every size of the cell `cell` (`(name, value)` pairs, as
/// its dims struct names them) is at least 1. Emitted passes call it first.
///
/// Errors: [`RnnError::Dimension`] naming the first size that is 0.
pub fn check_dims(cell: &str, dims: &[(&str, usize)]) -> Result<(), RnnError> {
    match dims.iter().find(|(_, v)| *v == 0) {
        None => Ok(()),
        Some((name, _)) => Err(RnnError::Dimension(format!(
            "{cell} has size {name} = 0; every size of a cell must be at least 1"
        ))),
    }
}

/// The tag a training pass of the cell type `C` with sizes `dims` leaves
/// in [`Trace::producer`]: a hash of the type and the sizes, never 0.
pub fn trace_tag<C: 'static>(dims: &[usize]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    std::any::TypeId::of::<C>().hash(&mut h);
    dims.hash(&mut h);
    h.finish().max(1)
}

/// Checks, before a backward pass reads it, that `trace` was made by the
/// training pass of the cell with tag `tag` ([`trace_tag`]) and that its
/// public fields still agree with each other: `n_saved` saved buffers,
/// outputs `[a0, a1, output_size]` in standard layout over the trace's
/// rows, valid batch sizes. Every product is checked, so that a trace
/// whose fields were changed gives an error, not an overflow.
///
/// Errors: [`RnnError::Invalid`] saying what does not match.
pub fn check_trace<F>(trace: &Trace<F>, tag: u64, n_saved: usize, output_size: usize) -> Result<(), RnnError> {
    let bad = |why: &str| {
        Err(RnnError::Invalid(format!(
            "trace was not made by this cell's forward_train: {why}"
        )))
    };
    if trace.producer != tag {
        return bad("it comes from another cell type, or a cell of other sizes");
    }
    if trace.saved.len() != n_saved {
        return bad("wrong number of saved buffers");
    }
    if trace.batch == 0 {
        return bad("batch size 0");
    }
    let rows = if trace.batch_sizes.is_empty() {
        trace.len.checked_mul(trace.batch)
    } else {
        if trace.batch_sizes.len() != trace.len {
            return bad("its batch sizes do not match its length");
        }
        super::BatchSizes::new(&trace.batch_sizes, trace.batch)
            .ok()
            .map(|s| s.rows())
    };
    let Some(rows) = rows else {
        return bad("its length, batch and batch sizes do not agree");
    };
    let s = trace.outputs.shape();
    if s[2] != output_size || s[0].checked_mul(s[1]) != Some(rows) || !trace.outputs.is_standard_layout() {
        return bad("its outputs do not match its rows and the cell's output width");
    }
    Ok(())
}

/// Checks that every saved buffer of `trace` holds `rows * width` values
/// for its `(rows, width)` in `shapes` (`rows` is `None` when it
/// overflowed, which no buffer matches). Emitted backward passes call it
/// after [`check_trace`].
///
/// Errors: [`RnnError::Invalid`] naming the first buffer of another length.
pub fn check_saved<F>(trace: &Trace<F>, shapes: &[(Option<usize>, usize)]) -> Result<(), RnnError> {
    for (k, (buf, &(rows, width))) in trace.saved.iter().zip(shapes).enumerate() {
        let want = rows.and_then(|r| r.checked_mul(width));
        if want != Some(buf.len()) {
            return Err(RnnError::Invalid(format!(
                "trace was not made by this cell's forward_train: saved buffer {k} has {} values, expected {}",
                buf.len(),
                want.map_or_else(|| "more than fit in memory".to_string(), |w| w.to_string())
            )));
        }
    }
    Ok(())
}

/// Checks `xs` is `[T, B, width]` and returns `(T, B)`.
pub fn check_input<F>(what: &str, xs: &ArrayView3<'_, F>, width: usize) -> Result<(usize, usize), RnnError> {
    let s = xs.shape();
    if s[2] != width {
        return Err(RnnError::shape(what, &[s[0], s[1], width], s));
    }
    Ok((s[0], s[1]))
}

/// Checks a state list (empty means zeros) against the widths and batch.
pub fn check_states<F>(what: &str, states: &[Array2<F>], widths: &[usize], batch: usize) -> Result<(), RnnError> {
    if states.is_empty() {
        return Ok(());
    }
    if states.len() != widths.len() {
        return Err(RnnError::shape(
            format!("{what} (number of states)"),
            &[widths.len()],
            &[states.len()],
        ));
    }
    for (k, (s, &w)) in states.iter().zip(widths).enumerate() {
        if s.shape() != [batch, w] {
            return Err(RnnError::shape(format!("{what}[{k}]"), &[batch, w], s.shape()));
        }
    }
    Ok(())
}
