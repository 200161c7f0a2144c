//! Tests of [`SeqModel`] with the hand-written test cell.

use super::*;
use crate::optim::{Adam, AdamConfig};
use crate::testing::{Kind, TestDims, TestRnn};
use ndarray::{Array3, Axis};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::collections::BTreeMap;

type M = SeqModel<f64, TestRnn<f64>>;

fn dims(h: usize, kind: Kind) -> TestDims {
    TestDims { i: 0, h, kind }
}

fn rand3(rng: &mut StdRng, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| 2.0 * rng.random::<f64>() - 1.0)
}

fn flat(m: &M) -> Vec<f64> {
    m.named_params()
        .iter()
        .flat_map(|(_, v)| v.iter().copied().collect::<Vec<_>>())
        .collect()
}

/// Owned inputs and targets of one test case.
struct Case {
    ids: Vec<usize>,
    xs: Array3<f64>,
    classes: Vec<usize>,
    ys: Array3<f64>,
}

impl Case {
    fn new(rng: &mut StdRng, t: usize, b: usize, vocab: usize, width: usize, out: usize) -> Self {
        Case {
            ids: (0..t * b).map(|_| rng.random_range(0..vocab)).collect(),
            xs: rand3(rng, (t, b, width)),
            classes: (0..t * b).map(|_| rng.random_range(0..out)).collect(),
            ys: Array3::from_shape_fn((t, b, out), |_| rng.random::<f64>()),
        }
    }

    fn input(&self, enc: Encoding, t: usize, b: usize) -> SeqInput<'_, f64> {
        if enc.is_tokens() {
            SeqInput::tokens(&self.ids, t, b)
        } else {
            SeqInput::values(self.xs.view())
        }
    }

    fn target(&self, loss: LossKind) -> SeqTarget<'_, f64> {
        match loss {
            LossKind::CrossEntropy => SeqTarget::Classes(&self.classes),
            LossKind::Mse | LossKind::BinaryCrossEntropy => SeqTarget::Values(self.ys.view()),
        }
    }
}

const HEADS: [(Activation, LossKind); 4] = [
    (Activation::Softmax, LossKind::CrossEntropy),
    (Activation::Identity, LossKind::Mse),
    (Activation::Sigmoid, LossKind::Mse),
    (Activation::Sigmoid, LossKind::BinaryCrossEntropy),
];

fn encodings() -> [Encoding; 3] {
    [
        Encoding::OneHot { vocab: 4 },
        Encoding::Embedding { vocab: 4, dim: 3 },
        Encoding::Dense { width: 3 },
    ]
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(1);
    let (t, b, out) = (4, 2, 3);
    let eps = 1e-6;
    for (e, enc) in encodings().into_iter().enumerate() {
        for (h, &(act, loss)) in HEADS.iter().enumerate() {
            // Vary depth, direction and cell across the cases.
            let (layers, bidir, kind) = match (e + h) % 3 {
                0 => (2, true, Kind::Leaky),
                1 => (1, false, Kind::Tanh),
                _ => (2, false, Kind::Leaky),
            };
            let cfg = SeqModelConfig::new(enc, out, act, loss)
                .layers(layers)
                .bidirectional(bidir);
            let model = M::new(dims(3, kind), cfg, &mut rng).unwrap();
            let case = Case::new(&mut rng, t, b, 4, 3, out);
            let input = case.input(enc, t, b);
            let target = case.target(loss);
            let mask: Vec<bool> = (0..t * b).map(|i| i % 3 != 1).collect();
            let init: Vec<Array3<f64>> = model.zero_state(b).iter().map(|s| rand3(&mut rng, s.dim())).collect();
            let (outcome, grads) = model.loss_and_grad(&input, &target, Some(&mask), &init).unwrap();
            let direct = model.loss(&input, &target, Some(&mask), &init).unwrap();
            assert!((outcome.loss - direct).abs() < 1e-14);
            assert_eq!(outcome.count, mask.iter().filter(|&&m| m).count());
            let analytic = grads.named_params();
            let what = format!("{} {:?}+{:?} l{layers} bi={bidir}", enc.name(), act, loss);
            for (p, (name, g)) in analytic.iter().enumerate() {
                for k in 0..g.len() {
                    let at = |d: f64| {
                        let mut m = model.clone();
                        *m.named_params_mut()[p].1.iter_mut().nth(k).unwrap() += d;
                        m.loss(&input, &target, Some(&mask), &init).unwrap()
                    };
                    let num = (at(eps) - at(-eps)) / (2.0 * eps);
                    let ana = *g.iter().nth(k).unwrap();
                    assert!(
                        (num - ana).abs() <= 1e-7 * (1.0 + num.abs()),
                        "{what} {name}[{k}]: numeric {num} vs analytic {ana}"
                    );
                }
            }
            // Masked positions get no gradient: changing their targets
            // changes nothing.
            if loss == LossKind::CrossEntropy {
                let mut other = case.classes.clone();
                other[1] = (other[1] + 1) % out;
                let (o2, g2) = model
                    .loss_and_grad(&input, &SeqTarget::Classes(&other), Some(&mask), &init)
                    .unwrap();
                assert_eq!(o2.loss, outcome.loss);
                assert_eq!(flat(&g2), flat(&grads));
            }
        }
    }
}

