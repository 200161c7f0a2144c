//! The passes of a [`SeqModel`]: encoding, inference, loss and BPTT, each
//! on a [`SeqScratch`] (the `_ws` methods) or on a fresh one.
//!
//! In: a [`SeqInput`] (ids or values, with lengths when the sequences
//! differ) and, for the loss, a [`SeqTarget`] and an optional mask; out:
//! the head's outputs, the mean loss, the gradient of every parameter and
//! of the initial states. One-hot ids reach the cells as ids
//! ([`CellInput::OneHot`]); embedding rows and dense values as values.
//!
//! A pass runs, in order: the encoding (with input dropout), the layers
//! (from the learned initial state when there is one), pooling per
//! sequence when the head pools, head dropout, the head and the loss; the
//! backward pass runs the same parts in reverse, each dropout with the mask
//! its forward pass drew.

use super::head::{self, resize2};
use super::scratch::Pass;
use super::{Encoding, Pooling, SeqData, SeqInput, SeqModel, SeqScratch, SeqTarget, reshape_err};
use crate::cell::input::CellInput;
use crate::cell::{Cell, check_batch};
use crate::error::RnnError;
use crate::float::Float;
use crate::layers::RunOptions;
use crate::nn::dropout::{apply_mask, draw_mask, pass_rng};
use crate::nn::encoding::{check_ids, embedding_backward, embedding_lookup, one_hot};
use crate::workspace::{Workspace, array3};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3, Axis, s};
use rand::rngs::StdRng;
use std::sync::atomic::Ordering;

/// What [`SeqModel::loss_and_grad_into`] reports besides the gradients.
#[derive(Debug, Clone)]
pub struct SeqOutcome<F> {
    /// The mean loss over counted positions (0 when none is counted).
    pub loss: f64,
    /// How many positions (steps, or sequences for a pooled head) counted.
    pub count: usize,
    /// Final states, one `[L*D, B, width]` per cell state (the values to
    /// carry into the next chunk of a long sequence; a sequence's own last
    /// step when the batch has lengths).
    pub final_state: Vec<Array3<F>>,
    /// The gradient reaching step `t`: the L2 norm, over the batch and the
    /// input width, of `dL/dxs[t]`, the gradient of the loss with respect to
    /// the first recurrent layer's input at step `t` (`T` values). Plotted
    /// against `t` it shows vanishing or exploding gradients. Empty for a
    /// one-hot encoding: its ids are looked up, and have no gradient.
    pub step_grad_norms: Vec<f64>,
    /// The gradient of the loss with respect to the initial states the pass
    /// started from, one `[L*D, B, width]` per cell state (how an encoder
    /// whose final state seeded this model gets its gradient).
    pub init_grads: Vec<Array3<F>>,
}

/// The loss of one pass of [`SeqModel::loss_and_grad_ws`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqLoss {
    /// The mean loss over counted positions (0 when none is counted).
    pub loss: f64,
    /// How many positions (steps, or sequences for a pooled head) counted.
    pub count: usize,
}

