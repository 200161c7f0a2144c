//! Tests of safetensors reading and writing.

use super::*;
use ndarray::{Array, Array3};
use std::path::PathBuf;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/tests/fixtures/torch/lstm_T5_B3_I4_H6.safetensors"
);
const FIXTURE_F32: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/tests/fixtures/torch/lstm_T5_B3_I4_H6_f32.safetensors"
);

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-io-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample<F: Float>() -> Vec<(String, ArrayD<F>)> {
    let a = Array::from_shape_fn((2, 3), |(i, j)| F::from_f64c(i as f64 * 1.5 - j as f64 / 3.0)).into_dyn();
    let b = Array::from_shape_fn(4, |i| F::from_f64c((i as f64).sin())).into_dyn();
    let c = Array3::from_shape_fn((2, 1, 2), |(i, j, k)| F::from_f64c((i + j + k) as f64 * 1e-3)).into_dyn();
    let s = ArrayD::from_elem(IxDyn(&[]), F::from_f64c(-7.25));
    vec![
        ("zeta".into(), a),
        ("alpha".into(), b),
        ("mid".into(), c),
        ("scalar".into(), s),
    ]
}

fn views<F: Float>(t: &[(String, ArrayD<F>)]) -> Vec<(String, ArrayViewD<'_, F>)> {
    t.iter().map(|(n, a)| (n.clone(), a.view())).collect()
}

fn round_trip<F: Float>(tag: &str) {
    let dir = scratch(tag);
    let path = dir.join("t.safetensors");
    let tensors = sample::<F>();
    let meta = BTreeMap::from([
        ("format".to_string(), "x".to_string()),
        ("note".to_string(), "héllo \"q\"".to_string()),
    ]);
    write_tensors(&path, &views(&tensors), &meta).unwrap();
    let back = read_tensors_exact::<F>(&path).unwrap();
    assert_eq!(back.tensors, tensors, "values and order kept");
    assert_eq!(back.metadata, meta);
    // The official reader agrees.
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.len(), 4);
    assert_eq!(st.tensor("zeta").unwrap().shape(), &[2, 3]);
    assert_eq!(st.tensor("zeta").unwrap().dtype().to_string(), F::DTYPE);
    // Deterministic bytes.
    let again = serialize_tensors(&views(&tensors), &meta).unwrap();
    assert_eq!(again, bytes);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn round_trip_f64() {
    round_trip::<f64>("rt64");
}

#[test]
fn round_trip_f32() {
    round_trip::<f32>("rt32");
}