#[test]
fn step_grad_norms_are_input_gradient_norms() {
    let mut rng = StdRng::seed_from_u64(2);
    let (t, b) = (5, 2);
    let cfg = SeqModelConfig::regression(3, 2).layers(2);
    let model = M::new(dims(4, Kind::Tanh), cfg, &mut rng).unwrap();
    let xs = rand3(&mut rng, (t, b, 3));
    let ys = rand3(&mut rng, (t, b, 2));
    let target = SeqTarget::Values(ys.view());
    let (out, _) = model
        .loss_and_grad(&SeqInput::values(xs.view()), &target, None, &[])
        .unwrap();
    assert_eq!(out.step_grad_norms.len(), t);
    let eps = 1e-6;
    for step in 0..t {
        let mut sq = 0.0;
        for k in 0..b {
            for i in 0..3 {
                let at = |d: f64| {
                    let mut x = xs.clone();
                    x[(step, k, i)] += d;
                    model.loss(&SeqInput::values(x.view()), &target, None, &[]).unwrap()
                };
                let g = (at(eps) - at(-eps)) / (2.0 * eps);
                sq += g * g;
            }
        }
        assert!(
            (sq.sqrt() - out.step_grad_norms[step]).abs() < 1e-7,
            "step {step}: {} vs {}",
            sq.sqrt(),
            out.step_grad_norms[step]
        );
    }
}

#[test]
fn names_forward_and_init_follow_pytorch() {
    let mut rng = StdRng::seed_from_u64(3);
    let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 100, dim: 50 }, 6)
        .layers(2)
        .bidirectional(true);
    let mut model = M::new(dims(4, Kind::Tanh), cfg, &mut rng).unwrap();
    let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "embed.weight");
    assert_eq!(names[1], "rnn.weight_ih_l0");
    assert_eq!(names[names.len() - 3], "rnn.bias_hh_l1_reverse");
    assert_eq!(&names[names.len() - 2..], &["head.weight", "head.bias"]);
    assert_eq!(model.named_params_mut().len(), names.len());
    assert_eq!(model.head().weight.dim(), (6, 8));
    assert_eq!(model.layers().input_size(), 50);
    // nn.Embedding: N(0, 1).
    let e = model.embedding().unwrap();
    let n = e.len() as f64;
    let mean = e.sum() / n;
    let std = (e.mapv(|x| (x - mean) * (x - mean)).sum() / n).sqrt();
    assert!(mean.abs() < 0.05 && (std - 1.0).abs() < 0.05, "{mean} {std}");
    // The head draws after the layers, from PyTorch's nn.Linear bound.
    assert!(model.head().weight.iter().all(|w| w.abs() <= 1.0 / 8f64.sqrt()));
    // Outputs after the activation.
    let ids: Vec<usize> = (0..6).map(|i| i * 7 % 100).collect();
    let input = SeqInput::tokens(&ids, 3, 2);
    let (y, states) = model.forward(&input, &[]).unwrap();
    let (z, _) = model.logits(&input, &[]).unwrap();
    assert_eq!(y.dim(), (3, 2, 6));
    assert_eq!(states[0].dim(), (4, 2, 4));
    for (yr, zr) in y.lanes(Axis(2)).into_iter().zip(z.lanes(Axis(2))) {
        assert!((yr.sum() - 1.0).abs() < 1e-12);
        let zmax = zr.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let denom: f64 = zr.iter().map(|v| (v - zmax).exp()).sum();
        for (a, b) in yr.iter().zip(zr) {
            assert!((a - (b - zmax).exp() / denom).abs() < 1e-14);
        }
    }
    let cfg = SeqModelConfig::new(Encoding::Dense { width: 2 }, 3, Activation::Sigmoid, LossKind::Mse);
    let sig = M::new(dims(3, Kind::Tanh), cfg, &mut rng).unwrap();
    let xs = rand3(&mut rng, (2, 2, 2));
    let (y, _) = sig.forward(&SeqInput::values(xs.view()), &[]).unwrap();
    let (z, _) = sig.logits(&SeqInput::values(xs.view()), &[]).unwrap();
    for (a, b) in y.iter().zip(&z) {
        assert_eq!(*a, crate::math::sigmoid(*b));
    }
    // One-hot has no parameters of its own; the count adds up.
    let oh = M::new(
        dims(3, Kind::Tanh),
        SeqModelConfig::language_model(Encoding::OneHot { vocab: 5 }, 5),
        &mut rng,
    )
    .unwrap();
    assert!(oh.embedding().is_none());
    assert_eq!(oh.num_scalars(), 3 * 5 + 3 * 3 + 3 + 3 + 5 * 3 + 5);
}