/// The first layer's input for `input` under `encoding`: ids stay ids for a
/// one-hot encoding unless `values` asks for vectors; embedding rows (and
/// dense values when `values` asks or they are not in standard layout) are
/// written into `xs` with memory from `ws`.
fn cell_input<'c, 'a: 'c, F: Float>(
    encoding: Encoding,
    embed: Option<&Array2<F>>,
    input: &SeqInput<'a, F>,
    xs: &'c mut Array3<F>,
    ws: &mut Workspace<F>,
    values: bool,
) -> Result<CellInput<'c, F>, RnnError> {
    match (encoding, input.data()) {
        (Encoding::OneHot { vocab }, SeqData::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            if !values {
                return Ok(CellInput::OneHot { ids, len, batch });
            }
            resize3(ws, xs, (len, batch, vocab));
            xs.fill(F::zero());
            for (mut row, &id) in xs.rows_mut().into_iter().zip(ids) {
                row[id] = F::one();
            }
            Ok(CellInput::Values(xs.view()))
        }
        (Encoding::Embedding { vocab, dim }, SeqData::Tokens { ids, len, batch }) => {
            check_ids(ids, len, batch, vocab)?;
            let table = embed.ok_or_else(|| RnnError::Invalid("the model has no embedding table".into()))?;
            if table.dim() != (vocab, dim) {
                return Err(RnnError::shape("embed.weight", &[vocab, dim], table.shape()));
            }
            resize3(ws, xs, (len, batch, dim));
            embedding_lookup(table, ids, xs.view_mut());
            Ok(CellInput::Values(xs.view()))
        }
        (Encoding::Dense { width }, SeqData::Values(v)) => {
            let s = v.shape();
            if s[2] != width {
                return Err(RnnError::shape("dense input [T, B, width]", &[s[0], s[1], width], s));
            }
            if v.is_standard_layout() && !values {
                return Ok(CellInput::Values(v.reborrow()));
            }
            resize3(ws, xs, v.dim());
            xs.assign(&v);
            Ok(CellInput::Values(xs.view()))
        }
        (Encoding::Dense { width }, SeqData::Tokens { .. }) => Err(RnnError::Invalid(format!(
            "the model takes real values [T, B, {width}] (dense encoding), not token ids"
        ))),
        (enc, SeqData::Values(_)) => Err(RnnError::Invalid(format!(
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

/// Draws a dropout mask the size of `values` into `mask` and applies it.
fn drop_out<F: Float>(values: &mut [F], mask: &mut Vec<F>, p: f64, rng: &mut StdRng) {
    mask.clear();
    mask.resize(values.len(), F::zero());
    draw_mask(mask, p, rng);
    apply_mask(values, mask);
}

/// The rows the head reads for a pooled model: per sequence `b` of length
/// `n`, [`Pooling::Last`] takes the forward direction's output at `n - 1`
/// and the reverse direction's at 0; [`Pooling::Mean`] the mean over steps
/// `0..n`.
fn pool<F: Float>(
    pooling: Pooling,
    out: ArrayView3<'_, F>,
    lengths: &[usize],
    dirs: usize,
    pooled: &mut Array2<F>,
) -> Result<(), RnnError> {
    let (t_len, batch, width) = out.dim();
    let o = width / dirs;
    for b in 0..batch {
        let n = lengths.get(b).copied().unwrap_or(t_len);
        if n == 0 {
            return Err(RnnError::Invalid(format!(
                "sequence {b} is empty: a head that pools each sequence needs at least one step"
            )));
        }
        let mut row = pooled.row_mut(b);
        match pooling {
            Pooling::Steps => unreachable!("only pooled heads pool"),
            Pooling::Last => {
                row.slice_mut(s![..o]).assign(&out.slice(s![n - 1, b, ..o]));
                if dirs == 2 {
                    row.slice_mut(s![o..]).assign(&out.slice(s![0, b, o..]));
                }
            }
            Pooling::Mean => {
                row.fill(F::zero());
                for t in 0..n {
                    row += &out.slice(s![t, b, ..]);
                }
                let inv = F::one() / F::from_f64c(n as f64);
                row.mapv_inplace(|x| x * inv);
            }
        }
    }
    Ok(())
}

/// The backward pass of [`pool`]: the gradient of the layers' output
/// `dh[T, B, D*O]` (overwritten) from the gradient of the pooled rows.
fn unpool<F: Float>(
    pooling: Pooling,
    d_pooled: ArrayView2<'_, F>,
    lengths: &[usize],
    dirs: usize,
    mut dh: ArrayViewMut3<'_, F>,
) {
    let (t_len, batch, width) = dh.dim();
    let o = width / dirs;
    dh.fill(F::zero());
    for b in 0..batch {
        let n = lengths.get(b).copied().unwrap_or(t_len);
        let row = d_pooled.row(b);
        match pooling {
            Pooling::Steps => unreachable!("only pooled heads pool"),
            Pooling::Last => {
                dh.slice_mut(s![n - 1, b, ..o]).assign(&row.slice(s![..o]));
                if dirs == 2 {
                    dh.slice_mut(s![0, b, o..]).assign(&row.slice(s![o..]));
                }
            }
            Pooling::Mean => {
                let inv = F::one() / F::from_f64c(n as f64);
                for t in 0..n {
                    dh.slice_mut(s![t, b, ..]).zip_mut_with(&row, |d, &g| *d = g * inv);
                }
            }
        }
    }
}

/// Fills `mask` with the positions that count for a per-step loss:
/// `user[t*B + b]` (when given) and step `t` inside sequence `b`. Returns
/// whether a mask is needed at all.
fn step_mask(input: &SeqInput<'_, impl Float>, user: Option<&[bool]>, mask: &mut Vec<bool>) -> bool {
    mask.clear();
    if !input.has_lengths() {
        return false;
    }
    let (t_len, batch) = (input.len(), input.batch());
    mask.extend((0..t_len * batch).map(|p| input.is_valid(p / batch, p % batch) && user.is_none_or(|u| u[p])));
    true
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// The generator of this pass's dropout masks, or `None` when the pass
    /// applies no dropout (evaluation mode, or no dropout configured).
    fn dropout_rng(&self) -> Option<StdRng> {
        (self.training && self.config.dropout.any())
            .then(|| pass_rng(self.dropout_seed, self.dropout_pass.fetch_add(1, Ordering::Relaxed)))
    }

    /// The forward half shared by inference and training: encoding with
    /// input dropout, then `run_layers` (which runs the layers from the
    /// initial states it is given), pooling and head dropout, then the
    /// head into `scratch.z`. Returns `(T, B)`.
    fn forward_pass(
        &self,
        input: &SeqInput<'_, F>,
        init: &[Array3<F>],
        scratch: &mut SeqScratch<F>,
        training: bool,
        rng: &mut Option<StdRng>,
    ) -> Result<(usize, usize), RnnError> {
        check_batch("model input", input.batch())?;
        input.check_lengths()?;
        let has_lengths = input.lengths_into(&mut scratch.lengths);
        let (t, b) = (input.len(), input.batch());
        let d = self.config.dropout;
        let SeqScratch {
            ws,
            trace,
            out,
            xs,
            in_mask,
            init_buf,
            lengths,
            ..
        } = scratch;
        let input_drop = rng.as_mut().filter(|_| d.input > 0.0);
        let x = cell_input(
            self.config.encoding,
            self.embed.as_ref(),
            input,
            xs,
            ws,
            input_drop.is_some(),
        )?;
        let x = match input_drop {
            Some(rng) => {
                drop_out(xs.as_slice_mut().expect("workspace array"), in_mask, d.input, rng);
                CellInput::Values(xs.view())
            }
            None => x,
        };
        let init = self.initial_state(init, b, ws, init_buf)?;
        let options = RunOptions {
            lengths: has_lengths.then_some(&lengths[..]),
            dropout: rng.as_mut().filter(|_| d.layers > 0.0).map(|r| (d.layers, r)),
        };
        if training {
            self.layers.forward_train_ws_with(x, init, options, ws, trace)?;
        } else {
            self.layers.forward_ws_with(x, init, options, ws, out)?;
        }
        let last = if training { &trace.out } else { &out.out };
        let dirs = self.layers.num_directions();
        let rows = if self.config.pooling.per_sequence() { b } else { t * b };
        let hid = self.hidden_size();
        let SeqScratch {
            ws,
            pooled,
            head_in,
            head_mask,
            z,
            lengths,
            ..
        } = scratch;
        // What the head reads: the layers' output rows, pooled rows, or a
        // dropped-out copy of either.
        let head_drop = rng.as_mut().filter(|_| d.head > 0.0);
        let h: ArrayView2<'_, F> = if self.config.pooling.per_sequence() {
            resize2(ws, pooled, (b, hid));
            pool(self.config.pooling, last.view(), lengths, dirs, pooled)?;
            pooled.view()
        } else {
            last.view().into_shape_with_order((rows, hid)).map_err(reshape_err)?
        };
        let h = match head_drop {
            Some(rng) => {
                resize2(ws, head_in, (rows, hid));
                head_in.assign(&h);
                drop_out(head_in.as_slice_mut().expect("workspace array"), head_mask, d.head, rng);
                head_in.view()
            }
            None => h,
        };
        resize2(ws, z, (rows, self.output_size()));
        self.head.forward_ws(h, ws, z.view_mut())?;
        Ok((t, b))
    }

    /// The initial states of a pass: `init` when given, else the learned
    /// ones broadcast over the batch (into `buf`), else none (zeros).
    fn initial_state<'i>(
        &self,
        init: &'i [Array3<F>],
        batch: usize,
        ws: &mut Workspace<F>,
        buf: &'i mut Vec<Array3<F>>,
    ) -> Result<&'i [Array3<F>], RnnError> {
        if !init.is_empty() || self.init.is_empty() {
            return Ok(init);
        }
        for a in buf.drain(..) {
            ws.give_array(a);
        }
        for learned in &self.init {
            let (rows, w) = learned.dim();
            let mut a = array3(ws.take_dirty(rows * batch * w), rows, batch, w);
            for (mut slab, row) in a.outer_iter_mut().zip(learned.rows()) {
                for mut r in slab.rows_mut() {
                    r.assign(&row);
                }
            }
            buf.push(a);
        }
        Ok(buf)
    }

    /// The first recurrent layer's input `xs[T, B, I]` for `input`, written
    /// out (one-hot rows, embedding rows or a copy of the values).
    ///
    /// Errors: [`RnnError::Invalid`] for tokens given to a dense model (or
    /// values to a token model) and for ids outside the vocabulary,
    /// [`RnnError::Shape`] for ids that are not `[T*B]` or values not
    /// `[T, B, width]`.
    pub fn encode(&self, input: &SeqInput<'_, F>) -> Result<Array3<F>, RnnError> {
        if let (Encoding::OneHot { vocab }, SeqData::Tokens { ids, len, batch }) = (self.config.encoding, input.data())
        {
            return one_hot(ids, len, batch, vocab);
        }
        let mut xs = Array3::from_shape_vec((0, 0, 0), Vec::new()).expect("empty");
        let mut ws = Workspace::new();
        let owned = match cell_input(
            self.config.encoding,
            self.embed.as_ref(),
            input,
            &mut xs,
            &mut ws,
            false,
        )? {
            CellInput::Values(v) => v.as_standard_layout().into_owned(),
            CellInput::OneHot { .. } | CellInput::Picked { .. } => {
                unreachable!("only one-hot encodings give ids, and a model's input is never picked rows")
            }
        };
        Ok(owned)
    }

    /// The head's output before the activation of a pass from `init` (one
    /// `[L*D, B, width]` per cell state; empty: the learned initial state,
    /// or zeros) that keeps nothing for BPTT, in `scratch`: `z[T, B, O]`, or
    /// `z[1, B, O]` for a head that pools each sequence. The final states
    /// are in [`SeqScratch::final_state`]. Dropout applies in training mode
    /// ([`SeqModel::set_training`]).
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
        let mut rng = self.dropout_rng();
        let (t, b) = self.forward_pass(input, init, scratch, false, &mut rng)?;
        scratch.pass = Pass::Inference;
        (scratch.len, scratch.batch) = (t, b);
        let steps = if self.config.pooling.per_sequence() { 1 } else { t };
        scratch
            .z
            .view()
            .into_shape_with_order((steps, b, self.output_size()))
            .map_err(reshape_err)
    }

    /// The head's output before the activation and the final states, from
    /// `init` (one `[L*D, B, width]` per cell state; empty: the learned
    /// initial state, or zeros): `z[T, B, O]`, or `z[1, B, O]` for a head
    /// that pools each sequence. Nothing is kept for BPTT.
    pub fn logits(&self, input: &SeqInput<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let mut scratch = SeqScratch::new();
        let z = self.logits_ws(input, init, &mut scratch)?.to_owned();
        Ok((z, scratch.final_state().to_vec()))
    }

    /// Inference: the outputs after the activation (`[T, B, O]`, or
    /// `[1, B, O]` for a head that pools each sequence) and the final
    /// states, from `init` (empty: the learned initial state, or zeros).
    /// Nothing is kept for BPTT.
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
        Ok(self.head_loss(input, target, mask, scratch)?.loss)
    }

    /// The loss of the head's output in `scratch.z` and its gradient in
    /// `scratch.dz`.
    fn head_loss(
        &self,
        input: &SeqInput<'_, F>,
        target: &SeqTarget<'_, F>,
        mask: Option<&[bool]>,
        scratch: &mut SeqScratch<F>,
    ) -> Result<SeqLoss, RnnError> {
        let shape = (input.len(), input.batch());
        let SeqScratch {
            ws, z, dz, y, mask: m, ..
        } = scratch;
        let mask = if !self.config.pooling.per_sequence() && step_mask(input, mask, m) {
            Some(&m[..])
        } else {
            mask
        };
        resize2(ws, dz, z.dim());
        let (loss, count) = head::loss_grad_into(&self.config, z.view(), target, mask, shape, dz.view_mut(), y, ws)?;
        Ok(SeqLoss { loss, count })
    }

    /// The mean loss of `input` against `target` (per step: position
    /// `t * B + b` counts where `mask` is `true` and `t` is inside sequence
    /// `b`; per sequence: sequence `b` counts where `mask[b]`), from `init`
    /// (empty: the learned initial state, or zeros), without gradients.
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
    /// back-propagated through all `T` steps into the initial states (a
    /// given `init` is treated as a constant; its gradient is left in
    /// [`SeqScratch::init_grads`], and the learned initial state, when it
    /// was used, gets the sum over the batch). The final states and the
    /// per-step gradient norms are left in `scratch`
    /// ([`SeqScratch::final_state`], [`SeqScratch::step_grad_norms`]).
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
        let mut rng = self.dropout_rng();
        let (t, b) = self.forward_pass(input, init, scratch, true, &mut rng)?;
        let out = self.head_loss(input, target, mask, scratch)?;
        grads.zero();
        let per_seq = self.config.pooling.per_sequence();
        let hid = self.hidden_size();
        let dirs = self.layers.num_directions();
        let SeqScratch {
            ws,
            trace,
            input_grads,
            in_mask,
            pooled,
            head_in,
            head_mask,
            dz,
            dh,
            dh_full,
            lengths,
            step_grad_norms,
            ..
        } = scratch;
        let head_dropped = self.training && self.config.dropout.head > 0.0;
        let rows = if per_seq { b } else { t * b };
        let h: ArrayView2<'_, F> = if head_dropped {
            head_in.view()
        } else if per_seq {
            pooled.view()
        } else {
            trace
                .out
                .view()
                .into_shape_with_order((rows, hid))
                .map_err(reshape_err)?
        };
        resize2(ws, dh, (rows, hid));
        self.head
            .backward_ws(h, dz.view(), &mut grads.head, ws, dh.view_mut())?;
        if head_dropped {
            apply_mask(dh.as_slice_mut().expect("workspace array"), head_mask);
        }
        let d_out = if per_seq {
            resize3(ws, dh_full, (t, b, hid));
            unpool(self.config.pooling, dh.view(), lengths, dirs, dh_full.view_mut());
            dh_full.view()
        } else {
            dh.view().into_shape_with_order((t, b, hid)).map_err(reshape_err)?
        };
        self.layers
            .backward_ws(trace, d_out, &[], &mut grads.layers, ws, input_grads)?;
        if self.training && self.config.dropout.input > 0.0 {
            apply_mask(input_grads.d_xs.as_slice_mut().expect("workspace array"), in_mask);
        }
        let d_xs = input_grads.d_xs.view();
        if let (Some(g), SeqData::Tokens { ids, .. }) = (grads.embed.as_mut(), input.data()) {
            embedding_backward(g, ids, d_xs);
        }
        if init.is_empty() {
            // The learned initial state was broadcast over the batch: its
            // gradient is the sum over the batch.
            for (g, d) in grads.init.iter_mut().zip(&input_grads.d_init) {
                for (mut g_row, d_slab) in g.rows_mut().into_iter().zip(d.outer_iter()) {
                    for d_row in d_slab.rows() {
                        g_row += &d_row;
                    }
                }
            }
        }
        step_grad_norms.clear();
        step_grad_norms.extend(
            d_xs.outer_iter()
                .map(|step| step.iter().map(|&x| x.to_f64c() * x.to_f64c()).sum::<f64>().sqrt()),
        );
        scratch.pass = Pass::Training;
        (scratch.len, scratch.batch) = (t, b);
        Ok(out)
    }

    /// The mean loss (see [`SeqModel::loss`]) and its gradient: overwrites
    /// `grads` (a model of this shape, e.g. from [`SeqModel::zeros_like`])
    /// with the gradient of every parameter, back-propagated through all `T`
    /// steps into `init` (which is treated as a constant: no gradient flows
    /// into whatever produced it, but [`SeqOutcome::init_grads`] holds it).
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
            init_grads: scratch.init_grads().to_vec(),
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
