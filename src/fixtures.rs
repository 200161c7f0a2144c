//! PyTorch fixtures run through the shipped cells, picked from the file's metadata.

use crate::cells::{Gru, GruDims, Lstm, LstmDims, RnnRelu, RnnReluDims, RnnTanh, RnnTanhDims};
use rnn_runtime::parity::{FixtureDtype, FixtureSpec, ParityReport, run_fixture_file};
use rnn_runtime::{Cell, Float, RnnError};
use std::path::Path;

/// Runs a fixture (`cell`, `nonlinearity`, layers, direction and dtype from
/// its metadata) with the matching shipped cell in the fixture's float type,
/// optionally writes every result to `out`, and compares with PyTorch's.
pub fn run_shipped(fixture: &Path, out: Option<&Path>) -> Result<ParityReport, RnnError> {
    let spec = FixtureSpec::read(fixture)?;
    fn go<F: Float, C: Cell<F>>(
        fixture: &Path,
        out: Option<&Path>,
        dims: impl FnOnce(&FixtureSpec) -> C::Dims,
    ) -> Result<ParityReport, RnnError> {
        run_fixture_file::<F, C>(fixture, out, dims)
    }
    macro_rules! dispatch {
        ($cell:ident, $dims:ident) => {
            match spec.dtype {
                FixtureDtype::F64 => go::<f64, $cell<f64>>(fixture, out, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
                FixtureDtype::F32 => go::<f32, $cell<f32>>(fixture, out, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
            }
        };
    }
    match (spec.cell.as_str(), spec.nonlinearity.as_str()) {
        ("lstm", _) => dispatch!(Lstm, LstmDims),
        ("gru", _) => dispatch!(Gru, GruDims),
        ("rnn", "tanh") => dispatch!(RnnTanh, RnnTanhDims),
        ("rnn", "relu") => dispatch!(RnnRelu, RnnReluDims),
        (cell, nonlinearity) => Err(RnnError::Invalid(format!(
            "{}: no shipped cell for cell = {cell:?}, nonlinearity = {nonlinearity:?}",
            spec.path
        ))),
    }
}