#[test]
fn bad_configurations_and_inputs_are_errors() {
    let mut rng = StdRng::seed_from_u64(4);
    let d = dims(3, Kind::Tanh);
    let invalid = |r: Result<M, RnnError>| assert!(matches!(r, Err(RnnError::Invalid(_))), "{r:?}");
    for (act, loss) in [
        (Activation::Softmax, LossKind::Mse),
        (Activation::Identity, LossKind::CrossEntropy),
        (Activation::Sigmoid, LossKind::CrossEntropy),
    ] {
        assert!(!loss.accepts(act));
        let cfg = SeqModelConfig::new(Encoding::Dense { width: 2 }, 2, act, loss);
        let err = M::new(d, cfg, &mut rng).unwrap_err().to_string();
        assert!(err.contains("cannot follow activation"), "{err}");
    }
    invalid(M::new(d, SeqModelConfig::regression(2, 2).layers(0), &mut rng));
    invalid(M::new(d, SeqModelConfig::regression(0, 2), &mut rng));
    invalid(M::new(d, SeqModelConfig::regression(2, 0), &mut rng));
    invalid(M::zeros(
        d,
        SeqModelConfig::language_model(Encoding::Embedding { vocab: 3, dim: 0 }, 3),
    ));

    let lm = M::new(
        d,
        SeqModelConfig::language_model(Encoding::Embedding { vocab: 4, dim: 2 }, 4),
        &mut rng,
    )
    .unwrap();
    let ids = [0, 1, 2, 3];
    let input = SeqInput::tokens(&ids, 2, 2);
    let classes = [0, 1, 2, 3];
    let target = SeqTarget::Classes(&classes);
    let mut grads = lm.zeros_like();
    // Wrong kinds.
    let ys = Array3::<f64>::zeros((2, 2, 4));
    let e = lm
        .loss_and_grad_into(&input, &SeqTarget::Values(ys.view()), None, &[], &mut grads)
        .unwrap_err();
    assert!(matches!(e, RnnError::Invalid(_)), "{e:?}");
    let xs = Array3::<f64>::zeros((2, 2, 2));
    assert!(matches!(
        lm.forward(&SeqInput::values(xs.view()), &[]),
        Err(RnnError::Invalid(_))
    ));
    // Bad ids, lengths and masks.
    let err = lm
        .forward(&SeqInput::tokens(&[0, 1, 4, 0], 2, 2), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("token id 4 at position 2"), "{err}");
    assert!(matches!(
        lm.forward(&SeqInput::tokens(&ids, 3, 2), &[]),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        lm.loss_and_grad_into(&input, &target, Some(&[true; 3]), &[], &mut grads),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        lm.loss_and_grad_into(&input, &SeqTarget::Classes(&[0, 1]), None, &[], &mut grads),
        Err(RnnError::Shape { .. })
    ));
    assert!(lm.loss(&input, &SeqTarget::Classes(&[0, 1, 2, 9]), None, &[]).is_err());
    // Gradients of another model.
    let other = M::new(
        d,
        SeqModelConfig::language_model(Encoding::OneHot { vocab: 4 }, 4),
        &mut rng,
    )
    .unwrap();
    let mut wrong = other.zeros_like();
    assert!(matches!(
        lm.loss_and_grad_into(&input, &target, None, &[], &mut wrong),
        Err(RnnError::Invalid(_))
    ));
    // Wrong initial state and dense widths.
    assert!(matches!(
        lm.forward(&input, &[Array3::zeros((2, 2, 3))]),
        Err(RnnError::Shape { .. })
    ));
    let reg = M::new(d, SeqModelConfig::regression(2, 1), &mut rng).unwrap();
    let e = reg
        .forward(&SeqInput::values(Array3::zeros((2, 2, 3)).view()), &[])
        .unwrap_err();
    assert!(matches!(&e, RnnError::Shape { expected, got, .. } if expected == &[2, 2, 2] && got == &[2, 2, 3]));
    let bad_y = Array3::<f64>::zeros((2, 2, 2));
    assert!(matches!(
        reg.loss(
            &SeqInput::values(xs.view()),
            &SeqTarget::Values(bad_y.view()),
            None,
            &[]
        ),
        Err(RnnError::Shape { .. })
    ));
    // A non-finite gradient is reported, not applied.
    let mut g = reg.zeros_like();
    g.head_mut().bias[0] = f64::NAN;
    let mut m = reg.clone();
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    assert!(matches!(
        m.apply_gradients(&mut g, &mut adam, None),
        Err(RnnError::NonFinite { .. })
    ));
    assert_eq!(flat(&m), flat(&reg));
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-seqmodel-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn checkpoint_round_trip() {
    let mut rng = StdRng::seed_from_u64(5);
    let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 5, dim: 3 }, 5)
        .layers(2)
        .bidirectional(true);
    let d = dims(4, Kind::Leaky);
    let model = M::new(d, cfg, &mut rng).unwrap();
    let dir = temp_dir("round");
    let path = dir.join("m.safetensors");
    let vocab = r#"["a","b","c","d","e"]"#;
    let extra = BTreeMap::from([("step".to_string(), "7".to_string())]);
    model.save(&path, Some(vocab), &extra).unwrap();
    let mut fresh = M::zeros(d, cfg).unwrap();
    let meta = fresh.load_file(&path).unwrap();
    assert_eq!(flat(&fresh), flat(&model));
    assert_eq!(meta[META_VOCAB], vocab);
    assert_eq!(meta["step"], "7");
    assert_eq!(meta[META_CELL], "TestRnn");
    assert_eq!(meta[META_NUM_LAYERS], "2");
    assert_eq!(meta[META_BIDIRECTIONAL], "true");
    assert_eq!(meta[META_ENCODING], "embedding");
    assert_eq!(meta[META_ACTIVATION], "softmax");
    assert_eq!(meta[META_LOSS], "cross_entropy");
    assert_eq!(meta[META_HIDDEN_SIZE], "8");
    let header = crate::io::read_header(&path).unwrap();
    let names: Vec<&str> = header.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names[0], "embed.weight");
    assert!(names.contains(&"rnn.bias_hh_l1_reverse"));
    // Settings from the file.
    let (built, _) = M::from_file(d, &path).unwrap();
    assert_eq!(built.config(), &cfg);
    assert_eq!(flat(&built), flat(&model));
    assert_eq!(SeqModelConfig::from_metadata(&model.metadata()).unwrap(), cfg);
    // An f32 model loads the f64 file.
    let mut narrow = SeqModel::<f32, TestRnn<f32>>::zeros(d, cfg).unwrap();
    narrow.load_file(&path).unwrap();
    assert_eq!(narrow.head().bias[1], model.head().bias[1] as f32);
    // Extra metadata may not contradict the model's.
    let clash = BTreeMap::from([(META_CELL.to_string(), "Lstm".to_string())]);
    assert!(model.save(dir.join("x.safetensors"), None, &clash).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_errors_leave_the_model_unchanged() {
    let mut rng = StdRng::seed_from_u64(6);
    let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 5, dim: 3 }, 5).layers(2);
    let d = dims(4, Kind::Tanh);
    let src = M::new(d, cfg, &mut rng).unwrap();
    let mut dst = M::new(d, cfg, &mut rng).unwrap();
    let before = flat(&dst);
    let file = src.to_tensor_file();
    let expect_ckpt = |dst: &mut M, f: &crate::io::TensorFile<f64>, needle: &str| {
        let e = dst.load_from(f).unwrap_err();
        assert!(matches!(e, RnnError::Checkpoint { .. }), "{e:?}");
        assert!(e.to_string().contains(needle), "{e}");
    };
    // Missing.
    let mut f = file.clone();
    f.remove("rnn.weight_hh_l1");
    expect_ckpt(&mut dst, &f, "missing tensors: rnn.weight_hh_l1");
    let mut f = file.clone();
    f.remove("embed.weight");
    expect_ckpt(&mut dst, &f, "missing tensors: embed.weight");
    // Unknown.
    let mut f = file.clone();
    f.insert("rnn.weight_ih_l2", ndarray::ArrayD::zeros(ndarray::IxDyn(&[4, 4])));
    expect_ckpt(&mut dst, &f, "unexpected tensors");
    // Wrong shape: names the tensor and both shapes.
    let mut f = file.clone();
    f.insert("head.weight", ndarray::ArrayD::zeros(ndarray::IxDyn(&[5, 3])));
    let e = dst.load_from(&f).unwrap_err();
    assert!(
        matches!(&e, RnnError::Shape { what, expected, got } if what.contains("head.weight") && expected == &[5, 4] && got == &[5, 3]),
        "{e:?}"
    );
    // Wrong cell, and other settings, from the metadata.
    let mut f = file.clone();
    f.metadata.insert(META_CELL.into(), "Lstm".into());
    expect_ckpt(&mut dst, &f, "`Lstm` model, this model's cell is `TestRnn`");
    let mut f = file.clone();
    f.metadata.insert(META_ACTIVATION.into(), "sigmoid".into());
    expect_ckpt(&mut dst, &f, "activation");
    // A file without settings (as PyTorch writes) loads by names and shapes.
    let mut f = file.clone();
    f.metadata.clear();
    let mut ok = dst.clone();
    ok.load_from(&f).unwrap();
    assert_eq!(flat(&ok), flat(&src));
    // Truncated file.
    let dir = temp_dir("errors");
    let path = dir.join("m.safetensors");
    src.save(&path, None, &BTreeMap::new()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 9]).unwrap();
    let e = dst.load_file(&cut).unwrap_err();
    assert!(matches!(e, RnnError::Checkpoint { .. }), "{e:?}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(matches!(
        dst.load_file(dir.join("none.safetensors")),
        Err(RnnError::Io { .. })
    ));
    // A file of another configuration.
    let bi = M::new(d, cfg.bidirectional(true), &mut rng).unwrap();
    let bpath = dir.join("bi.safetensors");
    bi.save(&bpath, None, &BTreeMap::new()).unwrap();
    expect_ckpt(&mut dst, &crate::io::read_tensors(&bpath).unwrap(), "bidirectional");
    assert!(M::from_file(d, &bpath).is_ok());
    assert_eq!(flat(&dst), before, "nothing changed after the failures");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_seed_same_numbers() {
    let run = |seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 6, dim: 3 }, 6).layers(2);
        let mut model = M::new(dims(5, Kind::Leaky), cfg, &mut rng).unwrap();
        let ids: Vec<usize> = (0..12).map(|_| rng.random_range(0..6)).collect();
        let next: Vec<usize> = (0..12).map(|_| rng.random_range(0..6)).collect();
        let mut adam = Adam::new(AdamConfig {
            lr: 0.01,
            ..AdamConfig::default()
        })
        .unwrap();
        let mut grads = model.zeros_like();
        let mut losses = Vec::new();
        for _ in 0..3 {
            let out = model
                .loss_and_grad_into(
                    &SeqInput::tokens(&ids, 4, 3),
                    &SeqTarget::Classes(&next),
                    None,
                    &[],
                    &mut grads,
                )
                .unwrap();
            losses.push(out.loss);
            model.apply_gradients(&mut grads, &mut adam, Some(0.5)).unwrap();
        }
        let sample = model.generate(&[1, 2], 8, 0.9, &mut rng).unwrap();
        (flat(&model), losses, sample)
    };
    let (a, b) = (run(7), run(7));
    assert_eq!(
        a.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        b.0.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(
        a.1.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        b.1.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(a.2, b.2);
    assert_ne!(run(8).0, a.0);
}

#[test]
fn generator_steps_match_forward() {
    let mut rng = StdRng::seed_from_u64(8);
    let cfg = SeqModelConfig::language_model(Encoding::OneHot { vocab: 5 }, 5).layers(2);
    let model = M::new(dims(4, Kind::Leaky), cfg, &mut rng).unwrap();
    let ids = [0, 3, 1, 1, 4, 2, 2, 0];
    let input = SeqInput::tokens(&ids, 4, 2);
    let (y, fin) = model.forward(&input, &[]).unwrap();
    let mut g = model.generator(2).unwrap();
    for t in 0..4 {
        let out = g.step_tokens(&ids[t * 2..t * 2 + 2]).unwrap();
        for (a, b) in out.iter().zip(y.index_axis(Axis(0), t)) {
            assert!((a - b).abs() < 1e-13);
        }
    }
    for (a, b) in g.state().iter().zip(&fin) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-13);
        }
    }
    // Greedy sampling picks the argmax of the last logits.
    let z = g.logits().unwrap().to_owned();
    let greedy = g.sample(0.0, &mut rng).unwrap();
    for (k, &id) in greedy.iter().enumerate() {
        assert_eq!(id, crate::nn::sample::argmax(z.row(k)).unwrap());
    }
    // generate: prefix then n tokens, reproducible, greedy equals the generator's.
    let a = model.generate(&[0, 3], 6, 0.7, &mut StdRng::seed_from_u64(1)).unwrap();
    let b = model.generate(&[0, 3], 6, 0.7, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 6);
    let greedy = model.generate(&[0, 3], 4, 0.0, &mut rng).unwrap();
    let mut g1 = model.generator(1).unwrap();
    g1.prime(&[0, 3]).unwrap();
    assert_eq!(g1.generate(4, 0.0, &mut rng).unwrap(), greedy);
    g1.reset();
    assert!(g1.sample(0.0, &mut rng).is_err(), "nothing fed since the reset");
    // Errors.
    assert!(model.generate(&[], 3, 1.0, &mut rng).is_err());
    assert!(model.generate(&[5], 3, 1.0, &mut rng).is_err());
    assert!(model.generate(&[1], 3, -1.0, &mut rng).is_err());
    let bi = M::new(dims(4, Kind::Tanh), cfg.bidirectional(true), &mut rng).unwrap();
    assert!(matches!(bi.generator(1), Err(RnnError::Invalid(_))));
    let reg = M::new(dims(4, Kind::Tanh), SeqModelConfig::regression(2, 2), &mut rng).unwrap();
    assert!(reg.generate(&[0], 2, 0.0, &mut rng).is_err());
    let mut gv = reg.generator(3).unwrap();
    let xs = rand3(&mut rng, (2, 3, 2));
    let outs = gv.feed_values(xs.view()).unwrap();
    let (want, _) = reg.forward(&SeqInput::values(xs.view()), &[]).unwrap();
    for (a, b) in outs.iter().zip(&want) {
        assert!((a - b).abs() < 1e-13);
    }
    assert!(gv.step_tokens(&[0, 0, 0]).is_err());
    assert!(
        gv.step_values(xs.index_axis(Axis(0), 0).slice(ndarray::s![..2, ..]))
            .is_err()
    );
}

