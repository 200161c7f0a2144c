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
//! and both number their tensors the same way ([`Params`]), so optimisers
//! ([`crate::optim`]) and clipping work on a model and its gradient
//! directly.
//!
//! # The fast path
//!
//! The `_ws` methods ([`SeqModel::loss_and_grad_ws`],
//! [`SeqModel::loss_ws`], [`SeqModel::logits_ws`]) take every buffer from
//! a [`SeqScratch`] that the caller passes again at every step: token ids
//! of a one-hot encoding are looked up in the first layer's weights (the
//! one-hot vectors are never written out), the cells run on a reused
//! workspace and trace, and once the shapes have been seen a training step
//! (forward, loss, BPTT) allocates nothing. The plain methods
//! ([`SeqModel::loss_and_grad`], [`SeqModel::forward`], ...) run the same
//! code on a fresh scratch.
//!
//! Submodules hold the parts: `config` (encoding, activation, loss and the
//! settings struct), `input` (inputs and targets), `run` (encoding, the
//! forward, loss and backward passes), `scratch` (memory reused across
//! steps), `head` (activation and loss), `checkpoint` (safetensors files
//! with the model's settings as metadata), `init` (initialisers by name
//! pattern); their public items are re-exported here. Streaming use is in
//! [`generate`](mod@generate), output feedback in [`feedback`].

use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::layers::Layers;
use crate::nn::encoding::standard_normal;
use crate::nn::linear::Linear;
use crate::params::Params;
use ndarray::{Array2, Array3, ArrayViewD, ArrayViewMutD};
use rand::Rng;
use std::sync::atomic::{AtomicU64, Ordering};

mod checkpoint;
mod config;
pub mod feedback;
pub mod generate;
mod head;
mod init;
mod input;
mod run;
mod scratch;
#[cfg(test)]
mod tests;

pub use checkpoint::{
    META_ACTIVATION, META_BIDIRECTIONAL, META_CELL, META_DROPOUT, META_EMBED_DIM, META_ENCODING, META_HIDDEN_SIZE,
    META_INPUT_WIDTH, META_LEARN_INIT, META_LOSS, META_NUM_LAYERS, META_OUTPUT_SIZE, META_POOLING, META_VOCAB,
    META_VOCAB_SIZE,
};
pub use config::{Activation, Dropout, Encoding, LossKind, Pooling, SeqModelConfig};
pub use feedback::{FeedMode, TeacherSchedule};
pub use generate::{Generator, generate};
pub use input::{SeqData, SeqInput, SeqInputBuf, SeqTarget};
pub use run::{SeqLoss, SeqOutcome};
pub use scratch::SeqScratch;

/// Prefix of the embedding's parameter name (`embed.weight`).
pub const EMBED_PREFIX: &str = "embed.";
/// Prefix of the recurrent layers' parameter names (`rnn.weight_ih_l0`, ...).
pub const RNN_PREFIX: &str = "rnn.";
/// Prefix of the output head's parameter names (`head.weight`, `head.bias`).
pub const HEAD_PREFIX: &str = "head.";
/// Prefix of the learnable initial states' names (`init.h`, `init.c`).
pub const INIT_PREFIX: &str = "init.";

/// Input encoding, recurrent layers, linear head, activation and loss (see
/// the [module docs](self)).
///
/// # Example
///
/// ```
/// use rnn_runtime::model::{Encoding, SeqInput, SeqModel, SeqModelConfig, SeqTarget};
/// use rnn_runtime::optim::{Adam, AdamConfig};
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
    /// Learnable initial states `init.{state}` `[L*D, width]`, one per cell
    /// state, when [`SeqModelConfig::learn_init`] is set; else empty.
    init: Vec<Array2<F>>,
    /// Whether passes apply dropout ([`SeqModel::set_training`]).
    training: bool,
    /// Seed of the dropout masks ([`crate::nn::dropout::pass_rng`]).
    dropout_seed: u64,
    /// Dropout passes run so far: pass `k` draws its masks from
    /// `pass_rng(dropout_seed, k)`.
    dropout_pass: AtomicU64,
}

