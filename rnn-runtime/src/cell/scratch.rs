//! One cell's steps without allocation: [`Scratch`] keeps what a step
//! fills (the training [`Trace`], the inference [`Forward`], the
//! [`InputGrads`] and the parameter gradients) and the [`Workspace`] their
//! buffers come from, from one step to the next.
//!
//! Every `*_ws` pass of [`Cell`] gives the old contents of what it fills
//! back to the workspace before it takes new buffers, so after a first step
//! (and a second, while the pool settles) a step of the same shapes reuses
//! the memory of the one before and allocates nothing (`tests/no_alloc.rs`
//! counts).

use super::Cell;
use super::input::CellInput;
use super::packed::BatchSizes;
use super::records::{Forward, InputGrads, Trace};
use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::Workspace;
use ndarray::{Array2, ArrayView3};

/// The buffers of one cell's training and inference steps, reused across
/// steps.
///
/// Build one per cell (and per float type), then run steps through it:
/// [`Scratch::train_step`] when the output gradient is known before the
/// forward pass, [`Scratch::forward_train`] and [`Scratch::backward`] when
/// it is computed from the outputs (a loss), [`Scratch::forward`] for
/// inference; the `_packed` forms for a batch of sequences of different
/// lengths (see [`Cell::forward_packed_ws`]). The results stay in the
/// scratch until the next step of the same kind.
#[derive(Debug)]
pub struct Scratch<F: Float, C: Cell<F>> {
    ws: Workspace<F>,
    trace: Trace<F>,
    forward: Forward<F>,
    input_grads: InputGrads<F>,
    grads: C,
}

impl<F: Float, C: Cell<F>> Scratch<F, C> {
    /// Empty buffers and zero parameter gradients for a cell of `dims`.
    pub fn new(dims: C::Dims) -> Self {
        Scratch {
            ws: Workspace::new(),
            trace: Trace::empty(),
            forward: Forward::empty(),
            input_grads: InputGrads::empty(),
            grads: C::zeros(dims),
        }
    }

    /// Inference over `input` (`[T, B, I]` values or one-hot ids) from
    /// `init` (empty slice: zeros); returns the outputs and final states.
    pub fn forward(&mut self, cell: &C, input: CellInput<'_, F>, init: &[Array2<F>]) -> Result<&Forward<F>, RnnError> {
        cell.forward_input_ws(input, init, &mut self.ws, &mut self.forward)?;
        Ok(&self.forward)
    }

    /// Training forward pass over `input` from `init`: keeps what
    /// [`Scratch::backward`] needs, and returns it (the outputs are
    /// [`Trace::outputs`]).
    pub fn forward_train(
        &mut self,
        cell: &C,
        input: CellInput<'_, F>,
        init: &[Array2<F>],
    ) -> Result<&Trace<F>, RnnError> {
        cell.forward_train_input_ws(input, init, &mut self.ws, &mut self.trace)?;
        Ok(&self.trace)
    }

    /// BPTT through the last [`Scratch::forward_train`], given the output
    /// gradients `d_out[T, B, O]` (`[N, 1, O]` after
    /// [`Scratch::forward_train_packed`]) and those of the final states
    /// (empty slice: zeros): adds the parameter gradients into
    /// [`Scratch::grads`] and returns the gradients of the inputs and
    /// initial states.
    pub fn backward(
        &mut self,
        cell: &C,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
    ) -> Result<&InputGrads<F>, RnnError> {
        cell.backward_ws(
            &self.trace,
            d_out,
            d_final,
            &mut self.grads,
            &mut self.ws,
            &mut self.input_grads,
        )?;
        Ok(&self.input_grads)
    }

    /// A whole training step whose output gradients are known in advance:
    /// zeroes the parameter gradients, runs [`Scratch::forward_train`] and
    /// [`Scratch::backward`]. Afterwards [`Scratch::grads`] holds the
    /// gradients of this step alone.
    pub fn train_step(
        &mut self,
        cell: &C,
        input: CellInput<'_, F>,
        init: &[Array2<F>],
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
    ) -> Result<(), RnnError> {
        self.zero_grads();
        self.forward_train(cell, input, init)?;
        self.backward(cell, d_out, d_final)?;
        Ok(())
    }

    /// Inference over a packed batch (see [`Cell::forward_packed_ws`]).
    pub fn forward_packed(
        &mut self,
        cell: &C,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
    ) -> Result<&Forward<F>, RnnError> {
        cell.forward_packed_ws(input, sizes, init, &mut self.ws, &mut self.forward)?;
        Ok(&self.forward)
    }

