//! The training harness: metrics as JSON lines, loss curves as SVG, the
//! non-finite guard, checkpoints that keep the last good step on disk, and
//! seeded reproducibility, on a tiny character model.

use rnn::cells::{Lstm, LstmDims};
use rnn::runtime::io::read_tensors;
use rnn::runtime::model::{Encoding, SeqModelConfig};
use rnn::runtime::optim::{Adam, AdamConfig, Optimizer};
use rnn::runtime::train::{
    Checkpointer, MetricsWriter, StepStats, Trainer, TrainerConfig, check_tensors, check_value, read_metrics,
};
use rnn::runtime::{RnnError, SeqModel, TensorFile};
use rnn_examples::charlm::{Corpus, TrainWindows};
use rnn_examples::plot::{PlotOptions, Series, write_loss_curve};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

type Model = SeqModel<f32, Lstm<f32>>;

/// A trainer and the windows it draws from.
struct Run<'c> {
    tr: Trainer<f32, Lstm<f32>, Adam<f32>>,
    windows: TrainWindows<'c>,
}

impl Run<'_> {
    fn step(&mut self) -> Result<StepStats, RnnError> {
        self.tr.step(&mut self.windows)
    }
}

/// A fresh directory under the system temp dir, unique to this process and test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rnn-harness-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn corpus() -> Corpus {
    Corpus::from_text(&"the quick brown fox jumps over the lazy dog.\n".repeat(10)).unwrap()
}

/// A trainer of a one-layer LSTM with H = 8, everything drawn from `seed`.
fn trainer(corpus: &Corpus, seed: u64, lr: f64) -> Run<'_> {
    let v = corpus.vocab_size();
    let mut rng = rnn::seeded_rng(seed);
    let config = SeqModelConfig::language_model(Encoding::OneHot { vocab: v }, v);
    let model = Model::new(LstmDims { i: v, h: 8 }, config, &mut rng).unwrap();
    let adam = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::default()
    })
    .unwrap();
    let config = TrainerConfig {
        clip_norm: Some(5.0),
        ..TrainerConfig::default()
    };
    Run {
        tr: Trainer::new(model, adam, config),
        windows: TrainWindows::new(corpus, 8, 4, rng).unwrap(),
    }
}

fn all_finite(file: &TensorFile<f32>) -> bool {
    file.tensors.iter().all(|(_, a)| a.iter().all(|x| x.is_finite()))
}