impl<F: Float, C: Cell<F>> Clone for SeqModel<F, C> {
    fn clone(&self) -> Self {
        SeqModel {
            config: self.config,
            embed: self.embed.clone(),
            layers: self.layers.clone(),
            head: self.head.clone(),
            init: self.init.clone(),
            training: self.training,
            dropout_seed: self.dropout_seed,
            dropout_pass: AtomicU64::new(self.dropout_pass.load(Ordering::Relaxed)),
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
        let mut dropout_seed = 0;
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
                // Drawn last, and only with dropout, so that models without
                // it draw exactly what they always did.
                if config.dropout.any() {
                    dropout_seed = rng.random::<u64>();
                }
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
        // Learned initial states start at zero (the usual default state).
        let rows = layers.cells().len();
        let init = if config.learn_init {
            layers.state_sizes().iter().map(|&w| Array2::zeros((rows, w))).collect()
        } else {
            Vec::new()
        };
        Ok(SeqModel {
            config,
            embed,
            layers,
            head,
            init,
            training: true,
            dropout_seed,
            dropout_pass: AtomicU64::new(0),
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
            init: self.init.iter().map(|a| Array2::zeros(a.raw_dim())).collect(),
            training: self.training,
            dropout_seed: self.dropout_seed,
            dropout_pass: AtomicU64::new(0),
        }
    }

    /// Sets every parameter to zero (without allocating: a gradient is
    /// reset this way at every training step).
    pub fn zero(&mut self) {
        if let Some(e) = &mut self.embed {
            e.fill(F::zero());
        }
        self.layers.fill_zero();
        self.head.weight.fill(F::zero());
        self.head.bias.fill(F::zero());
        for a in &mut self.init {
            a.fill(F::zero());
        }
    }

    /// Whether passes apply dropout (`true` after building, as in PyTorch).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Training mode (`true`: dropout masks are drawn and applied) or
    /// evaluation mode (`false`: dropout is the identity), like PyTorch's
    /// `module.train(mode)`. Models without dropout behave the same either way.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// The dropout seed and the number of dropout passes run: pass `k`
    /// draws its masks from [`pass_rng`](crate::nn::dropout::pass_rng)`(seed, k)`.
    pub fn dropout_state(&self) -> (u64, u64) {
        (self.dropout_seed, self.dropout_pass.load(Ordering::Relaxed))
    }

    /// Sets the dropout seed and pass counter (to replay a pass's masks, or
    /// to resume a run where it stopped).
    pub fn set_dropout_state(&mut self, seed: u64, passes: u64) {
        self.dropout_seed = seed;
        self.dropout_pass.store(passes, Ordering::Relaxed);
    }

    /// The learnable initial states `[L*D, width]`, one per cell state
    /// (empty unless [`SeqModelConfig::learn_init`]).
    pub fn initial_states(&self) -> &[Array2<F>] {
        &self.init
    }

    /// The learnable initial states, mutably.
    pub fn initial_states_mut(&mut self) -> &mut [Array2<F>] {
        &mut self.init
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

    /// The name of learnable initial state `k`: `init.{state name}`.
    fn init_name(k: usize) -> String {
        format!("{INIT_PREFIX}{}", C::STATE_NAMES.get(k).copied().unwrap_or("state"))
    }

    /// Every parameter with its `state_dict` name, in a fixed order:
    /// `embed.weight` (if any), the layers' `rnn.*` in PyTorch order,
    /// `head.weight`, `head.bias`, then the learnable initial states
    /// `init.{state}` (if any).
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
        for (k, a) in self.init.iter().enumerate() {
            out.push((Self::init_name(k), a.view().into_dyn()));
        }
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
        for (k, a) in self.init.iter_mut().enumerate() {
            out.push((Self::init_name(k), a.view_mut().into_dyn()));
        }
        out
    }

    /// Total number of scalar parameters.
    pub fn num_scalars(&self) -> usize {
        self.named_params().iter().map(|(_, v)| v.len()).sum()
    }

    /// Checks that `grads` has this model's configuration and parameter shapes.
    pub(crate) fn check_grads(&self, grads: &Self) -> Result<(), RnnError> {
        let same = grads.config == self.config
            && grads.embed.as_ref().map(|e| e.dim()) == self.embed.as_ref().map(|e| e.dim())
            && grads.head.weight.dim() == self.head.weight.dim()
            && grads.head.bias.dim() == self.head.bias.dim()
            && grads.init.len() == self.init.len()
            && grads.init.iter().zip(&self.init).all(|(g, p)| g.dim() == p.dim());
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

impl<F: Float, C: Cell<F>> Params<F> for SeqModel<F, C> {
    fn param_count(&self) -> usize {
        usize::from(self.embed.is_some()) + self.layers.param_count() + self.head.param_count() + self.init.len()
    }

    fn param(&self, k: usize) -> ArrayViewD<'_, F> {
        match self.locate(k) {
            Part::Embed => self.embed.as_ref().expect("located").view().into_dyn(),
            Part::Layers(j) => self.layers.param(j),
            Part::Head(j) => self.head.param(j),
            Part::Init(j) => self.init[j].view().into_dyn(),
        }
    }

    fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, F> {
        match self.locate(k) {
            Part::Embed => self.embed.as_mut().expect("located").view_mut().into_dyn(),
            Part::Layers(j) => self.layers.param_mut(j),
            Part::Head(j) => self.head.param_mut(j),
            Part::Init(j) => self.init[j].view_mut().into_dyn(),
        }
    }

    fn param_name(&self, k: usize) -> String {
        match self.locate(k) {
            Part::Embed => format!("{EMBED_PREFIX}weight"),
            Part::Layers(j) => format!("{RNN_PREFIX}{}", self.layers.param_name(j)),
            Part::Head(j) => format!("{HEAD_PREFIX}{}", self.head.param_name(j)),
            Part::Init(j) => Self::init_name(j),
        }
    }
}

/// Which part of a [`SeqModel`] holds tensor `k`, and its index there.
enum Part {
    Embed,
    Layers(usize),
    Head(usize),
    Init(usize),
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// The part holding tensor `k` in the order of [`SeqModel::named_params`].
    fn locate(&self, k: usize) -> Part {
        let e = usize::from(self.embed.is_some());
        let l = self.layers.param_count();
        let h = self.head.param_count();
        if k < e {
            Part::Embed
        } else if k < e + l {
            Part::Layers(k - e)
        } else if k < e + l + h {
            Part::Head(k - e - l)
        } else {
            Part::Init(k - e - l - h)
        }
    }
}