#[test]
fn patterns_apply_to_a_model() {
    use crate::nn::init::Init;
    let mut rng = StdRng::seed_from_u64(6);
    let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 4, dim: 3 }, 4).layers(2);
    let dims = TestDims {
        i: 0,
        h: 3,
        kind: Kind::Tanh,
    };
    let mut model = SeqModel::<f64, TestRnn<f64>>::new(dims, cfg, &mut rng).unwrap();
    let before = model.clone();
    assert_eq!(
        model
            .init_params("weight_hh*", Init::Orthogonal { gain: 1.0 }, &mut rng)
            .unwrap(),
        2
    );
    assert_eq!(model.init_params("rnn.bias*", Init::Zeros, &mut rng).unwrap(), 4);
    for ((name, a), (_, b)) in model.named_params().iter().zip(before.named_params().iter()) {
        let local = name.rsplit('.').next().unwrap();
        if local.starts_with("weight_hh") {
            let w = a.view().into_dimensionality::<ndarray::Ix2>().unwrap();
            let g = w.t().dot(&w);
            assert!(
                g.indexed_iter()
                    .all(|((i, j), v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10)
            );
        } else if name.starts_with("rnn.bias") {
            assert!(a.iter().all(|&v| v == 0.0));
        } else {
            assert_eq!(a, b, "{name} untouched");
        }
    }
    // The test cell's biases are [H], not an LSTM's [4*H].
    assert!(model.forget_bias(1.0).is_err());
    assert!(model.init_params("nothing*", Init::Zeros, &mut rng).is_err());
}

