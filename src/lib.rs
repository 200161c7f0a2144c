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
#![warn(missing_docs)]

extern crate self as rnn;

pub mod cells;
pub mod fixtures;
pub mod prelude;
pub mod workload;

pub use rnn_macros::cell;
pub use rnn_runtime as runtime;
pub use rnn_runtime::{Cell, Float, Forward, InputGrads, RnnError, Trace};

/// A seeded, reproducible random generator for initialisation and sampling.
pub fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// Items the generated code uses; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use rnn_runtime::__private::*;
}
