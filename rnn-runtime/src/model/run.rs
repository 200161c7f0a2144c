//! The passes of a [`SeqModel`]: encoding, inference, loss and BPTT, each
//! on a [`SeqScratch`] (the `_ws` methods) or on a fresh one.
//!
//! In: a [`SeqInput`] (ids or values) and, for the loss, a [`SeqTarget`]
//! and an optional mask; out: the head's outputs, the mean loss, the
//! gradient of every parameter. One-hot ids reach the cells as ids
//! ([`CellInput::OneHot`]); embedding rows and dense values as values.

use super::head::{self, resize2};
use super::scratch::Pass;
use super::{Encoding, SeqInput, SeqModel, SeqScratch, SeqTarget, reshape_err};
use crate::cell::Cell;
use crate::cell::input::CellInput;
use crate::error::RnnError;
use crate::float::Float;
use crate::nn::encoding::{check_ids, embedding_backward, embedding_lookup, one_hot};
use crate::workspace::{Workspace, array3};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

/// What [`SeqModel::loss_and_grad_into`] reports besides the gradients.
#[derive(Debug, Clone)]
pub struct SeqOutcome<F> {
    /// The mean loss over counted positions (0 when none is counted).
    pub loss: f64,
    /// How many positions `(t, b)` the mask counted.
    pub count: usize,
    /// Final states, one `[L*D, B, width]` per cell state (the values to
    /// carry into the next chunk of a long sequence).
    pub final_state: Vec<Array3<F>>,
    /// The gradient reaching step `t`: the L2 norm, over the batch and the
    /// input width, of `dL/dxs[t]`, the gradient of the loss with respect to
    /// the first recurrent layer's input at step `t` (`T` values). Plotted
    /// against `t` it shows vanishing or exploding gradients. Empty for a
    /// one-hot encoding: its ids are looked up, and have no gradient.
    pub step_grad_norms: Vec<f64>,
}

/// The loss of one pass of [`SeqModel::loss_and_grad_ws`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqLoss {
    /// The mean loss over counted positions (0 when none is counted).
    pub loss: f64,
    /// How many positions `(t, b)` the mask counted.
    pub count: usize,
}

/// The first layer's input for `input` under `encoding`: ids stay ids for a
/// one-hot encoding; embedding rows (and dense values not in standard
/// layout) are written into `xs` with memory from `ws`.
fn cell_input<'c, 'a: 'c, F: Float>(
    encoding: Encoding,
    embed: Option<&Array2<F>>,
    input: &SeqInput<'a, F>,
    xs: &'c mut Array3<F>,
    ws: &mut Workspace<F>,
) -> Result<CellInput<'c, F>, RnnError> {
    match (encoding, *input) {
        (Encoding::OneHot { vocab }, SeqInput::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            Ok(CellInput::OneHot { ids, len, batch })
        }
        (Encoding::Embedding { vocab, dim }, SeqInput::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            let table = embed.ok_or_else(|| RnnError::Invalid("the model has no embedding table".into()))?;
            if table.dim() != (vocab, dim) {
                return Err(RnnError::shape("embed.weight", &[vocab, dim], table.shape()));
            }
            resize3(ws, xs, (len, batch, dim));
            embedding_lookup(table, ids, xs.view_mut());
            Ok(CellInput::Values(xs.view()))
        }
        (Encoding::Dense { width }, SeqInput::Values(v)) => {
            let s = v.shape();
            if s[2] != width {
                return Err(RnnError::shape("dense input [T, B, width]", &[s[0], s[1], width], s));
            }
            if v.is_standard_layout() {
                return Ok(CellInput::Values(v.reborrow()));
            }
            resize3(ws, xs, v.dim());
            xs.assign(&v);
            Ok(CellInput::Values(xs.view()))
        }
        (Encoding::Dense { width }, SeqInput::Tokens { .. }) => Err(RnnError::Invalid(format!(
            "the model takes real values [T, B, {width}] (dense encoding), not token ids"
        ))),
        (enc, SeqInput::Values(_)) => Err(RnnError::Invalid(format!(
            "the model takes token ids ({} encoding), not real values",
            enc.name()
        ))),
    }
}

