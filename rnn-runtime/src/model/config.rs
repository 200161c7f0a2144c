//! The model's settings: the input [`Encoding`], the head's [`Activation`],
//! the [`LossKind`] and [`SeqModelConfig`], which holds them with the
//! number of layers, the direction and the output width.
//!
//! Names ([`Encoding::name`], ...) are what checkpoints store; the valid
//! head/loss pairs are decided by [`LossKind::accepts`], a `const fn` so a
//! macro can check a pair at compile time.

use crate::error::RnnError;

/// How inputs become the first recurrent layer's input `xs[T, B, I]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Token ids `< vocab` as one-hot rows; `I = vocab`, no parameters.
    OneHot {
        /// Number of distinct tokens.
        vocab: usize,
    },
    /// Token ids looked up in `embed.weight [vocab, dim]` (PyTorch's
    /// `nn.Embedding`, initialised `N(0, 1)`); `I = dim`. The gradient adds
    /// each step's input gradient into the row of its id (scatter-add).
    Embedding {
        /// Number of distinct tokens.
        vocab: usize,
        /// Width of one embedding row.
        dim: usize,
    },
    /// Real-valued inputs `[T, B, width]` passed straight in; `I = width`.
    Dense {
        /// Width of one input step.
        width: usize,
    },
}

impl Encoding {
    /// Width `I` of the first recurrent layer's input.
    pub fn input_width(&self) -> usize {
        match *self {
            Encoding::OneHot { vocab } => vocab,
            Encoding::Embedding { dim, .. } => dim,
            Encoding::Dense { width } => width,
        }
    }

    /// The vocabulary size of a token encoding; `None` for [`Encoding::Dense`].
    pub fn vocab(&self) -> Option<usize> {
        match *self {
            Encoding::OneHot { vocab } | Encoding::Embedding { vocab, .. } => Some(vocab),
            Encoding::Dense { .. } => None,
        }
    }

    /// Whether inputs are token ids (one-hot or embedding).
    pub fn is_tokens(&self) -> bool {
        self.vocab().is_some()
    }

    /// The name stored in checkpoints: `one_hot`, `embedding` or `dense`.
    pub fn name(&self) -> &'static str {
        match self {
            Encoding::OneHot { .. } => "one_hot",
            Encoding::Embedding { .. } => "embedding",
            Encoding::Dense { .. } => "dense",
        }
    }
}

/// The activation applied to the head's output `z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// `y = z` (regression).
    #[default]
    Identity,
    /// `y = 1 / (1 + e^-z)` elementwise (values in `(0, 1)`).
    Sigmoid,
    /// `y = softmax(z)` over each row (a distribution over classes).
    Softmax,
}

impl Activation {
    /// The name stored in checkpoints: `identity`, `sigmoid` or `softmax`.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
        }
    }

    /// Parses [`Activation::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "identity" => Some(Activation::Identity),
            "sigmoid" => Some(Activation::Sigmoid),
            "softmax" => Some(Activation::Softmax),
            _ => None,
        }
    }
}

/// The training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LossKind {
    /// Mean squared error of the activation's output against value
    /// targets `[T, B, O]` (PyTorch's `F.mse_loss`, mean over counted
    /// elements); with [`Activation::Sigmoid`] the gradient goes through
    /// the sigmoid.
    #[default]
    Mse,
    /// Softmax cross-entropy of the logits `z` against class ids `[T*B]`
    /// (PyTorch's `F.cross_entropy`, mean over counted positions).
    CrossEntropy,
    /// Binary cross-entropy of the sigmoid of the logits `z` against
    /// targets in `[0, 1]`, computed on the logits for stability (PyTorch's
    /// `F.binary_cross_entropy_with_logits`, mean over counted elements).
    BinaryCrossEntropy,
}

