//! The general sequence model: an input encoding, stacked (optionally
//! bidirectional) recurrent [`Layers`] over any cell, a [`Linear`] head, a
//! head activation and a loss.
//!
//! ```text
//! ids / values ──encoding──▶ xs[T, B, I] ──Layers──▶ h[T, B, D*H] ──head──▶ z[T, B, O] ──activation──▶ y
//!                                                                            └──────── loss(y or z, targets, mask)
//! ```
//!
//! Everything follows PyTorch's conventions: time-major sequences,
//! `state_dict` names (`embed.weight`, `rnn.weight_ih_l0`, ...,
//! `rnn.bias_hh_l1_reverse`, `head.weight`, `head.bias`, as a module with
//! submodules `embed`, `rnn` and `head` would have), `nn.Embedding`'s
//! `N(0, 1)` and `nn.Linear`'s uniform initialisation, mean reductions.
//! As for cells, the gradient of a [`SeqModel`] has the model's own type,
//! so [`Optimizer`]s, [`clip_grad_norm`](super::clip::clip_grad_norm) and
//! [`global_norm`](super::clip::global_norm) work on
//! [`SeqModel::named_params`] lists directly.
//!
//! Submodules hold the parts: `config` (encoding, activation, loss and the
//! settings struct), `input` (inputs and targets), `encoding` (input
//! encodings and the embedding's scatter-add gradient), `head` (activation
//! and loss), `checkpoint` (safetensors files with the model's settings as
//! metadata); all their public items are re-exported here.
//! Streaming use is in [`super::generate`](mod@super::generate), truncated BPTT in
//! [`super::tbptt`], output feedback in [`super::feedback`], initialisers
//! in [`super::init`].

use super::char_model::{HEAD_PREFIX, RNN_PREFIX};
use super::linear::Linear;
use super::optim::Optimizer;
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::layers::Layers;
use ndarray::{Array2, Array3, ArrayViewD, ArrayViewMutD, Axis};
use rand::Rng;

mod checkpoint;
mod config;
mod encoding;
mod head;
mod input;
#[cfg(test)]
mod tests;

pub use checkpoint::{
    META_ACTIVATION, META_BIDIRECTIONAL, META_CELL, META_EMBED_DIM, META_ENCODING, META_HIDDEN_SIZE, META_INPUT_WIDTH,
    META_LOSS, META_NUM_LAYERS, META_OUTPUT_SIZE, META_VOCAB, META_VOCAB_SIZE,
};
pub use config::{Activation, Encoding, LossKind, SeqModelConfig};
pub(crate) use encoding::standard_normal;
pub use input::{SeqInput, SeqInputBuf, SeqTarget};

/// Prefix of the embedding's parameter name (`embed.weight`).
pub const EMBED_PREFIX: &str = "embed.";

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
    /// against `t` it shows vanishing or exploding gradients.
    pub step_grad_norms: Vec<f64>,
}