    /// Training forward pass over a packed batch (see
    /// [`Cell::forward_train_packed_ws`]); [`Scratch::backward`] then takes
    /// the packed output gradient `[N, 1, O]`.
    pub fn forward_train_packed(
        &mut self,
        cell: &C,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
    ) -> Result<&Trace<F>, RnnError> {
        cell.forward_train_packed_ws(input, sizes, init, &mut self.ws, &mut self.trace)?;
        Ok(&self.trace)
    }

    /// [`Scratch::train_step`] over a packed batch: `input` and `d_out`
    /// are packed rows (`[N, 1, width]`), `init` and `d_final` `[B, width]`
    /// in the same (sorted) order.
    pub fn train_step_packed(
        &mut self,
        cell: &C,
        input: CellInput<'_, F>,
        sizes: BatchSizes<'_>,
        init: &[Array2<F>],
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
    ) -> Result<(), RnnError> {
        self.zero_grads();
        self.forward_train_packed(cell, input, sizes, init)?;
        self.backward(cell, d_out, d_final)?;
        Ok(())
    }

    /// Sets the parameter gradients to zero (without allocating, for
    /// emitted cells).
    pub fn zero_grads(&mut self) {
        self.grads.fill_zero();
    }

    /// What the last training forward pass kept (its outputs and final states).
    pub fn trace(&self) -> &Trace<F> {
        &self.trace
    }

    /// The result of the last inference pass.
    pub fn forward_result(&self) -> &Forward<F> {
        &self.forward
    }

    /// The parameter gradients summed over the backward passes since they
    /// were last zeroed (the cell's own type: each parameter field holds
    /// its gradient).
    pub fn grads(&self) -> &C {
        &self.grads
    }

    /// The parameter gradients, mutably (to clip or scale them in place).
    pub fn grads_mut(&mut self) -> &mut C {
        &mut self.grads
    }

    /// The gradients of the inputs and initial states from the last backward pass.
    pub fn input_grads(&self) -> &InputGrads<F> {
        &self.input_grads
    }

    /// The workspace the steps take their buffers from, for other work
    /// between steps that should reuse it too.
    pub fn workspace(&mut self) -> &mut Workspace<F> {
        &mut self.ws
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Kind, TestDims, TestRnn};
    use ndarray::Array3;
    use rand::SeedableRng;

    #[test]
    fn steps_match_the_allocating_passes_and_repeat_exactly() {
        let dims = TestDims {
            i: 3,
            h: 4,
            kind: Kind::Leaky,
        };
        let cell = TestRnn::<f64>::new(dims, &mut rand::rngs::StdRng::seed_from_u64(7));
        let xs = Array3::from_shape_fn((5, 2, 3), |(t, b, i)| ((t * 6 + b * 3 + i) as f64 * 0.3).sin());
        let d_out = Array3::from_shape_fn((5, 2, 4), |(t, b, j)| ((t * 8 + b * 4 + j) as f64 * 0.7).cos());
        let trace = cell.forward_train(xs.view(), &[]).unwrap();
        let (grads, input) = cell.backward(&trace, d_out.view(), &[]).unwrap();
        let inferred = cell.forward(xs.view(), &[]).unwrap();

        let mut s = Scratch::new(dims);
        for _ in 0..2 {
            s.train_step(&cell, CellInput::Values(xs.view()), &[], d_out.view(), &[])
                .unwrap();
            assert_eq!(s.trace().outputs, trace.outputs);
            assert_eq!(s.grads(), &grads);
            assert_eq!(s.input_grads().d_xs, input.d_xs);
            assert_eq!(s.input_grads().d_init, input.d_init);
            let f = s.forward(&cell, CellInput::Values(xs.view()), &[]).unwrap();
            assert_eq!(f.outputs, inferred.outputs);
            assert_eq!(f.states, inferred.states);
        }
        // Without zeroing, backward passes add up.
        s.forward_train(&cell, CellInput::Values(xs.view()), &[]).unwrap();
        s.backward(&cell, d_out.view(), &[]).unwrap();
        for (a, b) in s.grads().weight_hh.iter().zip(&grads.weight_hh) {
            assert!((a - 2.0 * b).abs() < 1e-12, "{a} vs 2 * {b}");
        }
    }
}
