//! Recurrent neural networks compiled at build time.
//!
//! Declare a cell's equations with [`cell!`]; the macro builds a dataflow
//! graph, checks its shapes, differentiates it, plans it across time and
//! emits plain Rust for the forward pass and for backpropagation through
//! time. The emitted code implements [`Cell`], which layers and training in
//! [`runtime`] are written against.
//!
//! # Example
//!
//! ```
//! use rnn::prelude::*;
//!
//! rnn::cell! {
//!     /// A minimal gated unit.
//!     pub cell Mgu(I, H) {
//!         input x: [I];
//!         state h: [H];
//!         param w_f: [H, I];
//!         param u_f: [H, H];
//!         param b_f: [H];
//!         param w_h: [H, I];
//!         param u_h: [H, H];
//!         param b_h: [H];
//!
//!         let f = sigmoid(w_f @ x + u_f @ h + b_f);
//!         let cand = tanh(w_h @ x + u_h @ (f * h) + b_h);
//!         h = (1.0 - f) * h + f * cand;
//!     }
//! }
//!
//! let mut rng = rnn::seeded_rng(0);
//! let cell = Mgu::<f64>::new(MguDims { i: 3, h: 5 }, &mut rng);
//! let xs = ndarray::Array3::<f64>::zeros((7, 2, 3));
//! let out = cell.forward(xs.view(), &[]).unwrap();
//! assert_eq!(out.outputs.shape(), &[7, 2, 5]);
//! ```
//!
//! # The cell language
//!
//! Declarations: `input x: [I];`, `state h: [H];` (at least one),
//! `param w: [4 * H, I];` (a matrix, used as `w @ v`), `param b: [H];` or a
//! scalar `param alpha: [];` (one value, combined with any vector),
//! and optionally `output y: [O];`. Equations run in order (`let a = ...;`,
//! `let [i, f] = split(a);`, `h = ...;`). Operations: `@`, `+ - * /`,
//! unary `-`, numbers, `sigmoid`, `tanh`, `relu`, `hard_sigmoid`, `exp`,
//! `sqrt`, `log`, `softplus`, `abs`, `max(a, b)`, `min(a, b)`; each is
//! differentiated exactly (PyTorch's conventions at kinks) and fused into
//! the emitted elementwise loops.
//!
//! ```
//! use rnn::prelude::*;
//!
//! rnn::cell! {
//!     /// A cell with a learned, positive step size.
//!     pub cell Leaky(I, H) {
//!         input x: [I];
//!         state h: [H];
//!         param w: [H, I];
//!         param u: [H, H];
//!         param s: [H];
//!
//!         let rate = softplus(s) / (1.0 + softplus(s));
//!         let cand = tanh(w @ x + u @ h);
//!         h = h + rate * (cand - h) / max(1.0 + abs(cand), sqrt(2.0 + log(1.0 + h * h)));
//!     }
//! }
//!
//! let cell = Leaky::<f64>::new(LeakyDims { i: 3, h: 4 }, &mut rnn::seeded_rng(0));
//! let xs = ndarray::Array3::<f64>::ones((5, 2, 3));
//! let trace = cell.forward_train(xs.view(), &[]).unwrap();
//! let (grads, _) = cell.backward(&trace, ndarray::Array3::ones((5, 2, 4)).view(), &[]).unwrap();
//! assert!(grads.s.iter().all(|g| g.is_finite()));
//! ```
//!
//! # Declaring a whole model
//!
//! [`model!`] declares a sequence model in source: an input encoding
//! (`one_hot(V)`, `embedding(V, D)`, `dense(W)`), a cell stacked `x N`
//! (optionally `bidirectional`), a head (`identity(O)`, `sigmoid(O)`,
//! `softmax(O)`) and a loss (`mse`, `cross_entropy`, `bce`); optionally a
//! head once per sequence (`pool: last | mean`), dropout (`dropout: p`, or
//! `dropout: input p, layers p, head p`) and learned initial states
//! (`init: learned`). Sizes are symbols
//! bound when the model is built (fields of the generated `NameSizes`) or
//! fixed in the header (`H = 32`), or numbers. The cell's input width comes
//! from the encoding and the head's from the cell, so they cannot disagree;
//! a head and a loss that do not go together, an unknown or unused size, a
//! missing part or a misspelled field of the cell's `Dims` do not compile.
//! The generated struct dereferences to [`runtime::model::SeqModel`], and
//! trains through the same [`runtime::train::Trainer`] as a hand-built one.
//!
//! ```
//! use rnn::{SeqInput, SeqTarget};
//!
//! rnn::model! {
//!     /// A character language model.
//!     pub model CharLm(V, H = 32) {
//!         input: one_hot(V);
//!         cell: rnn::cells::Lstm { h: H } x 2;
//!         head: softmax(V);
//!         loss: cross_entropy;
//!     }
//! }
//!
//! let model = CharLm::<f32>::new(CharLmSizes { v: 5 }, &mut rnn::seeded_rng(0))?;
//! let (ids, next) = ([0, 1, 2, 3], [1, 2, 3, 4]);
//! let loss = model.loss(&SeqInput::tokens(&ids, 2, 2), &SeqTarget::Classes(&next), None, &[])?;
//! assert!(loss > 0.0);
//! assert_eq!(model.config().num_layers, 2);
//! # Ok::<(), rnn::RnnError>(())
//! ```
#![warn(missing_docs)]

extern crate self as rnn;

pub mod cells;
pub mod prelude;

pub use rnn_macros::cell;
pub use rnn_macros::model;
pub use rnn_runtime as runtime;
pub use rnn_runtime::{
    Cell, CellInput, Float, Forward, InputGrads, Layers, Params, RnnError, SeqInput, SeqModel, SeqModelConfig,
    SeqScratch, SeqTarget, Trace, Workspace,
};

/// A seeded, reproducible random generator for initialisation and sampling.
pub fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Items the generated code uses; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use rnn_runtime::__private::*;
    pub use rnn_runtime::model::{Activation, Dropout, Encoding, LossKind, Pooling, SeqModel, SeqModelConfig};
}