/// Input encoding, recurrent layers, linear head, activation and loss (see
/// the [module docs](self)).
///
/// # Example
///
/// ```
/// use rnn_runtime::train::model::{Encoding, SeqInput, SeqModel, SeqModelConfig, SeqTarget};
/// use rnn_runtime::train::{Adam, AdamConfig};
/// use rnn_runtime::{Cell, Forward, InputGrads, RnnError, Trace, Workspace};
/// use rand::SeedableRng;
/// # use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMutD};
/// # // A minimal linear cell h' = W x + U h, written by hand for the example.
/// # #[derive(Clone, Debug)]
/// # struct Lin { w: Array2<f64>, u: Array2<f64> }
/// # impl Cell<f64> for Lin {
/// #     type Dims = (usize, usize);
/// #     const NAME: &'static str = "Lin";
/// #     const PARAM_NAMES: &'static [&'static str] = &["weight_ih", "weight_hh"];
/// #     const STATE_NAMES: &'static [&'static str] = &["h"];
/// #     fn new<R: rand::Rng + ?Sized>(d: (usize, usize), r: &mut R) -> Self {
/// #         let mut c = Self::zeros(d);
/// #         c.w.mapv_inplace(|_| r.random::<f64>() - 0.5);
/// #         c.u.mapv_inplace(|_| 0.5 * (r.random::<f64>() - 0.5));
/// #         c
/// #     }
/// #     fn zeros((i, h): (usize, usize)) -> Self { Lin { w: Array2::zeros((h, i)), u: Array2::zeros((h, h)) } }
/// #     fn dims(&self) -> (usize, usize) { (self.w.ncols(), self.w.nrows()) }
/// #     fn with_input_size((_, h): (usize, usize), i: usize) -> Result<(usize, usize), RnnError> { Ok((i, h)) }
/// #     fn input_size(&self) -> usize { self.w.ncols() }
/// #     fn output_size(&self) -> usize { self.w.nrows() }
/// #     fn state_sizes(&self) -> Vec<usize> { vec![self.w.nrows()] }
/// #     fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, f64>)> {
/// #         vec![("weight_ih", self.w.view().into_dyn()), ("weight_hh", self.u.view().into_dyn())]
/// #     }
/// #     fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, f64>)> {
/// #         vec![("weight_ih", self.w.view_mut().into_dyn()), ("weight_hh", self.u.view_mut().into_dyn())]
/// #     }
/// #     fn forward_ws(&self, xs: ArrayView3<'_, f64>, init: &[Array2<f64>], _: &mut Workspace<f64>,
/// #         out: &mut Forward<f64>) -> Result<(), RnnError> {
/// #         let t = self.forward_train(xs, init)?;
/// #         *out = Forward { outputs: t.outputs, states: t.states };
/// #         Ok(())
/// #     }
/// #     fn forward_train_ws(&self, xs: ArrayView3<'_, f64>, init: &[Array2<f64>], _: &mut Workspace<f64>,
/// #         trace: &mut Trace<f64>) -> Result<(), RnnError> {
/// #         let (len, batch, h) = (xs.shape()[0], xs.shape()[1], self.w.nrows());
/// #         let mut st = init.first().cloned().unwrap_or_else(|| Array2::zeros((batch, h)));
/// #         let mut outputs = ndarray::Array3::zeros((len, batch, h));
/// #         let mut saved = st.iter().copied().collect::<Vec<_>>();
/// #         for t in 0..len {
/// #             st = xs.index_axis(ndarray::Axis(0), t).dot(&self.w.t()) + st.dot(&self.u.t());
/// #             outputs.index_axis_mut(ndarray::Axis(0), t).assign(&st);
/// #             saved.extend(st.iter().copied());
/// #         }
/// #         *trace = Trace { outputs, states: vec![st], len, batch, saved: vec![xs.iter().copied().collect(), saved], ..Trace::empty() };
/// #         Ok(())
/// #     }
/// #     fn backward_ws(&self, tr: &Trace<f64>, d_out: ArrayView3<'_, f64>, d_fin: &[Array2<f64>], g: &mut Self,
/// #         _: &mut Workspace<f64>, input: &mut InputGrads<f64>) -> Result<(), RnnError> {
/// #         let (len, batch, h, i) = (tr.len, tr.batch, self.w.nrows(), self.w.ncols());
/// #         let xs = ndarray::ArrayView3::from_shape((len, batch, i), &tr.saved[0]).unwrap();
/// #         let hs = ndarray::ArrayView3::from_shape((len + 1, batch, h), &tr.saved[1]).unwrap();
/// #         let mut dh = d_fin.first().cloned().unwrap_or_else(|| Array2::zeros((batch, h)));
/// #         let mut d_xs = ndarray::Array3::zeros((len, batch, i));
/// #         for t in (0..len).rev() {
/// #             dh += &d_out.index_axis(ndarray::Axis(0), t);
/// #             g.w += &dh.t().dot(&xs.index_axis(ndarray::Axis(0), t));
/// #             g.u += &dh.t().dot(&hs.index_axis(ndarray::Axis(0), t));
/// #             d_xs.index_axis_mut(ndarray::Axis(0), t).assign(&dh.dot(&self.w));
/// #             dh = dh.dot(&self.u);
/// #         }
/// #         *input = InputGrads { d_xs, d_init: vec![dh] };
/// #         Ok(())
/// #     }
/// #     fn step(&self, x: ArrayView2<'_, f64>, state: &mut [Array2<f64>]) -> Result<Array2<f64>, RnnError> {
/// #         let h = x.dot(&self.w.t()) + state[0].dot(&self.u.t());
/// #         state[0] = h.clone();
/// #         Ok(h)
/// #     }
/// # }
/// // A next-token model over 5 tokens: embedding 3 wide, hidden 4.
/// let config = SeqModelConfig::language_model(Encoding::Embedding { vocab: 5, dim: 3 }, 5);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut model = SeqModel::<f64, Lin>::new((3, 4), config, &mut rng)?;
/// assert_eq!(model.named_params()[0].0, "embed.weight");
///
/// // Two sequences of length 3, time-major; the target is the next token.
/// let ids = [0, 1, 1, 2, 2, 3];
/// let next = [1, 2, 2, 3, 3, 4];
/// let input = SeqInput::tokens(&ids, 3, 2);
/// let target = SeqTarget::Classes(&next);
/// let mut grads = model.zeros_like();
/// let mut adam = Adam::new(AdamConfig { lr: 0.05, ..AdamConfig::default() })?;
/// let first = model.loss(&input, &target, None, &[])?;
/// for _ in 0..50 {
///     let out = model.loss_and_grad_into(&input, &target, None, &[], &mut grads)?;
///     assert_eq!(out.step_grad_norms.len(), 3);
///     model.apply_gradients(&mut grads, &mut adam, Some(1.0))?;
/// }
/// assert!(model.loss(&input, &target, None, &[])? < first);
/// let (probs, _state) = model.forward(&input, &[])?;
/// assert_eq!(probs.dim(), (3, 2, 5));
/// # Ok::<(), RnnError>(())
/// ```
pub struct SeqModel<F: Float, C: Cell<F>> {
    config: SeqModelConfig,
    /// `embed.weight [vocab, dim]` for [`Encoding::Embedding`], else `None`.
    embed: Option<Array2<F>>,
    layers: Layers<F, C>,
    head: Linear<F>,
}

