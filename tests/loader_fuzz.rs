//! The checkpoint loaders against damaged files (proptest): random bytes
//! and random mutations of a valid checkpoint (flipped bytes, truncation,
//! a wrong header length, swapped dtypes, changed shapes, inserted bytes)
//! never panic, and a failed load leaves the model bit for bit as it was.
//! Also: a file of the other float type is converted (documented), one of
//! another dtype is a typed error.

use ndarray::Array3;
use proptest::prelude::*;
use rnn::SeqModelConfig;
use rnn::cells::{Gru, GruDims, Lstm, LstmDims};
use rnn::prelude::*;
use rnn::runtime::Layers;
use rnn::runtime::io::{read_tensors, read_tensors_exact};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

type Model = SeqModel<f32, Gru<f32>>;

fn model() -> Model {
    let config = SeqModelConfig::regression(2, 2).layers(2);
    Model::new(GruDims { i: 0, h: 3 }, config, &mut rnn::seeded_rng(11)).unwrap()
}

/// Every parameter's bits, by name.
fn bits(m: &Model) -> Vec<(String, Vec<u32>)> {
    m.named_params()
        .into_iter()
        .map(|(n, v)| (n, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

fn layer_bits(l: &Layers<f64, Lstm<f64>>) -> Vec<(String, Vec<u64>)> {
    l.named_params()
        .into_iter()
        .map(|(n, v)| (n, v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

/// A file of its own under the test's temporary directory.
fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loader_fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.safetensors", std::process::id()))
}

/// A valid checkpoint of `model()` (another seed, so that loading it
/// changes every parameter), as bytes.
fn valid_checkpoint() -> Vec<u8> {
    let config = SeqModelConfig::regression(2, 2).layers(2);
    let other = Model::new(GruDims { i: 0, h: 3 }, config, &mut rnn::seeded_rng(12)).unwrap();
    let path = tmp("valid");
    other.save(&path, Some("abc"), &BTreeMap::new()).unwrap();
    std::fs::read(&path).unwrap()
}

fn valid_layers_checkpoint() -> Vec<u8> {
    let l = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 2, h: 3 }, 1, true, &mut rnn::seeded_rng(13)).unwrap();
    let path = tmp("valid-layers");
    l.save(&path, &BTreeMap::new()).unwrap();
    std::fs::read(&path).unwrap()
}

/// One way of damaging a file.
#[derive(Clone, Debug)]
enum Mutation {
    /// XOR the byte at `at % len` with `mask` (non-zero), `count` times at
    /// successive pseudo-random positions.
    Flip { at: usize, mask: u8, count: usize },
    /// Keep the first `at % len` bytes.
    Truncate { at: usize },
    /// Write `value` into the 8-byte header length.
    HeaderLen { value: u64 },
    /// Add `delta` to the header length.
    HeaderLenDelta { delta: i64 },
    /// Swap the `k`-th dtype string `F32` <-> `F64` (or to another dtype).
    Dtype { k: usize, to: &'static str },
    /// Replace the first number of the `k`-th shape with `value`.
    Shape { k: usize, value: u64 },
    /// Insert `bytes` at `at % len`.
    Insert { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255, 1usize..8).prop_map(|(at, mask, count)| Mutation::Flip { at, mask, count }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>(), 0u64..4096]
            .prop_map(|value| Mutation::HeaderLen { value }),
        (-16i64..16).prop_map(|delta| Mutation::HeaderLenDelta { delta }),
        (
            0usize..32,
            prop_oneof![
                Just("F32"),
                Just("F64"),
                Just("F16"),
                Just("I32"),
                Just("U8"),
                Just("BOOL")
            ]
        )
            .prop_map(|(k, to)| Mutation::Dtype { k, to }),
        (
            0usize..32,
            prop_oneof![Just(0u64), 1u64..10, Just(u64::MAX), Just(1u64 << 62)]
        )
            .prop_map(|(k, value)| Mutation::Shape { k, value }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

/// The header as text (the bytes after the length, up to the data).
fn header_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    8..(8 + n).min(bytes.len())
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let len = b.len();
    match m {
        Mutation::Flip { at, mask, count } => {
            let mut pos = *at;
            for _ in 0..*count {
                b[pos % len] ^= mask;
                pos = pos.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 7;
            }
        }
        Mutation::Truncate { at } => b.truncate(at % len),
        Mutation::HeaderLen { value } => b[..8].copy_from_slice(&value.to_le_bytes()),
        Mutation::HeaderLenDelta { delta } => {
            let n = u64::from_le_bytes(b[..8].try_into().unwrap()).wrapping_add_signed(*delta);
            b[..8].copy_from_slice(&n.to_le_bytes());
        }
        Mutation::Dtype { k, to } => {
            let h = header_range(&b);
            let text = String::from_utf8_lossy(&b[h.clone()]).into_owned();
            let found: Vec<usize> = text.match_indices("\"dtype\":\"").map(|(i, _)| i + 9).collect();
            if !found.is_empty() {
                let at = h.start + found[k % found.len()];
                let end = at + b[at..].iter().position(|&c| c == b'"').unwrap();
                b.splice(at..end, to.bytes());
            }
        }
        Mutation::Shape { k, value } => {
            let h = header_range(&b);
            let text = String::from_utf8_lossy(&b[h.clone()]).into_owned();
            let found: Vec<usize> = text.match_indices("\"shape\":[").map(|(i, _)| i + 9).collect();
            if !found.is_empty() {
                let at = h.start + found[k % found.len()];
                let end = at + b[at..].iter().position(|c| !c.is_ascii_digit()).unwrap();
                b.splice(at..end, value.to_string().bytes());
            }
        }
        Mutation::Insert { at, bytes } => {
            let at = at % (len + 1);
            b.splice(at..at, bytes.iter().copied());
        }
    }
    b
}

/// Runs `f`, turning a panic into a test failure that names `what`.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        TestCaseError::fail(format!("{what} panicked: {msg}"))
    })
}

/// Loads `bytes` every way there is: into an existing model (unchanged on
/// error), as a new model from the file, as raw tensors, into layers.
fn load_all(name: &str, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let path = tmp(name);
    std::fs::write(&path, bytes).unwrap();
    let mut m = model();
    let before = bits(&m);
    let r = no_panic("SeqModel::load_file", || m.load_file(&path))?;
    if r.is_err() {
        prop_assert_eq!(&bits(&m), &before, "a failed load changed the model: {:?}", r);
    }
    let _ = no_panic("SeqModel::from_file", || {
        Model::from_file(GruDims { i: 0, h: 3 }, &path).map(|_| ())
    })?;
    let _ = no_panic("read_tensors::<f64>", || read_tensors::<f64>(&path).map(|_| ()))?;
    let _ = no_panic("read_tensors_exact::<f32>", || {
        read_tensors_exact::<f32>(&path).map(|_| ())
    })?;
    let mut l = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 2, h: 3 }, 1, true, &mut rnn::seeded_rng(14)).unwrap();
    let lb = layer_bits(&l);
    let lr = no_panic("Layers::load_file", || l.load_file(&path))?;
    if lr.is_err() {
        prop_assert_eq!(&layer_bits(&l), &lb, "a failed load changed the layers: {:?}", lr);
    }
    Ok(r.is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_load(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let loaded = load_all("random", &bytes)?;
        prop_assert!(!loaded, "random bytes loaded as a checkpoint");
    }

    #[test]
    fn random_bytes_after_a_plausible_header_length(len in 0u64..600, tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend(tail);
        let loaded = load_all("random-len", &bytes)?;
        prop_assert!(!loaded, "random bytes loaded as a checkpoint");
    }

    #[test]
    fn mutated_model_checkpoints(m in mutation()) {
        static VALID: OnceLock<Vec<u8>> = OnceLock::new();
        load_all("mutated", &apply(VALID.get_or_init(valid_checkpoint), &m))?;
    }

    #[test]
    fn mutated_layers_checkpoints(m in mutation()) {
        static VALID: OnceLock<Vec<u8>> = OnceLock::new();
        load_all("mutated-layers", &apply(VALID.get_or_init(valid_layers_checkpoint), &m))?;
    }
}

#[test]
fn the_valid_checkpoint_loads() {
    let path = tmp("valid-load");
    std::fs::write(&path, valid_checkpoint()).unwrap();
    let mut m = model();
    let before = bits(&m);
    m.load_file(&path).unwrap();
    assert_ne!(bits(&m), before, "the checkpoint holds other parameters");
}

/// `read_tensors` converts `F32` and `F64` to the model's type (documented
/// on `rnn::runtime::io::read_tensors`): an f64 checkpoint loads into an
/// f32 model rounded to nearest, and an f32 one into an f64 model exactly.
/// `read_tensors_exact` refuses the other type; other dtypes are a typed
/// `Checkpoint` error naming the tensor.
#[test]
fn wrong_dtype_files() {
    let dims = GruDims { i: 0, h: 3 };
    let config = SeqModelConfig::regression(2, 2);
    let m64 = SeqModel::<f64, Gru<f64>>::new(dims, config, &mut rnn::seeded_rng(3)).unwrap();
    let p64 = tmp("f64");
    m64.save(&p64, None, &BTreeMap::new()).unwrap();
    let mut m32 = SeqModel::<f32, Gru<f32>>::zeros(dims, config).unwrap();
    m32.load_file(&p64).unwrap();
    for ((n, a), (_, b)) in m64.named_params().iter().zip(m32.named_params()) {
        assert!(
            a.iter().zip(b.iter()).all(|(x, y)| *x as f32 == *y),
            "{n} is not rounded to f32"
        );
    }
    let e = read_tensors_exact::<f32>(&p64).unwrap_err();
    assert!(
        matches!(e, RnnError::Checkpoint { .. }) && e.to_string().contains("F64"),
        "{e}"
    );

    let p32 = tmp("f32");
    m32.save(&p32, None, &BTreeMap::new()).unwrap();
    let mut back = SeqModel::<f64, Gru<f64>>::zeros(dims, config).unwrap();
    back.load_file(&p32).unwrap();
    for ((_, a), (_, b)) in m32.named_params().iter().zip(back.named_params()) {
        assert!(a.iter().zip(b.iter()).all(|(x, y)| *x as f64 == *y));
    }

    // The same bytes labelled I64: a dtype the loader does not read.
    let bytes = std::fs::read(&p64).unwrap();
    let relabelled = apply(&bytes, &Mutation::Dtype { k: 0, to: "I64" });
    let pi = tmp("i64");
    std::fs::write(&pi, relabelled).unwrap();
    let before: Vec<Vec<u64>> = back
        .named_params()
        .iter()
        .map(|(_, v)| v.iter().map(|x| x.to_bits()).collect())
        .collect();
    let e = back.load_file(&pi).unwrap_err();
    assert!(
        matches!(e, RnnError::Checkpoint { .. }) && e.to_string().contains("unsupported dtype"),
        "{e}"
    );
    let after: Vec<Vec<u64>> = back
        .named_params()
        .iter()
        .map(|(_, v)| v.iter().map(|x| x.to_bits()).collect())
        .collect();
    assert_eq!(before, after);
    // The model still runs.
    back.forward(&SeqInput::values(Array3::zeros((2, 1, 2)).view()), &[])
        .unwrap();
}

/// A well-formed file whose tensor has the right number of values in
/// another shape (transposed): a `Shape` error naming the tensor, and the
/// model is unchanged, even though other tensors came before it.
#[test]
fn a_transposed_tensor_leaves_the_model_unchanged() {
    let path = tmp("transposed");
    std::fs::write(&path, valid_checkpoint()).unwrap();
    let file = read_tensors::<f32>(&path).unwrap();
    // The last matrix that is not square.
    let k = file
        .tensors
        .iter()
        .rposition(|(_, a)| a.ndim() == 2 && a.shape()[0] != a.shape()[1])
        .unwrap();
    let tensors: Vec<(String, ndarray::ArrayD<f32>)> = file
        .tensors
        .iter()
        .enumerate()
        .map(|(j, (n, a))| {
            let a = if j == k {
                a.t().as_standard_layout().into_owned()
            } else {
                a.clone()
            };
            (n.clone(), a)
        })
        .collect();
    assert_ne!(tensors[k].1.shape(), file.tensors[k].1.shape(), "a matrix");
    let views: Vec<(String, ndarray::ArrayViewD<'_, f32>)> =
        tensors.iter().map(|(n, a)| (n.clone(), a.view())).collect();
    rnn::runtime::io::write_tensors(&path, &views, &file.metadata).unwrap();
    let mut m = model();
    let before = bits(&m);
    let e = m.load_file(&path).unwrap_err();
    assert!(matches!(e, RnnError::Shape { .. }), "{e}");
    assert_eq!(bits(&m), before);
}
