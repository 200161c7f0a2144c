//! Building blocks around the recurrent layers: the linear head, losses,
//! input encodings, sampling from logits and initialisers. Each works on
//! plain ndarray tensors and knows nothing of models or training loops.
//!
//! - [`linear`]: `y = x W^T + b` (PyTorch's `nn.Linear`);
//! - [`loss`]: softmax cross-entropy, binary cross-entropy with logits and
//!   mean squared error, masked;
//! - [`dropout`]: inverted dropout masks;
//! - [`encoding`]: one-hot rows, embedding lookup and its gradient;
//! - [`sample`]: greedy and temperature sampling from logits;
//! - [`init`]: initialisers over named parameters (uniform, Xavier,
//!   orthogonal, forget-gate bias).

pub mod dropout;
pub mod encoding;
pub mod init;
pub mod linear;
pub mod loss;
pub mod sample;

pub use linear::Linear;
pub use loss::{LossGrad, bce_with_logits_into, mse, mse_into, softmax_cross_entropy, softmax_cross_entropy_into};
pub use sample::{argmax, sample_logits};