/// Makes `a` a `[t, b, w]` array, reusing its memory when the shape is
/// already right (the contents are left for the caller to overwrite).
fn resize3<F: Float>(ws: &mut Workspace<F>, a: &mut Array3<F>, (t, b, w): (usize, usize, usize)) {
    if a.dim() != (t, b, w) {
        let old = std::mem::replace(a, Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty"));
        ws.give_array(old);
        *a = array3(ws.take_dirty(t * b * w), t, b, w);
    }
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// Runs the head on the last layer's output `[T, B, D*H]` into `z[T*B, O]`
    /// (resized with memory from `ws`); returns the output as rows `[T*B, D*H]`.
    fn head_forward<'o>(
        &self,
        out: &'o Array3<F>,
        ws: &mut Workspace<F>,
        z: &mut Array2<F>,
    ) -> Result<ArrayView2<'o, F>, RnnError> {
        let (t, b, hid) = out.dim();
        let h = out.view().into_shape_with_order((t * b, hid)).map_err(reshape_err)?;
        resize2(ws, z, (t * b, self.output_size()));
        self.head.forward_ws(h, ws, z.view_mut())?;
        Ok(h)
    }

    /// The first recurrent layer's input `xs[T, B, I]` for `input`, written
    /// out (one-hot rows, embedding rows or a copy of the values).
    ///
    /// Errors: [`RnnError::Invalid`] for tokens given to a dense model (or
    /// values to a token model) and for ids outside the vocabulary,
    /// [`RnnError::Shape`] for ids that are not `[T*B]` or values not
    /// `[T, B, width]`.
    pub fn encode(&self, input: &SeqInput<'_, F>) -> Result<Array3<F>, RnnError> {
        if let (Encoding::OneHot { vocab }, SeqInput::Tokens { ids, len, batch }) = (self.config.encoding, *input) {
            return one_hot(ids, len, batch, vocab);
        }
        let mut xs = Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty");
        let mut ws = Workspace::new();
        let owned = match cell_input(self.config.encoding, self.embed.as_ref(), input, &mut xs, &mut ws)? {
            CellInput::Values(v) => v.as_standard_layout().into_owned(),
            CellInput::OneHot { .. } => unreachable!("only one-hot encodings give ids"),
        };
        Ok(owned)
    }

    /// The head's output before the activation, `z[T, B, O]`, of a pass
    /// from `init` (one `[L*D, B, width]` per cell state; empty: zeros)
    /// that keeps nothing for BPTT, in `scratch`; the final states are in
    /// [`SeqScratch::final_state`].
    ///
    /// Errors: those of [`SeqModel::encode`] and [`RnnError::Shape`] for
    /// initial states of the wrong shape.
    pub fn logits_ws<'s>(
        &self,
        input: &SeqInput<'_, F>,
        init: &[Array3<F>],
        scratch: &'s mut SeqScratch<F>,
    ) -> Result<ArrayView3<'s, F>, RnnError> {
        scratch.pass = Pass::None;
        let SeqScratch { ws, out, xs, z, .. } = scratch;
        let x = cell_input(self.config.encoding, self.embed.as_ref(), input, xs, ws)?;
        self.layers.forward_ws(x, init, ws, out)?;
        let (t, b) = (input.len(), input.batch());
        self.head_forward(&out.out, ws, z)?;
        scratch.pass = Pass::Inference;
        (scratch.len, scratch.batch) = (t, b);
        scratch
            .z
            .view()
            .into_shape_with_order((t, b, self.output_size()))
            .map_err(reshape_err)
    }

    /// The head's output before the activation, `z[T, B, O]`, and the final
    /// states, from `init` (one `[L*D, B, width]` per cell state; empty:
    /// zeros). Nothing is kept for BPTT.
    pub fn logits(&self, input: &SeqInput<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut scratch = SeqScratch::new();
        let z = self.logits_ws(input, init, &mut scratch)?.to_owned();
        Ok((z, scratch.final_state().to_vec()))
    }

    /// Inference: the outputs after the activation `y[T, B, O]` and the
    /// final states, from `init` (empty: zeros). Nothing is kept for BPTT.
    pub fn forward(
        &self,
        input: &SeqInput<'_, F>,
        init: &[Array3<F>],
    ) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let (mut z, states) = self.logits(input, init)?;
        for mut row in z.lanes_mut(Axis(2)) {
            head::activate_row(self.config.activation, row.view_mut());
        }
        Ok((z, states))
    }

    /// [`SeqModel::loss`] in `scratch` (no allocation once it has seen the
    /// shapes); the final states are in [`SeqScratch::final_state`].
    pub fn loss_ws(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        init: &[Array3<F>],
        scratch: &mut SeqScratch<F>,
    ) -> Result<f64, RnnError> {
        self.logits_ws(input, init, scratch)?;
        let (t, b) = scratch.shape();
        let SeqScratch { ws, z, dz, y, .. } = scratch;
        resize2(ws, dz, z.dim());
        let (loss, _) = head::loss_grad_into(&self.config, z.view(), target, mask, t, b, dz.view_mut(), y, ws)?;
        Ok(loss)
    }

    /// The mean loss of `input` against `target`, counting position
    /// `t * B + b` only where `mask` is `true` (`None`: all), from `init`
    /// (empty: zeros), without gradients.
    pub fn loss(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        init: &[Array3<F>],
    ) -> Result<f64, RnnError> {
        self.loss_ws(input, target, mask, init, &mut SeqScratch::new())
    }

    /// The mean loss (see [`SeqModel::loss`]) and its gradient, in
    /// `scratch`: overwrites `grads` (a model of this shape, e.g. from
    /// [`SeqModel::zeros_like`]) with the gradient of every parameter,
    /// back-propagated through all `T` steps into `init` (which is treated
    /// as a constant). The final states and the per-step gradient norms are
    /// left in `scratch` ([`SeqScratch::final_state`],
    /// [`SeqScratch::step_grad_norms`]).
    ///
    /// Passing the same `scratch` and `grads` every step, a training step
    /// allocates nothing once the shapes have been seen.
    ///
    /// Errors: as [`SeqModel::loss_and_grad_into`].
    pub fn loss_and_grad_ws(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        init: &[Array3<F>],
        grads: &mut Self,
        scratch: &mut SeqScratch<F>,
    ) -> Result<SeqLoss, RnnError> {
        self.check_grads(grads)?;
        scratch.pass = Pass::None;
        let SeqScratch {
            ws,
            trace,
            input_grads,
            xs,
            z,
            dz,
            y,
            dh,
            step_grad_norms,
            ..
        } = scratch;
        let x = cell_input(self.config.encoding, self.embed.as_ref(), input, xs, ws)?;
        self.layers.forward_train_ws(x, init, ws, trace)?;
        let (t, b) = (trace.len, trace.batch);
        let hid = self.hidden_size();
        let h = self.head_forward(&trace.out, ws, z)?;
        resize2(ws, dz, z.dim());
        let (loss, count) = head::loss_grad_into(&self.config, z.view(), target, mask, t, b, dz.view_mut(), y, ws)?;
        grads.zero();
        resize2(ws, dh, (t * b, hid));
        self.head
            .backward_ws(h, dz.view(), &mut grads.head, ws, dh.view_mut())?;
        let dh = dh.view().into_shape_with_order((t, b, hid)).map_err(reshape_err)?;
        self.layers
            .backward_ws(trace, dh, &[], &mut grads.layers, ws, input_grads)?;
        let d_xs = input_grads.d_xs.view();
        if let (Some(g), SeqInput::Tokens { ids, .. }) = (grads.embed.as_mut(), input) {
            embedding_backward(g, ids, d_xs);
        }
        step_grad_norms.clear();
        step_grad_norms.extend(
            d_xs.outer_iter()
                .map(|step| step.iter().map(|&x| x.to_f64c() * x.to_f64c()).sum::<f64>().sqrt()),
        );
        scratch.pass = Pass::Training;
        (scratch.len, scratch.batch) = (t, b);
        Ok(SeqLoss { loss, count })
    }

    /// The mean loss (see [`SeqModel::loss`]) and its gradient: overwrites
    /// `grads` (a model of this shape, e.g. from [`SeqModel::zeros_like`])
    /// with the gradient of every parameter, back-propagated through all `T`
    /// steps into `init` (which is treated as a constant: no gradient flows
    /// into whatever produced it).
    ///
    /// Errors: [`RnnError::Invalid`] for a target of the wrong kind (class
    /// ids for MSE, values for cross-entropy) or gradients of another
    /// model's shape, [`RnnError::Shape`] for wrong sizes (the message names
    /// the tensor and both shapes), and the errors of [`SeqModel::encode`].
    pub fn loss_and_grad_into(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        init: &[Array3<F>],
        grads: &mut Self,
    ) -> Result<SeqOutcome<F>, RnnError> {
        let mut scratch = SeqScratch::new();
        let SeqLoss { loss, count } = self.loss_and_grad_ws(input, target, mask, init, grads, &mut scratch)?;
        Ok(SeqOutcome {
            loss,
            count,
            final_state: scratch.final_state().to_vec(),
            step_grad_norms: scratch.step_grad_norms,
        })
    }

    /// [`SeqModel::loss_and_grad_into`] into fresh gradients.
    pub fn loss_and_grad(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        init: &[Array3<F>],
    ) -> Result<(SeqOutcome<F>, Self), RnnError> {
        let mut grads = self.zeros_like();
        let out = self.loss_and_grad_into(input, target, mask, init, &mut grads)?;
        Ok((out, grads))
    }
}