#[test]
fn step_metrics_parse_back() {
    let dir = temp_dir("metrics");
    let path = dir.join("nested/steps.jsonl");
    let corpus = corpus();
    let mut tr = trainer(&corpus, 0, 1e-2);
    let mut m = MetricsWriter::create(&path).unwrap();
    let mut losses = Vec::new();
    for _ in 0..3 {
        let s = tr.step().unwrap();
        losses.push(s.loss);
        m.write_fields(&[
            ("step", json!(s.step)),
            ("loss", json!(s.loss)),
            ("grad_norm", json!(s.grad_norm)),
            ("lr", json!(tr.tr.optimizer().lr())),
        ])
        .unwrap();
    }
    let records = read_metrics(&path).unwrap();
    assert_eq!(records.len(), 3);
    for (k, r) in records.iter().enumerate() {
        assert_eq!(r["step"], json!(k + 1));
        assert_eq!(r["loss"].as_f64(), Some(losses[k]));
        assert!(r["grad_norm"].as_f64().unwrap() > 0.0);
        assert_eq!(r["lr"].as_f64(), Some(1e-2));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_writes_an_svg_with_every_series() {
    let dir = temp_dir("plot");
    let path = dir.join("curves/loss.svg");
    let mut train = Series::new("train", (1..=200).map(|s| (s as f64, 4.2 - (s as f64).ln() / 3.0)));
    train.push(201.0, f64::NAN);
    let val = Series::new("validation", [(0.0, 4.2), (100.0, 2.9), (200.0, 2.5)]);
    let options = PlotOptions {
        title: "tiny run".into(),
        ..PlotOptions::default()
    };
    write_loss_curve(&path, &[train, val], &options).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{}", &svg[..60]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for text in ["train", "validation", "tiny run", "step", "loss (nats/char)"] {
        assert!(svg.contains(text), "the SVG lacks {text:?}");
    }
    assert!(svg.matches("<polyline").count() >= 2, "expected a line per series");
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.join("curves")).unwrap().collect();
    assert_eq!(names.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_errors_name_the_path() {
    let dir = temp_dir("plot-errors");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let series = [Series::new("train", [(1.0, 1.0), (2.0, 0.5)])];
    let e = write_loss_curve(blocker.join("loss.svg"), &series, &PlotOptions::default()).unwrap_err();
    assert!(matches!(e, RnnError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("file"), "{e}");
    let e = write_loss_curve(dir.join("loss.png"), &series, &PlotOptions::default()).unwrap_err();
    assert!(
        matches!(e, RnnError::Invalid(_)) && e.to_string().contains("loss.png"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn guard_names_the_step_for_a_loss_and_a_gradient() {
    match check_value(9, "training loss", f64::NAN) {
        Err(RnnError::NonFinite { what, step }) => assert_eq!((what.as_str(), step), ("training loss", 9)),
        other => panic!("expected a non-finite error, got {other:?}"),
    }
    let corpus = corpus();
    let model = trainer(&corpus, 0, 1e-2).tr.into_model();
    let mut grads = model.zeros_like();
    grads.head_mut().bias[2] = f32::INFINITY;
    match check_tensors(4, "gradient of", &grads.named_params()) {
        Err(RnnError::NonFinite { what, step }) => {
            assert_eq!(step, 4);
            assert!(what.starts_with("gradient of head.bias (1 of"), "{what}");
        }
        other => panic!("expected a non-finite error, got {other:?}"),
    }
    assert!(check_tensors(4, "gradient of", &model.zeros_like().named_params()).is_ok());
}

#[test]
fn a_nan_step_keeps_the_last_good_checkpoint() {
    let dir = temp_dir("nan");
    let path = dir.join("ck.safetensors");
    let corpus = corpus();
    let mut tr = trainer(&corpus, 1, 1e-2);
    let mut ck = Checkpointer::new(&path, 1);
    let meta = BTreeMap::from([("seed".to_string(), "1".to_string())]);
    for _ in 0..3 {
        let s = tr.step().unwrap();
        assert!(ck.save_if_due(s.step, tr.tr.model(), &meta).unwrap());
    }
    assert_eq!(ck.last_good(), Some(3));
    let good = tr.tr.model().to_tensor_file();
    let bytes = std::fs::read(&path).unwrap();

    // Poison a parameter between steps: step 4 must fail and name itself.
    tr.tr.model_mut().head_mut().weight[[0, 0]] = f32::NAN;
    match tr.step() {
        Err(RnnError::NonFinite { what, step }) => {
            assert_eq!(step, 4);
            assert_eq!(what, "training loss");
        }
        other => panic!("expected a non-finite error, got {other:?}"),
    }
    assert_eq!(tr.tr.steps(), 3);
    // Saving the poisoned model is refused and leaves the file alone.
    match ck.save(4, tr.tr.model(), &meta) {
        Err(RnnError::NonFinite { what, step: 4 }) => assert!(what.contains("head.weight"), "{what}"),
        other => panic!("expected a non-finite error, got {other:?}"),
    }
    assert_eq!(ck.last_good(), Some(3));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let back = read_tensors::<f32>(&path).unwrap();
    assert!(all_finite(&back));
    assert_eq!(back.tensors, good.tensors);
    assert_eq!(back.meta("step").unwrap(), "3");
    assert_eq!(back.meta("seed").unwrap(), "1");
    let mut restored = trainer(&corpus, 99, 1e-2).tr.into_model();
    restored.load_file(&path).unwrap();
    assert_eq!(restored.to_tensor_file().tensors, good.tensors);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_absurd_learning_rate_stops_with_the_last_good_checkpoint() {
    let dir = temp_dir("lr");
    let path = dir.join("ck.safetensors");
    let corpus = corpus();
    let mut tr = trainer(&corpus, 2, 1e-2);
    let mut ck = Checkpointer::new(&path, 1);
    let meta = BTreeMap::new();
    let mut snapshots = vec![tr.tr.model().to_tensor_file()];
    ck.save(0, tr.tr.model(), &meta).unwrap();
    for _ in 0..2 {
        let s = tr.step().unwrap();
        ck.save_if_due(s.step, tr.tr.model(), &meta).unwrap();
        snapshots.push(tr.tr.model().to_tensor_file());
    }
    tr.tr.optimizer_mut().set_lr(1e38);
    let err = loop {
        match tr.step() {
            Ok(s) => {
                assert!(s.step < 30, "an lr of 1e38 should diverge within a few steps");
                ck.save_if_due(s.step, tr.tr.model(), &meta).unwrap();
                snapshots.push(tr.tr.model().to_tensor_file());
            }
            Err(e) => break e,
        }
    };
    let last = snapshots.len() - 1;
    match err {
        RnnError::NonFinite { step, .. } => assert_eq!(step, last + 1, "{err}"),
        other => panic!("expected a non-finite error, got {other:?}"),
    }
    assert_eq!(ck.last_good(), Some(last));
    let back = read_tensors::<f32>(&path).unwrap();
    assert!(all_finite(&back));
    assert_eq!(back.tensors, snapshots[last].tensors);
    assert_eq!(back.meta("step").unwrap(), last.to_string());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_seed_fixes_initialisation_batches_and_sampling() {
    let corpus = corpus();
    let run = |seed: u64| {
        let mut tr = trainer(&corpus, seed, 1e-2);
        let init = tr.tr.model().to_tensor_file();
        let stats: Vec<(f64, f64)> = (0..5)
            .map(|_| tr.step().map(|s| (s.loss, s.grad_norm)).unwrap())
            .collect();
        let model = tr.tr.into_model();
        let text = model.generate(&[0], 20, 0.8, &mut rnn::seeded_rng(seed)).unwrap();
        (init, stats, model.to_tensor_file(), text)
    };
    let (a, b) = (run(7), run(7));
    assert_eq!(a.0, b.0, "initialisation");
    assert_eq!(a.1, b.1, "losses and gradient norms");
    assert_eq!(a.2, b.2, "trained parameters");
    assert_eq!(a.3, b.3, "sample");
    let c = run(8);
    assert_ne!(a.0, c.0);
    assert_ne!(a.1, c.1);
}