impl LossKind {
    /// The name stored in checkpoints: `mse`, `cross_entropy` or `bce`.
    pub fn name(&self) -> &'static str {
        match self {
            LossKind::Mse => "mse",
            LossKind::CrossEntropy => "cross_entropy",
            LossKind::BinaryCrossEntropy => "bce",
        }
    }

    /// Parses [`LossKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mse" => Some(LossKind::Mse),
            "cross_entropy" => Some(LossKind::CrossEntropy),
            "bce" => Some(LossKind::BinaryCrossEntropy),
            _ => None,
        }
    }

    /// Whether the targets are class ids ([`LossKind::CrossEntropy`]) rather
    /// than values.
    pub fn takes_classes(&self) -> bool {
        matches!(self, LossKind::CrossEntropy)
    }

    /// Whether this loss can follow `activation`: `Softmax` +
    /// `CrossEntropy`, `Identity` + `Mse`, `Sigmoid` + `Mse` and `Sigmoid`
    /// + `BinaryCrossEntropy`.
    pub const fn accepts(self, activation: Activation) -> bool {
        matches!(
            (activation, self),
            (Activation::Softmax, LossKind::CrossEntropy)
                | (Activation::Identity, LossKind::Mse)
                | (Activation::Sigmoid, LossKind::Mse)
                | (Activation::Sigmoid, LossKind::BinaryCrossEntropy)
        )
    }
}

/// What the head reads: every step, or one vector per sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooling {
    /// The head runs at every step: outputs `[T, B, O]`, one target per
    /// step.
    #[default]
    Steps,
    /// The head runs once per sequence on its last valid step: the forward
    /// direction's output at `len - 1` and, for a bidirectional model, the
    /// reverse direction's at 0 (together PyTorch's `h_n` of both
    /// directions for the shipped cells); one target per sequence.
    Last,
    /// The head runs once per sequence on the mean of its outputs over its
    /// valid steps; one target per sequence.
    Mean,
}

impl Pooling {
    /// The name stored in checkpoints: `steps`, `last` or `mean`.
    pub fn name(&self) -> &'static str {
        match self {
            Pooling::Steps => "steps",
            Pooling::Last => "last",
            Pooling::Mean => "mean",
        }
    }

    /// Parses [`Pooling::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "steps" => Some(Pooling::Steps),
            "last" => Some(Pooling::Last),
            "mean" => Some(Pooling::Mean),
            _ => None,
        }
    }

    /// Whether the head sees one vector per sequence.
    pub fn per_sequence(&self) -> bool {
        !matches!(self, Pooling::Steps)
    }
}

/// Dropout probabilities (PyTorch's inverted dropout: a kept value is
/// scaled by `1 / (1 - p)` in training; nothing happens in evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dropout {
    /// On the first layer's input (the embedding rows or dense values; a
    /// one-hot input is written out as vectors when this is set).
    pub input: f64,
    /// Between stacked layers, on every layer's output but the last's
    /// (the `dropout` of PyTorch's `nn.LSTM`).
    pub layers: f64,
    /// On what the head reads.
    pub head: f64,
}

impl Dropout {
    /// The same probability everywhere.
    pub fn all(p: f64) -> Self {
        Dropout {
            input: p,
            layers: p,
            head: p,
        }
    }

    /// Whether any probability is above zero.
    pub fn any(&self) -> bool {
        self.input > 0.0 || self.layers > 0.0 || self.head > 0.0
    }
}

/// Everything about a [`SeqModel`](super::SeqModel) except the cell's own sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeqModelConfig {
    /// How inputs are encoded.
    pub encoding: Encoding,
    /// Number of stacked recurrent layers (at least 1).
    pub num_layers: usize,
    /// Whether every layer also runs in reverse (`D = 2`).
    pub bidirectional: bool,
    /// Width `O` of the head's output.
    pub output_size: usize,
    /// Activation of the head's output.
    pub activation: Activation,
    /// Training loss (must accept the activation, see [`LossKind::accepts`]).
    pub loss: LossKind,
    /// Whether the head runs per step or once per sequence.
    pub pooling: Pooling,
    /// Dropout probabilities (all 0 by default).
    pub dropout: Dropout,
    /// Whether the initial states are parameters (`init.{state}`,
    /// `[L*D, width]`, broadcast over the batch) rather than zeros.
    pub learn_init: bool,
}