impl<F: Float, C: Cell<F>> Clone for SeqModel<F, C> {
    fn clone(&self) -> Self {
        SeqModel {
            config: self.config,
            embed: self.embed.clone(),
            layers: self.layers.clone(),
            head: self.head.clone(),
        }
    }
}

impl<F: Float, C: Cell<F>> std::fmt::Debug for SeqModel<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqModel")
            .field("config", &self.config)
            .field("layers", &self.layers)
            .field("head", &self.head.weight.dim())
            .finish()
    }
}

pub(crate) fn reshape_err(e: ndarray::ShapeError) -> RnnError {
    RnnError::Dimension(e.to_string())
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// Builds the parts, drawing parameters with `fill` (or zeros).
    fn build<R: Rng + ?Sized>(dims: C::Dims, config: SeqModelConfig, rng: Option<&mut R>) -> Result<Self, RnnError> {
        config.validate()?;
        let dims = C::with_input_size(dims, config.encoding.input_width())?;
        let (l, b) = (config.num_layers, config.bidirectional);
        let (embed, layers, head) = match rng {
            Some(rng) => {
                let embed = match config.encoding {
                    Encoding::Embedding { vocab, dim } => Some(Array2::from_shape_simple_fn((vocab, dim), || {
                        F::from_f64c(standard_normal(rng))
                    })),
                    _ => None,
                };
                let layers = Layers::new(dims, l, b, rng)?;
                let head = Linear::new(layers.output_size(), config.output_size, rng);
                (embed, layers, head)
            }
            None => {
                let embed = match config.encoding {
                    Encoding::Embedding { vocab, dim } => Some(Array2::zeros((vocab, dim))),
                    _ => None,
                };
                let layers = Layers::zeros(dims, l, b)?;
                let head = Linear::zeros(layers.output_size(), config.output_size);
                (embed, layers, head)
            }
        };
        if layers.input_size() != config.encoding.input_width() {
            return Err(RnnError::Dimension(format!(
                "the cell's input width is {} but the {} encoding gives {}",
                layers.input_size(),
                config.encoding.name(),
                config.encoding.input_width()
            )));
        }
        Ok(SeqModel {
            config,
            embed,
            layers,
            head,
        })
    }

    /// A model initialised as PyTorch initialises a module whose
    /// `__init__` creates `embed`, `rnn` and `head` in that order: the
    /// embedding from `N(0, 1)` (if any), then the layers ([`Layers::new`],
    /// each cell's [`Cell::new`]), then the head ([`Linear::new`]).
    ///
    /// `dims` are the cell's sizes; its input width is replaced by the
    /// encoding's ([`Encoding::input_width`]) through
    /// [`Cell::with_input_size`].
    ///
    /// Errors: [`RnnError::Invalid`] for a bad configuration (see
    /// [`SeqModelConfig::validate`]), whatever [`Cell::with_input_size`]
    /// and [`Layers::new`] report.
    pub fn new<R: Rng + ?Sized>(dims: C::Dims, config: SeqModelConfig, rng: &mut R) -> Result<Self, RnnError> {
        Self::build(dims, config, Some(rng))
    }

    /// Like [`SeqModel::new`] with every parameter zero (a gradient
    /// accumulator, or a model about to be loaded from a file).
    pub fn zeros(dims: C::Dims, config: SeqModelConfig) -> Result<Self, RnnError> {
        Self::build::<rand::rngs::StdRng>(dims, config, None)
    }

    /// Draws every parameter again as [`SeqModel::new`] does.
    pub fn reset_parameters<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<(), RnnError> {
        *self = Self::new(self.layers.dims(), self.config, rng)?;
        Ok(())
    }

    /// A model of the same shape with every parameter zero (for gradients).
    pub fn zeros_like(&self) -> Self {
        SeqModel {
            config: self.config,
            embed: self.embed.as_ref().map(|e| Array2::zeros(e.raw_dim())),
            layers: self.layers.zeros_like(),
            head: Linear::zeros(self.head.in_features(), self.head.out_features()),
        }
    }

    /// Sets every parameter to zero.
    pub fn zero(&mut self) {
        for (_, mut v) in self.named_params_mut() {
            v.fill(F::zero());
        }
    }

    /// The settings the model was built with.
    pub fn config(&self) -> &SeqModelConfig {
        &self.config
    }

    /// The recurrent layers.
    pub fn layers(&self) -> &Layers<F, C> {
        &self.layers
    }

    /// The recurrent layers, mutably (replacing a cell by one of other
    /// widths makes later calls return shape errors).
    pub fn layers_mut(&mut self) -> &mut Layers<F, C> {
        &mut self.layers
    }

    /// The output head `[O, D*H]`.
    pub fn head(&self) -> &Linear<F> {
        &self.head
    }

    /// The output head, mutably.
    pub fn head_mut(&mut self) -> &mut Linear<F> {
        &mut self.head
    }

    /// `embed.weight [vocab, dim]` for an embedding encoding.
    pub fn embedding(&self) -> Option<&Array2<F>> {
        self.embed.as_ref()
    }

    /// `embed.weight`, mutably.
    pub fn embedding_mut(&mut self) -> Option<&mut Array2<F>> {
        self.embed.as_mut()
    }

    /// Width `I` of the first recurrent layer's input.
    pub fn input_width(&self) -> usize {
        self.config.encoding.input_width()
    }

    /// Width `D*H` of the last layer's output (the head's input).
    pub fn hidden_size(&self) -> usize {
        self.layers.output_size()
    }

    /// Width `O` of the head's output.
    pub fn output_size(&self) -> usize {
        self.head.out_features()
    }

    /// Zero initial states for `batch` sequences: one `[L*D, B, width]` per
    /// cell state.
    pub fn zero_state(&self, batch: usize) -> Vec<Array3<F>> {
        self.layers.zero_state(batch)
    }

    /// Every parameter with its `state_dict` name, in a fixed order:
    /// `embed.weight` (if any), the layers' `rnn.*` in PyTorch order, then
    /// `head.weight`, `head.bias`.
    pub fn named_params(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out = Vec::new();
        if let Some(e) = &self.embed {
            out.push((format!("{EMBED_PREFIX}weight"), e.view().into_dyn()));
        }
        out.extend(
            self.layers
                .named_params()
                .into_iter()
                .map(|(n, v)| (format!("{RNN_PREFIX}{n}"), v)),
        );
        out.extend(
            self.head
                .params()
                .into_iter()
                .map(|(n, v)| (format!("{HEAD_PREFIX}{n}"), v)),
        );
        out
    }

    /// Every parameter, mutably, in the order of [`SeqModel::named_params`].
    pub fn named_params_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let mut out = Vec::new();
        if let Some(e) = &mut self.embed {
            out.push((format!("{EMBED_PREFIX}weight"), e.view_mut().into_dyn()));
        }
        out.extend(
            self.layers
                .named_params_mut()
                .into_iter()
                .map(|(n, v)| (format!("{RNN_PREFIX}{n}"), v)),
        );
        out.extend(
            self.head
                .params_mut()
                .into_iter()
                .map(|(n, v)| (format!("{HEAD_PREFIX}{n}"), v)),
        );
        out
    }

    /// Total number of scalar parameters.
    pub fn num_scalars(&self) -> usize {
        self.named_params().iter().map(|(_, v)| v.len()).sum()
    }

    /// The first recurrent layer's input `xs[T, B, I]` for `input`.
    ///
    /// Errors: [`RnnError::Invalid`] for tokens given to a dense model (or
    /// values to a token model) and for ids outside the vocabulary,
    /// [`RnnError::Shape`] for ids that are not `[T*B]` or values not
    /// `[T, B, width]`.
    pub fn encode(&self, input: &SeqInput<'_, F>) -> Result<Array3<F>, RnnError> {
        encoding::encode(self.config.encoding, self.embed.as_ref(), input)
    }

    /// The head's output before the activation, `z[T, B, O]`, and the final
    /// states, from `init` (one `[L*D, B, width]` per cell state; empty:
    /// zeros). Nothing is kept for BPTT.
    pub fn logits(&self, input: &SeqInput<'_, F>, init: &[Array3<F>]) -> Result<(Array3<F>, Vec<Array3<F>>), RnnError> {
        let xs = self.encode(input)?;
        let (t, b) = (xs.shape()[0], xs.shape()[1]);
        let (out, states) = self.layers.forward(xs.view(), init)?;
        let h = out
            .into_shape_with_order((t * b, self.hidden_size()))
            .map_err(reshape_err)?;
        let z = self.head.forward(h.view())?;
        let z = z
            .into_shape_with_order((t, b, self.output_size()))
            .map_err(reshape_err)?;
        Ok((z, states))
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
        let (z, _) = self.logits(input, init)?;
        let (t, b, o) = z.dim();
        let z = z.into_shape_with_order((t * b, o)).map_err(reshape_err)?;
        Ok(head::loss_grad(&self.config, z.view(), target, mask, t, b)?.loss)
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
        self.check_grads(grads)?;
        let xs = self.encode(input)?;
        let (t, b) = (xs.shape()[0], xs.shape()[1]);
        let hid = self.hidden_size();
        let trace = self.layers.forward_train(xs.view(), init)?;
        let out = trace.out.as_standard_layout();
        let h = out.view().into_shape_with_order((t * b, hid)).map_err(reshape_err)?;
        let z = self.head.forward(h)?;
        let lg = head::loss_grad(&self.config, z.view(), target, mask, t, b)?;
        grads.zero();
        let dh = self.head.backward_into(h, lg.grad.view(), &mut grads.head)?;
        let dh = dh.into_shape_with_order((t, b, hid)).map_err(reshape_err)?;
        let (d_xs, _) = self.layers.backward_into(&trace, dh.view(), &[], &mut grads.layers)?;
        if let (Some(g), SeqInput::Tokens { ids, .. }) = (grads.embed.as_mut(), input) {
            encoding::embedding_backward(g, ids, d_xs.view());
        }
        let step_grad_norms = d_xs
            .outer_iter()
            .map(|step| step.iter().map(|&x| x.to_f64c() * x.to_f64c()).sum::<f64>().sqrt())
            .collect();
        Ok(SeqOutcome {
            loss: lg.loss,
            count: lg.count,
            final_state: trace.states,
            step_grad_norms,
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

    /// One optimiser update from `grads`: first, with `clip_norm`, scales
    /// the gradients in place as
    /// [`clip_grad_norm`](super::clip::clip_grad_norm) does, then steps
    /// `optimizer` over [`SeqModel::named_params_mut`]. Returns the global
    /// gradient norm before clipping.
    ///
    /// Errors: [`RnnError::NonFinite`] (step = the optimiser's step count)
    /// if the gradient norm is NaN or infinite (nothing is updated), and
    /// the optimiser's errors.
    pub fn apply_gradients<O: Optimizer<F>>(
        &mut self,
        grads: &mut Self,
        optimizer: &mut O,
        clip_norm: Option<f64>,
    ) -> Result<f64, RnnError> {
        self.check_grads(grads)?;
        let norm = {
            let views: Vec<ArrayViewD<'_, F>> = grads.named_params().into_iter().map(|(_, v)| v).collect();
            super::clip::global_norm(&views)
        };
        if !norm.is_finite() {
            return Err(RnnError::NonFinite {
                what: "gradient norm".into(),
                step: optimizer.steps_taken(),
            });
        }
        if let Some(max) = clip_norm {
            let mut views: Vec<ArrayViewMutD<'_, F>> = grads.named_params_mut().into_iter().map(|(_, v)| v).collect();
            super::clip::clip_grad_norm(&mut views, max)?;
        }
        optimizer.step_named(&mut self.named_params_mut(), &grads.named_params())?;
        Ok(norm)
    }

    /// Checks that `grads` has this model's configuration and parameter shapes.
    fn check_grads(&self, grads: &Self) -> Result<(), RnnError> {
        let same = grads.config == self.config
            && grads.embed.as_ref().map(|e| e.dim()) == self.embed.as_ref().map(|e| e.dim())
            && grads.head.weight.dim() == self.head.weight.dim()
            && grads.head.bias.dim() == self.head.bias.dim();
        if !same {
            return Err(RnnError::Invalid(format!(
                "gradient model {grads:?} does not have the shape of the model {self:?}"
            )));
        }
        self.layers.check_grads(&grads.layers)
    }

    /// The head's output `z[B, O]` and activated output `y[B, O]` for the
    /// last layer's output `h[B, D*H]` of one step (streaming use).
    pub(crate) fn head_step(&self, h: ndarray::ArrayView2<'_, F>) -> Result<(Array2<F>, Array2<F>), RnnError> {
        let z = self.head.forward(h)?;
        let mut y = z.clone();
        for row in y.rows_mut() {
            head::activate_row(self.config.activation, row);
        }
        Ok((z, y))
    }
}