#[test]
fn params_by_index_match_the_named_list() {
    let mut rng = StdRng::seed_from_u64(9);
    for enc in encodings() {
        let cfg = SeqModelConfig::language_model(enc, 3).layers(2).bidirectional(true);
        let mut model = M::new(dims(2, Kind::Tanh), cfg, &mut rng).unwrap();
        let named = model.named_params();
        assert_eq!(model.param_count(), named.len());
        for (k, (name, view)) in named.iter().enumerate() {
            assert_eq!(&model.param_name(k), name);
            assert_eq!(&model.param(k), view);
        }
        drop(named);
        let n = model.param_count();
        model.param_mut(n - 1).fill(7.0);
        assert!(model.head().bias.iter().all(|&b| b == 7.0));
    }
}

#[test]
fn the_scratch_path_matches_the_plain_one_and_reuses_its_memory() {
    let mut rng = StdRng::seed_from_u64(10);
    let (t, b, out) = (4, 3, 3);
    for enc in encodings() {
        for (act, loss) in HEADS {
            let cfg = SeqModelConfig::new(enc, out, act, loss).layers(2).bidirectional(true);
            let model = M::new(dims(3, Kind::Leaky), cfg, &mut rng).unwrap();
            let case = Case::new(&mut rng, t, b, 4, 3, out);
            let (input, target) = (case.input(enc, t, b), case.target(loss));
            let (want, want_grads) = model.loss_and_grad(&input, &target, None, &[]).unwrap();
            let mut scratch = SeqScratch::new();
            let mut grads = model.zeros_like();
            for round in 0..3 {
                let got = model
                    .loss_and_grad_ws(&input, &target, None, &[], &mut grads, &mut scratch)
                    .unwrap();
                assert_eq!(got.loss, want.loss, "round {round}");
                assert_eq!(flat(&grads), flat(&want_grads));
                assert_eq!(scratch.step_grad_norms(), &want.step_grad_norms[..]);
                assert_eq!(scratch.final_state(), &want.final_state[..]);
                let l = model.loss_ws(&input, &target, None, &[], &mut scratch).unwrap();
                assert_eq!(l, model.loss(&input, &target, None, &[]).unwrap());
            }
            // One-hot ids are looked up: no input gradient to report.
            assert_eq!(
                scratch.step_grad_norms().is_empty(),
                enc == (Encoding::OneHot { vocab: 4 })
            );
        }
    }
}

