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
}

impl LossKind {
    /// The name stored in checkpoints: `mse` or `cross_entropy`.
    pub fn name(&self) -> &'static str {
        match self {
            LossKind::Mse => "mse",
            LossKind::CrossEntropy => "cross_entropy",
        }
    }

    /// Parses [`LossKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mse" => Some(LossKind::Mse),
            "cross_entropy" => Some(LossKind::CrossEntropy),
            _ => None,
        }
    }

    /// Whether this loss can follow `activation`: `Softmax` +
    /// `CrossEntropy`, `Identity` + `Mse` and `Sigmoid` + `Mse`.
    pub const fn accepts(self, activation: Activation) -> bool {
        matches!(
            (activation, self),
            (Activation::Softmax, LossKind::CrossEntropy)
                | (Activation::Identity, LossKind::Mse)
                | (Activation::Sigmoid, LossKind::Mse)
        )
    }
}

/// Everything about a [`SeqModel`](super::SeqModel) except the cell's own sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        if !self.loss.accepts(self.activation) {
            return Err(RnnError::Invalid(format!(
                "loss `{}` cannot follow activation `{}`: use softmax with cross_entropy, or identity or sigmoid with mse",
                self.loss.name(),
                self.activation.name()
            )));
        }
        Ok(())
    }
}
