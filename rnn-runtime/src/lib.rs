//! Runtime for cells compiled by `rnn::cell!`.
//!
//! The cell compiler emits plain Rust that calls the kernels in this crate;
//! everything that is the same for every cell (the float trait, matrix
//! products, errors, the [`Cell`] trait that layers and training are written
//! against, sequence layers, checkpoints) lives here.
//!
//! # Example
//!
//! ```
//! use rnn_runtime::gemm::gemm_nt;
//! // c[1x2] = a[1x3] · b[2x3]^T
//! let a = [1.0_f64, 2.0, 3.0];
//! let b = [1.0_f64, 0.0, 0.0, 0.0, 1.0, 1.0];
//! let mut c = [0.0_f64; 2];
//! gemm_nt(&mut rnn_runtime::Workspace::new(), 1, 2, 3, &a, 3, &b, 3, 0.0, &mut c, 2);
//! assert_eq!(c, [1.0, 5.0]);
//! ```
//!
//! # Details
//!
//! The modules form layers; each imports only from the layers before it:
//!
//! 1. the numeric base: [`error`]; [`math`] (vectorisable `exp`,
//!    `sigmoid`, `tanh`, bounded by [`math::FastMath`]); [`workspace`]
//!    (buffers reused between calls); [`gemm`] (matrix products, bounded by
//!    their own element trait [`gemm::GemmElem`]); and on top of them
//!    [`float`], whose [`Float`] is all of these bounds in one;
//! 2. [`emitted`]: helpers only the code `cell!` emits calls;
//! 3. [`cell`]: the [`Cell`] trait, what its passes return or keep
//!    ([`Forward`], [`Trace`], [`InputGrads`]), its input ([`CellInput`],
//!    [`cell::input`]) and [`Scratch`], a cell's steps without allocation;
//! 4. [`params`]: parameters by index ([`Params`]), what optimisers,
//!    clipping and guards read; [`io`]: safetensors files;
//! 5. [`layers`]: stacked and bidirectional [`Layers`] over any cell;
//! 6. [`nn`]: the linear head, losses, encodings, sampling, initialisers;
//! 7. [`model`]: [`SeqModel`] (encoding, layers, head, loss), the one model
//!    `model!` declares, with its fast path [`SeqScratch`], streaming
//!    generation and output feedback;
//! 8. [`optim`]: optimisers, learning-rate schedules, clipping;
//! 9. [`train`]: training drivers: the [`Trainer`](train::Trainer) loop,
//!    truncated BPTT, divergence guards and checkpoints, metrics.
#![warn(missing_docs)]

pub mod cell;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod emitted;
pub mod error;
pub mod float;
pub mod gemm;
pub mod io;
pub mod layers;
pub mod math;
pub mod model;
pub mod nn;
pub mod optim;
pub mod params;
#[cfg(test)]
pub(crate) mod testing;
pub mod train;
pub mod workspace;

pub use cell::{BatchSizes, Cell, CellInput, Forward, InputGrads, Scratch, Trace};
pub use error::RnnError;
pub use float::Float;
pub use io::{TensorFile, read_tensors, write_tensors};
pub use layers::{Layers, LayersInputGrads, LayersOutput, LayersTrace};
pub use model::{SeqInput, SeqModel, SeqModelConfig, SeqScratch, SeqTarget};
pub use ndarray;
pub use params::Params;
pub use rand;
pub use workspace::Workspace;

/// Items the generated code uses; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::cell::input::{
        CellInput, InputHold, InputRef, OneHotSums, chunk_steps, dense_input, input_product, input_product_packed,
        input_weight_grad, save_input, saved_input,
    };
    pub use crate::cell::packed::{DenseInput, PrevStates, check_packed_input, final_state};
    pub use crate::cell::{
        BatchSizes, Cell, Forward, InputGrads, Trace, check_batch, check_dims, check_input, check_saved, check_states,
        check_trace, trace_tag,
    };
    pub use crate::emitted::init::{uniform_fill, zeros};
    pub use crate::emitted::rows::{RowBlocks, RowCursor, join, row_split};
    pub use crate::emitted::simd::simd;
    pub use crate::emitted::slices::{
        add_cols, add_transposed, chunks_mut, copy_cols, copy_transposed, pack_rows, split_ranges_mut, tail, tail_mut,
    };
    pub use crate::error::RnnError;
    pub use crate::float::Float;
    pub use crate::gemm::{PackedB, PanelsA, Strided, gemm_nn, gemm_nt, gemm_packed, gemm_tn, gemm_tn_panels_parts};
    pub use crate::math::{
        exp, hard_sigmoid, hard_sigmoid_grad, maximum, minimum, sigmoid, sign, softplus, softplus_grad, tanh, tie_step,
    };
    pub use crate::workspace::{Workspace, array2, array3};
    pub use ::core;
    pub use ::ndarray;
    pub use ::num_traits;
    pub use ::rand;
    pub use ::std::boxed::Box;
    pub use ::std::string::String;
    pub use ::std::vec::Vec;
}