/// Central differences of `loss` with respect to every parameter of
/// `model`, checked against `grads`; `prepare` runs before each evaluation
/// (to replay a dropout pass).
fn check_grads_fd(what: &str, model: &M, grads: &M, prepare: &dyn Fn(&mut M), loss: &dyn Fn(&M) -> f64) {
    let eps = 1e-6;
    let analytic = grads.named_params();
    for (p, (name, g)) in analytic.iter().enumerate() {
        for k in 0..g.len() {
            let at = |d: f64| {
                let mut m = model.clone();
                *m.named_params_mut()[p].1.iter_mut().nth(k).unwrap() += d;
                prepare(&mut m);
                loss(&m)
            };
            let num = (at(eps) - at(-eps)) / (2.0 * eps);
            let ana = *g.iter().nth(k).unwrap();
            assert!(
                (num - ana).abs() <= 1e-7 * (1.0 + num.abs()),
                "{what} {name}[{k}]: numeric {num} vs analytic {ana}"
            );
        }
    }
}

#[test]
fn pooled_heads_dropout_and_learned_states_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(12);
    let (t, b, out) = (4, 3, 2);
    let heads = [
        (Activation::Softmax, LossKind::CrossEntropy),
        (Activation::Identity, LossKind::Mse),
        (Activation::Sigmoid, LossKind::BinaryCrossEntropy),
    ];
    for (e, enc) in encodings().into_iter().enumerate() {
        for (h, &(act, loss)) in heads.iter().enumerate() {
            for pooling in [Pooling::Last, Pooling::Mean, Pooling::Steps] {
                let bidir = (e + h) % 2 == 0;
                let dropout = Dropout {
                    input: if enc.is_tokens() && e == 0 { 0.0 } else { 0.3 },
                    layers: 0.0,
                    head: 0.25,
                };
                let cfg = SeqModelConfig::new(enc, out, act, loss)
                    .layers(2)
                    .bidirectional(bidir)
                    .pooling(pooling)
                    .dropout(dropout)
                    .learn_init(true);
                let mut model = M::new(dims(3, Kind::Tanh), cfg, &mut rng).unwrap();
                // A learned initial state away from zero.
                for a in model.initial_states_mut() {
                    a.mapv_inplace(|_| 0.5 * (rng.random::<f64>() - 0.5));
                }
                let case = Case::new(&mut rng, t, b, 4, 3, out);
                let input = case.input(enc, t, b);
                let seq_classes: Vec<usize> = (0..b).map(|i| i % out).collect();
                let seq_values = ndarray::Array2::from_shape_fn((b, out), |(i, j)| ((i + j) % 2) as f64);
                let target = match (pooling.per_sequence(), loss) {
                    (false, _) => case.target(loss),
                    (true, LossKind::CrossEntropy) => SeqTarget::Classes(&seq_classes),
                    (true, _) => SeqTarget::Sequences(seq_values.view()),
                };
                let seed = model.dropout_state().0;
                model.set_dropout_state(seed, 5);
                let (outcome, grads) = model.loss_and_grad(&input, &target, None, &[]).unwrap();
                // The same pass replayed: the same masks, the same loss.
                model.set_dropout_state(seed, 5);
                assert_eq!(model.loss(&input, &target, None, &[]).unwrap(), outcome.loss);
                let what = format!("{} {:?}+{:?} {:?} bi={bidir}", enc.name(), act, loss, pooling);
                check_grads_fd(&what, &model, &grads, &|m| m.set_dropout_state(seed, 5), &|m| {
                    m.loss(&input, &target, None, &[]).unwrap()
                });
                // Another pass draws other masks; evaluation mode none.
                let other = model.loss(&input, &target, None, &[]).unwrap();
                assert_ne!(other, outcome.loss, "{what}: a new pass, new masks");
                let mut eval = model.clone();
                eval.set_training(false);
                let a = eval.loss(&input, &target, None, &[]).unwrap();
                assert_eq!(a, eval.loss(&input, &target, None, &[]).unwrap());
            }
        }
    }
}

