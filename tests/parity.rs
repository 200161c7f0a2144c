//! Parity with PyTorch on every fixture in `tests/fixtures/torch/` (copied
//! from the shared fixtures): outputs, final states and every gradient
//! within 1e-9 relative in f64 and 1e-4 in f32 (the fixture README's rule).

use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnRelu, RnnReluDims, RnnTanh, RnnTanhDims};
use rnn::runtime::parity::{FixtureDtype, FixtureSpec, ParityReport, run_fixture_file};
use rnn::{Cell, Float};
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    v
}

fn run<F: Float, C: Cell<F>>(path: &Path, dims: impl FnOnce(&FixtureSpec) -> C::Dims) -> ParityReport {
    run_fixture_file::<F, C>(path, None, dims).expect("fixture runs")
}

fn report(path: &Path) -> ParityReport {
    let spec = FixtureSpec::read(path).expect("fixture header");
    macro_rules! go {
        ($cell:ident, $dims:ident) => {
            match spec.dtype {
                FixtureDtype::F64 => run::<f64, $cell<f64>>(path, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
                FixtureDtype::F32 => run::<f32, $cell<f32>>(path, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
            }
        };
    }
    match (spec.cell.as_str(), spec.nonlinearity.as_str()) {
        ("lstm", _) => go!(Lstm, LstmDims),
        ("gru", _) => go!(Gru, GruDims),
        ("rnn", "tanh") => go!(RnnTanh, RnnTanhDims),
        ("rnn", "relu") => go!(RnnRelu, RnnReluDims),
        other => panic!("no shipped cell for {other:?}"),
    }
}

#[test]
fn every_fixture_matches_pytorch() {
    let files = fixtures();
    assert_eq!(files.len(), 16, "expected the 16 shipped fixtures");
    let mut failed = Vec::new();
    for path in &files {
        let r = report(path);
        let worst = r.tensors.iter().map(|t| t.worst).fold(0.0, f64::max);
        let scaled = r.tensors.iter().map(|t| t.scaled).fold(0.0, f64::max);
        // Printed for the closing note: `cargo test --test parity -- --nocapture`.
        println!(
            "{:<36} tensors {:>2}  worst rel {:.3e}  worst scaled {:.3e}  (rtol {:e})",
            path.file_name().unwrap().to_string_lossy(),
            r.tensors.len(),
            worst,
            scaled,
            r.rtol
        );
        assert!(
            r.tensors.iter().any(|t| t.name == "grad_weight_hh_l0"),
            "weight gradients compared"
        );
        if !r.passed() {
            failed.push(format!("{r}"));
        }
    }
    assert!(failed.is_empty(), "parity failures:\n{}", failed.join("\n"));
}
