//! Helpers that only the code `cell!` emits calls (through
//! `rnn_runtime::__private`): nothing here is needed to use a cell.
//!
//! - [`rows`]: a fused elementwise loop's batch rows split between two
//!   threads, each thread reaching only its own rows;
//! - [`slices`]: disjoint mutable regions of one buffer, consecutive
//!   chunks, stacked weights packed once per call;
//! - [`simd`]: runs a loop compiled for the widest vector unit the CPU has;
//! - [`init`]: zero-filled buffers and `U(-bound, bound)` initialisation.

pub mod init;
pub mod rows;
pub mod simd;
pub mod slices;