#[test]
fn init_grads_are_the_gradient_of_the_given_initial_state() {
    let mut rng = StdRng::seed_from_u64(13);
    let (t, b) = (4, 2);
    let cfg = SeqModelConfig::regression(3, 2).layers(2).bidirectional(true);
    let model = M::new(dims(3, Kind::Leaky), cfg, &mut rng).unwrap();
    let xs = rand3(&mut rng, (t, b, 3));
    let ys = rand3(&mut rng, (t, b, 2));
    let input = SeqInput::values(xs.view());
    let target = SeqTarget::Values(ys.view());
    let init: Vec<Array3<f64>> = model.zero_state(b).iter().map(|s| rand3(&mut rng, s.dim())).collect();
    let (outcome, _) = model.loss_and_grad(&input, &target, None, &init).unwrap();
    assert_eq!(outcome.init_grads.len(), init.len());
    let eps = 1e-6;
    for (k, s) in init.iter().enumerate() {
        for (idx, _) in s.indexed_iter() {
            let at = |d: f64| {
                let mut i2 = init.clone();
                i2[k][idx] += d;
                model.loss(&input, &target, None, &i2).unwrap()
            };
            let num = (at(eps) - at(-eps)) / (2.0 * eps);
            let ana = outcome.init_grads[k][idx];
            assert!(
                (num - ana).abs() < 1e-7 * (1.0 + num.abs()),
                "init[{k}]{idx:?}: {num} vs {ana}"
            );
        }
    }
}

