//! [`SeqScratch`]: the memory a [`SeqModel`](super::SeqModel) reuses from
//! one step to the next.

use crate::float::Float;
use crate::layers::{LayersInputGrads, LayersOutput, LayersTrace};
use crate::workspace::Workspace;
use ndarray::{Array2, Array3};

/// Which pass last filled a [`SeqScratch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    None,
    Inference,
    Training,
}

/// Buffers, traces and results that the `_ws` methods of
/// [`SeqModel`](super::SeqModel) reuse: pass the same scratch at every
/// step and, once it has seen the shapes, a step allocates nothing.
///
/// After a call it also holds what the step produced besides the loss:
/// [`SeqScratch::final_state`], [`SeqScratch::step_grad_norms`] and the
/// head's output [`SeqScratch::logits`].
///
/// ```
/// use rnn_runtime::model::SeqScratch;
/// let scratch = SeqScratch::<f32>::new();
/// assert!(scratch.final_state().is_empty());
/// ```
#[derive(Debug)]
pub struct SeqScratch<F> {
    pub(super) ws: Workspace<F>,
    pub(super) trace: LayersTrace<F>,
    pub(super) out: LayersOutput<F>,
    pub(super) input_grads: LayersInputGrads<F>,
    /// The first layer's input when it is written out (embedding rows, or
    /// dense values not in standard layout).
    pub(super) xs: Array3<F>,
    /// The head's output `z[T*B, O]`.
    pub(super) z: Array2<F>,
    /// `dL/dz`.
    pub(super) dz: Array2<F>,
    /// The sigmoid's outputs, for MSE after a sigmoid.
    pub(super) y: Array2<F>,
    /// `dL/dh`, the gradient of what the head reads `[T*B or B, D*H]`.
    pub(super) dh: Array2<F>,
    /// `dL/dh` of the layers' whole output `[T, B, D*H]` when the head pools.
    pub(super) dh_full: Array3<F>,
    /// The pooled rows `[B, D*H]` a pooling head reads.
    pub(super) pooled: Array2<F>,
    /// What the head reads after head dropout.
    pub(super) head_in: Array2<F>,
    /// The dropout masks of the input and of the head's input.
    pub(super) in_mask: Vec<F>,
    pub(super) head_mask: Vec<F>,
    /// The learned initial states broadcast over the batch.
    pub(super) init_buf: Vec<Array3<F>>,
    /// The sequences' lengths and the per-step loss mask they give.
    pub(super) lengths: Vec<usize>,
    pub(super) mask: Vec<bool>,
    pub(super) step_grad_norms: Vec<f64>,
    pub(super) pass: Pass,
    pub(super) len: usize,
    pub(super) batch: usize,
}

impl<F: Float> SeqScratch<F> {
    /// Empty scratch memory (filled by the first step).
    pub fn new() -> Self {
        let empty2 = || Array2::from_shape_vec((0, 0), Vec::new()).expect("empty");
        SeqScratch {
            ws: Workspace::new(),
            trace: LayersTrace::empty(),
            out: LayersOutput::empty(),
            input_grads: LayersInputGrads::empty(),
            xs: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            z: empty2(),
            dz: empty2(),
            y: empty2(),
            dh: empty2(),
            dh_full: Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"),
            pooled: empty2(),
            head_in: empty2(),
            in_mask: Vec::new(),
            head_mask: Vec::new(),
            init_buf: Vec::new(),
            lengths: Vec::new(),
            mask: Vec::new(),
            step_grad_norms: Vec::new(),
            pass: Pass::None,
            len: 0,
            batch: 0,
        }
    }

    /// The final states of the last pass, one `[L*D, B, width]` per cell
    /// state (the values to carry into the next chunk of a long sequence);
    /// empty before the first pass.
    pub fn final_state(&self) -> &[Array3<F>] {
        match self.pass {
            Pass::None => &[],
            Pass::Inference => &self.out.states,
            Pass::Training => &self.trace.states,
        }
    }

    /// After [`SeqModel::loss_and_grad_ws`](super::SeqModel::loss_and_grad_ws):
    /// the L2 norm of the gradient reaching each step's input (`T` values;
    /// see [`SeqOutcome::step_grad_norms`](super::SeqOutcome)). Empty for
    /// one-hot inputs, which are looked up as ids and have no gradient.
    pub fn step_grad_norms(&self) -> &[f64] {
        &self.step_grad_norms
    }

    /// After [`SeqModel::loss_and_grad_ws`](super::SeqModel::loss_and_grad_ws):
    /// the gradient of the loss with respect to the initial states the pass
    /// started from, one `[L*D, B, width]` per cell state.
    pub fn init_grads(&self) -> &[Array3<F>] {
        match self.pass {
            Pass::Training => &self.input_grads.d_init,
            _ => &[],
        }
    }

    /// The head's output before the activation of the last pass, `[T*B, O]`
    /// (time-major rows), or `[B, O]` for a head that pools each sequence.
    pub fn logits(&self) -> ndarray::ArrayView2<'_, F> {
        self.z.view()
    }

    /// `(T, B)` of the last pass.
    pub fn shape(&self) -> (usize, usize) {
        (self.len, self.batch)
    }
}

impl<F: Float> Default for SeqScratch<F> {
    fn default() -> Self {
        Self::new()
    }
}
