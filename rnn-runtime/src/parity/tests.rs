//! Parity tests with the hand-written test cell: the vanilla RNN against the
//! shipped PyTorch fixtures, and the fixture plumbing for stacked
//! bidirectional two-state models.

use super::*;
use crate::testing::{Kind, TestDims, TestRnn};
use ndarray::ArrayD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/torch/");

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-parity-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn kind_of(spec: &FixtureSpec) -> Kind {
    match spec.nonlinearity.as_str() {
        "relu" => Kind::Relu,
        _ => Kind::Tanh,
    }
}

#[test]
fn vanilla_rnn_matches_pytorch_fixtures() {
    let dir = scratch("vanilla");
    for case in [
        "rnn_tanh_T5_B3_I4_H6",
        "rnn_tanh_T20_B2_I8_H16",
        "rnn_relu_T5_B3_I4_H6",
        "rnn_relu_T20_B2_I8_H16",
    ] {
        let f64_path = format!("{DIR}{case}.safetensors");
        let out = dir.join(format!("{case}.out.safetensors"));
        let report = run_fixture_file::<f64, TestRnn<f64>>(&f64_path, Some(&out), |s| TestDims {
            i: s.input_size,
            h: s.hidden_size,
            kind: kind_of(s),
        })
        .unwrap();
        assert!(report.passed(), "{report}");
        assert_eq!(report.rtol, 1e-9);
        // The results file holds exactly what the README lists.
        let res = crate::io::read_tensors_exact::<f64>(&out).unwrap();
        let names: Vec<&str> = res.names().collect();
        assert_eq!(
            names,
            [
                "out",
                "h_n",
                "loss",
                "grad_weight_ih_l0",
                "grad_weight_hh_l0",
                "grad_bias_ih_l0",
                "grad_bias_hh_l0",
                "grad_x",
                "grad_h0"
            ]
        );
        assert_eq!(res.meta("format").unwrap(), "rnn-parity-result-v1");

        let f32_path = format!("{DIR}{case}_f32.safetensors");
        let spec = FixtureSpec::read(&f32_path).unwrap();
        assert_eq!(spec.dtype, FixtureDtype::F32);
        let report = run_fixture_file::<f32, TestRnn<f32>>(&f32_path, None, |s| TestDims {
            i: s.input_size,
            h: s.hidden_size,
            kind: kind_of(s),
        })
        .unwrap();
        assert!(report.passed(), "{report}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spec_reads_the_header() {
    let spec = FixtureSpec::read(format!("{DIR}lstm_T5_B3_I4_H6.safetensors")).unwrap();
    assert_eq!(spec.cell, "lstm");
    assert_eq!(spec.nonlinearity, "n/a");
    assert_eq!(
        (spec.num_layers, spec.bidirectional, spec.dtype),
        (1, false, FixtureDtype::F64)
    );
    assert_eq!(
        (spec.seq_len, spec.batch, spec.input_size, spec.hidden_size),
        (5, 3, 4, 6)
    );
    let spec = FixtureSpec::read(format!("{DIR}rnn_relu_T20_B2_I8_H16_f32.safetensors")).unwrap();
    assert_eq!((spec.cell.as_str(), spec.nonlinearity.as_str()), ("rnn", "relu"));
    assert_eq!(
        (spec.seq_len, spec.batch, spec.input_size, spec.hidden_size),
        (20, 2, 8, 16)
    );
    assert!(FixtureSpec::read(format!("{DIR}manifest.json")).is_err());
}

fn randn(r: &mut StdRng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(shape, |_| 2.0 * r.random::<f64>() - 1.0)
}

/// A fixture for a 2-layer bidirectional two-state model, its expected
/// values computed directly with [`Layers`].
fn synthetic_fixture() -> TensorFile<f64> {
    let mut r = StdRng::seed_from_u64(11);
    let dims = TestDims {
        i: 3,
        h: 4,
        kind: Kind::Leaky,
    };
    let layers = Layers::<f64, TestRnn<f64>>::new(dims, 2, true, &mut r).unwrap();
    let (t, b, rows) = (5, 2, 4);
    let mut f = layers.to_tensor_file();
    for (name, shape) in [("x", vec![t, b, 3]), ("h0", vec![rows, b, 4]), ("c0", vec![rows, b, 4])] {
        f.insert(name, randn(&mut r, &shape));
    }
    for (name, shape) in [("G", vec![t, b, 8]), ("Gh", vec![rows, b, 4]), ("Gc", vec![rows, b, 4])] {
        f.insert(name, randn(&mut r, &shape));
    }
    let a3 = |f: &TensorFile<f64>, n: &str| f.to_array3(n).unwrap();
    let init = vec![a3(&f, "h0"), a3(&f, "c0")];
    let up = vec![a3(&f, "Gh"), a3(&f, "Gc")];
    let trace = layers.forward_train(f.get_array3("x").unwrap(), &init).unwrap();
    let (grads, dx, dinit) = layers.backward(&trace, f.get_array3("G").unwrap(), &up).unwrap();
    let loss =
        (&trace.out * &a3(&f, "G")).sum() + (&trace.states[0] * &up[0]).sum() + (&trace.states[1] * &up[1]).sum();
    f.insert("out", trace.out.clone().into_dyn());
    f.insert("h_n", trace.states[0].clone().into_dyn());
    f.insert("c_n", trace.states[1].clone().into_dyn());
    f.insert("loss", ndarray::arr1(&[loss]).into_dyn());
    for (n, g) in grads.named_params() {
        f.insert(format!("grad_{n}"), g.to_owned());
    }
    f.insert("grad_x", dx.into_dyn());
    f.insert("grad_h0", dinit[0].clone().into_dyn());
    f.insert("grad_c0", dinit[1].clone().into_dyn());
    f.metadata = BTreeMap::from([
        ("cell".to_string(), "leaky".to_string()),
        ("num_layers".to_string(), "2".to_string()),
        ("bidirectional".to_string(), "true".to_string()),
        ("num_directions".to_string(), "2".to_string()),
        ("dtype".to_string(), "float64".to_string()),
    ]);
    f
}

const LEAKY: TestDims = TestDims {
    i: 3,
    h: 4,
    kind: Kind::Leaky,
};

#[test]
fn stacked_bidirectional_two_state_fixture_round_trips() {
    let dir = scratch("synthetic");
    let path = dir.join("leaky_L2_bi.safetensors");
    let fixture = synthetic_fixture();
    fixture.write(&path).unwrap();
    let spec = FixtureSpec::read(&path).unwrap();
    assert_eq!((spec.num_layers, spec.bidirectional, spec.hidden_size), (2, true, 4));
    let out = dir.join("res.safetensors");
    let report = run_fixture_file::<f64, TestRnn<f64>>(&path, Some(&out), |_| LEAKY).unwrap();
    assert!(report.passed(), "{report}");
    let res = crate::io::read_tensors::<f64>(&out).unwrap();
    let mut want: Vec<String> = ["out", "h_n", "c_n", "loss"].map(String::from).to_vec();
    for sfx in ["_l0", "_l0_reverse", "_l1", "_l1_reverse"] {
        for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
            want.push(format!("grad_{p}{sfx}"));
        }
    }
    want.extend(["grad_x", "grad_h0", "grad_c0"].map(String::from));
    assert_eq!(res.names().collect::<Vec<_>>(), want);
    for t in &report.tensors {
        assert!(t.worst < 1e-14, "{t:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatches_and_bad_fixtures_are_reported() {
    let fixture = synthetic_fixture();
    let results = run_fixture::<f64, TestRnn<f64>>(&fixture, LEAKY).unwrap();
    // A wrong gradient entry fails, naming the tensor.
    let mut wrong = fixture.clone();
    let mut g = wrong.remove("grad_weight_hh_l1_reverse").unwrap();
    g[[1, 2]] += 1e-3;
    wrong.insert("grad_weight_hh_l1_reverse", g);
    let report = compare(&results, &wrong, 1e-9).unwrap();
    assert!(!report.passed());
    let failed: Vec<&str> = report.failures().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(failed, ["grad_weight_hh_l1_reverse"]);
    assert!(report.to_string().contains("FAIL"));
    // A single-state cell cannot run a fixture with `c0`.
    let tanh = TestDims {
        kind: Kind::Tanh,
        ..LEAKY
    };
    let err = run_fixture::<f64, TestRnn<f64>>(&fixture, tanh)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`c0`"), "{err}");
    // Fewer layers than the parameters describe.
    let mut one = fixture.clone();
    one.metadata.insert("num_layers".into(), "1".into());
    let err = run_fixture::<f64, TestRnn<f64>>(&one, LEAKY).unwrap_err().to_string();
    assert!(err.contains("unexpected") && err.contains("weight_ih_l1"), "{err}");
    // A missing parameter is named.
    let mut missing = fixture.clone();
    missing.remove("bias_hh_l0_reverse");
    let err = run_fixture::<f64, TestRnn<f64>>(&missing, LEAKY)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bias_hh_l0_reverse"), "{err}");
    // A wrong input shape is a shape error.
    let mut bad = fixture.clone();
    bad.insert("h0", ArrayD::zeros(ndarray::IxDyn(&[2, 2, 4])));
    assert!(matches!(
        run_fixture::<f64, TestRnn<f64>>(&bad, LEAKY),
        Err(RnnError::Shape { .. })
    ));
    // Contradicting metadata.
    let mut contra = fixture.clone();
    contra.metadata.insert("num_directions".into(), "1".into());
    assert!(run_fixture::<f64, TestRnn<f64>>(&contra, LEAKY).is_err());
    // A missing result tensor in the fixture is an error of compare.
    let mut partial = fixture;
    partial.remove("grad_c0");
    assert!(
        compare(&results, &partial, 1e-9)
            .unwrap_err()
            .to_string()
            .contains("grad_c0")
    );
}