impl SeqModelConfig {
    /// One unidirectional layer; change with [`SeqModelConfig::layers`] and
    /// [`SeqModelConfig::bidirectional`].
    pub fn new(encoding: Encoding, output_size: usize, activation: Activation, loss: LossKind) -> Self {
        SeqModelConfig {
            encoding,
            num_layers: 1,
            bidirectional: false,
            output_size,
            activation,
            loss,
            pooling: Pooling::Steps,
            dropout: Dropout::default(),
            learn_init: false,
        }
    }

    /// A next-token model: `encoding` in, `vocab` logits out, softmax and
    /// cross-entropy.
    pub fn language_model(encoding: Encoding, vocab: usize) -> Self {
        Self::new(encoding, vocab, Activation::Softmax, LossKind::CrossEntropy)
    }

    /// A regression model: `Dense { width }` in, `output_size` values out,
    /// identity and MSE.
    pub fn regression(width: usize, output_size: usize) -> Self {
        Self::new(
            Encoding::Dense { width },
            output_size,
            Activation::Identity,
            LossKind::Mse,
        )
    }

    /// With `num_layers` stacked layers.
    pub fn layers(self, num_layers: usize) -> Self {
        SeqModelConfig { num_layers, ..self }
    }

    /// With (or without) reverse directions.
    pub fn bidirectional(self, bidirectional: bool) -> Self {
        SeqModelConfig { bidirectional, ..self }
    }

    /// With the head reading `pooling`.
    pub fn pooling(self, pooling: Pooling) -> Self {
        SeqModelConfig { pooling, ..self }
    }

    /// With these dropout probabilities.
    pub fn dropout(self, dropout: Dropout) -> Self {
        SeqModelConfig { dropout, ..self }
    }

    /// With (or without) learnable initial states.
    pub fn learn_init(self, learn_init: bool) -> Self {
        SeqModelConfig { learn_init, ..self }
    }

    /// Checks the settings: at least one layer, non-zero sizes, and an
    /// activation the loss accepts. Errors are [`RnnError::Invalid`].
    pub fn validate(&self) -> Result<(), RnnError> {
        if self.num_layers == 0 {
            return Err(RnnError::Invalid("num_layers must be at least 1".into()));
        }
        if self.output_size == 0 {
            return Err(RnnError::Invalid("output_size must be at least 1".into()));
        }
        match self.encoding {
            Encoding::OneHot { vocab: 0 } | Encoding::Embedding { vocab: 0, .. } => {
                return Err(RnnError::Invalid(
                    "a token encoding needs a vocabulary of at least 1".into(),
                ));
            }
            Encoding::Embedding { dim: 0, .. } => {
                return Err(RnnError::Invalid("embedding dim must be at least 1".into()));
            }
            Encoding::Dense { width: 0 } => {
                return Err(RnnError::Invalid("dense input width must be at least 1".into()));
            }
            _ => {}
        }
        if self.dropout.layers > 0.0 && self.num_layers < 2 {
            return Err(RnnError::Invalid(format!(
                "dropout between layers ({}) does nothing in a model of one layer; set it to 0 or stack layers",
                self.dropout.layers
            )));
        }
        for (what, p) in [
            ("input", self.dropout.input),
            ("layers", self.dropout.layers),
            ("head", self.dropout.head),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(RnnError::Invalid(format!("{what} dropout must be in [0, 1), got {p}")));
            }
        }
        if !self.loss.accepts(self.activation) {
            return Err(RnnError::Invalid(format!(
                "loss `{}` cannot follow activation `{}`: use softmax with cross_entropy, identity or sigmoid with mse, or sigmoid with bce",
                self.loss.name(),
                self.activation.name()
            )));
        }
        Ok(())
    }
}