#[test]
fn converts_between_dtypes() {
    let dir = scratch("conv");
    let path = dir.join("t.safetensors");
    let x = ndarray::arr1(&[0.1_f64, 1.0 / 3.0, -2.5]).into_dyn();
    write_tensors(&path, &[("x".into(), x.view())], &BTreeMap::new()).unwrap();
    let f32s = read_tensors::<f32>(&path).unwrap();
    assert_eq!(f32s.to_array1("x").unwrap().to_vec(), vec![0.1_f32, 1.0 / 3.0, -2.5]);
    let err = read_tensors_exact::<f32>(&path).unwrap_err().to_string();
    assert!(err.contains("`x`") && err.contains("F64"), "{err}");
    // And f32 -> f64 is exact.
    let path32 = dir.join("t32.safetensors");
    f32s.write(&path32).unwrap();
    let wide = read_tensors::<f64>(&path32).unwrap();
    assert_eq!(wide.to_array1("x").unwrap()[1], (1.0_f32 / 3.0) as f64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn non_standard_layouts_are_written_row_major() {
    let a = Array::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as f64);
    let t = a.t().to_owned();
    let bytes = serialize_tensors(&[("t".into(), a.t().into_dyn())], &BTreeMap::new()).unwrap();
    let back = parse_tensors::<f64>(&bytes, "mem", true).unwrap();
    assert_eq!(back.to_array2("t").unwrap(), t);
}

#[test]
fn missing_file_is_io_error_with_path() {
    let err = read_tensors::<f64>("/nonexistent/dir/x.safetensors").unwrap_err();
    assert!(matches!(err, RnnError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/dir/x.safetensors"));
}

#[test]
fn truncated_and_garbage_files_are_checkpoint_errors() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    for cut in [0, 3, 8, 100, bytes.len() - 1] {
        let err = parse_tensors::<f64>(&bytes[..cut], "cut.safetensors", false).unwrap_err();
        match &err {
            RnnError::Checkpoint { path, message } => {
                assert_eq!(path, "cut.safetensors");
                assert!(message.contains("not a valid safetensors file"), "{message}");
            }
            other => panic!("expected Checkpoint, got {other:?}"),
        }
    }
    let mut garbage = 40u64.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[b'z'; 40]);
    let err = parse_tensors::<f64>(&garbage, "g", false).unwrap_err();
    assert!(err.to_string().contains("JSON"), "{err}");
    // Through the file system too.
    let dir = scratch("trunc");
    let path = dir.join("cut.safetensors");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_tensors::<f64>(&path).unwrap_err();
    assert!(matches!(err, RnnError::Checkpoint { .. }), "{err:?}");
    assert!(err.to_string().contains("cut.safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unsupported_dtype_names_the_tensor() {
    let data = [1i64, 2];
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(Dtype::I64, vec![2], &raw).unwrap();
    let bytes = safetensors::serialize([("steps", view)], None).unwrap();
    let err = parse_tensors::<f64>(&bytes, "ints", false).unwrap_err().to_string();
    assert!(err.contains("`steps`") && err.contains("I64"), "{err}");
}

#[test]
fn missing_tensor_and_bad_rank_are_named() {
    let mut f = TensorFile::<f64>::new();
    f.insert("w", ArrayD::zeros(IxDyn(&[2, 3])));
    let err = f.get("weight_hh_l0").unwrap_err().to_string();
    assert!(err.contains("`weight_hh_l0`"), "{err}");
    let err = f.get_array3("w").unwrap_err().to_string();
    assert!(
        err.contains("`w`") && err.contains("[2, 3]") && err.contains("rank 3"),
        "{err}"
    );
    let err = f.get_shaped("w", &[3, 2]).unwrap_err().to_string();
    assert!(
        err.contains("`w`") && err.contains("[2, 3]") && err.contains("[3, 2]"),
        "{err}"
    );
    assert!(f.meta("cell").unwrap_err().to_string().contains("`cell`"));
    f.insert("w", ArrayD::ones(IxDyn(&[1])));
    assert_eq!(f.len(), 1);
    assert_eq!(f.get_array1("w").unwrap()[0], 1.0);
}

#[test]
fn duplicate_names_are_rejected() {
    let a = ArrayD::<f32>::zeros(IxDyn(&[1]));
    let err = serialize_tensors(&[("a".into(), a.view()), ("a".into(), a.view())], &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("`a`"));
}

#[test]
fn atomic_write_leaves_no_temp_files() {
    let dir = scratch("atomic");
    let path = dir.join("ckpt.safetensors");
    let tensors = sample::<f64>();
    for k in 0..3 {
        let meta = BTreeMap::from([("step".to_string(), k.to_string())]);
        write_tensors(&path, &views(&tensors), &meta).unwrap();
    }
    // A failed write (duplicate name) leaves the previous file untouched.
    let before = std::fs::read(&path).unwrap();
    let a = ArrayD::<f64>::zeros(IxDyn(&[1]));
    assert!(
        write_tensors(
            &path,
            &[("a".into(), a.view()), ("a".into(), a.view())],
            &BTreeMap::new()
        )
        .is_err()
    );
    // A write into a missing directory fails and creates nothing.
    assert!(matches!(
        write_tensors(dir.join("missing/x.safetensors"), &views(&tensors), &BTreeMap::new()),
        Err(RnnError::Io { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["ckpt.safetensors".to_string()]);
    assert_eq!(read_tensors::<f64>(&path).unwrap().meta("step").unwrap(), "2");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reads_the_shipped_lstm_fixture() {
    let (t, b, i, h) = (5, 3, 4, 6);
    let shapes: &[(&str, &[usize])] = &[
        ("weight_ih_l0", &[4 * h, i]),
        ("weight_hh_l0", &[4 * h, h]),
        ("bias_ih_l0", &[4 * h]),
        ("bias_hh_l0", &[4 * h]),
        ("x", &[t, b, i]),
        ("h0", &[1, b, h]),
        ("c0", &[1, b, h]),
        ("G", &[t, b, h]),
        ("Gh", &[1, b, h]),
        ("Gc", &[1, b, h]),
        ("out", &[t, b, h]),
        ("h_n", &[1, b, h]),
        ("c_n", &[1, b, h]),
        ("loss", &[1]),
        ("grad_weight_ih_l0", &[4 * h, i]),
        ("grad_bias_hh_l0", &[4 * h]),
        ("grad_x", &[t, b, i]),
        ("grad_h0", &[1, b, h]),
        ("grad_c0", &[1, b, h]),
    ];
    let header = read_header(FIXTURE).unwrap();
    assert_eq!(header.common_dtype(), Some("F64"));
    for path in [FIXTURE, FIXTURE_F32] {
        let f = read_tensors::<f64>(path).unwrap();
        for (name, shape) in shapes {
            assert_eq!(f.get(name).unwrap().shape(), *shape, "{name} in {path}");
        }
        assert_eq!(f.meta("cell").unwrap(), "lstm");
        assert_eq!(f.meta_parse::<usize>("num_layers").unwrap(), 1);
        assert!(f.meta_parse::<usize>("cell").is_err());
        // The stored loss is Σ out·G + Σ h_n·Gh + Σ c_n·Gc.
        let dot = |a: &str, b: &str| (&f.get(a).unwrap() * &f.get(b).unwrap()).sum();
        let loss = dot("out", "G") + dot("h_n", "Gh") + dot("c_n", "Gc");
        let want = f.get_array1("loss").unwrap()[0];
        let tol = if path == FIXTURE { 1e-12 } else { 1e-5 };
        assert!((loss - want).abs() <= tol * want.abs().max(1.0), "{loss} vs {want}");
    }
    let f32s = read_tensors_exact::<f32>(FIXTURE_F32).unwrap();
    assert_eq!(f32s.meta("dtype").unwrap(), "float32");
}