#[test]
fn last_step_pooling_reads_both_directions_final_outputs() {
    let mut rng = StdRng::seed_from_u64(14);
    let (t, b) = (5, 2);
    let cfg = SeqModelConfig::regression(3, 2)
        .layers(2)
        .bidirectional(true)
        .pooling(Pooling::Last);
    let model = M::new(dims(4, Kind::Tanh), cfg, &mut rng).unwrap();
    let xs = rand3(&mut rng, (t, b, 3));
    let input = SeqInput::values(xs.view());
    let (y, states) = model.forward(&input, &[]).unwrap();
    assert_eq!(y.dim(), (1, b, 2));
    // The head read [h_n forward, h_n reverse] of the last layer (the test
    // cell's output is its state): z = W [h_f; h_r] + bias.
    let h = ndarray::concatenate(
        Axis(1),
        &[states[0].index_axis(Axis(0), 2), states[0].index_axis(Axis(0), 3)],
    )
    .unwrap();
    let z = model.head().forward(h.view()).unwrap();
    for (a, e) in y.iter().zip(z.iter()) {
        assert!((a - e).abs() < 1e-13, "{a} vs {e}");
    }
    // Per-step targets are refused, per-sequence ones checked.
    let ys = rand3(&mut rng, (t, b, 2));
    assert!(model.loss(&input, &SeqTarget::Values(ys.view()), None, &[]).is_err());
    let wrong = ndarray::Array2::zeros((b + 1, 2));
    assert!(matches!(
        model.loss(&input, &SeqTarget::Sequences(wrong.view()), None, &[]),
        Err(RnnError::Shape { .. })
    ));
}
