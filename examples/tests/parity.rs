//! Parity with PyTorch on every fixture in `tests/fixtures/torch/` and, for
//! variable-length batches (packed sequences), `tests/fixtures/torch_packed/`
//! (copied from the shared fixtures): outputs, final states and every
//! gradient within 1e-9 relative in f64 and 1e-4 in f32 (the fixture
//! README's rule).

use rnn_examples::parity::ParityReport;
use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    v.sort();
    v
}

fn report(path: &Path) -> ParityReport {
    rnn_examples::parity::run_shipped(path, None).expect("fixture runs")
}

#[test]
fn every_fixture_matches_pytorch() {
    check_all("torch");
}

#[test]
fn every_packed_fixture_matches_pytorch() {
    check_all("torch_packed");
}

fn check_all(folder: &str) {
    let files = fixtures(folder);
    assert_eq!(files.len(), 16, "expected the 16 shipped fixtures in {folder}");
    let mut failed = Vec::new();
    for path in &files {
        let r = report(path);
        let worst = r.tensors.iter().map(|t| t.worst).fold(0.0, f64::max);
        let scaled = r.tensors.iter().map(|t| t.scaled).fold(0.0, f64::max);
        // Printed for the closing note: `cargo test --test parity -- --nocapture`.
        println!(
            "{:<40} tensors {:>2}  worst rel {:.3e}  worst scaled {:.3e}  (rtol {:e})",
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
