//! Resuming training from a trainer checkpoint: 200 steps straight and 100
//! steps, a checkpoint, then 100 more steps in a fresh trainer give the same
//! losses and parameters, bit for bit (one thread); a bad checkpoint changes
//! nothing.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rnn::cells::{Lstm, LstmDims};
use rnn::runtime::model::{Dropout, Encoding, SeqModelConfig};
use rnn::runtime::optim::{Adam, AdamConfig, LrSchedule, Optimizer, Sgd, SgdConfig};
use rnn::runtime::train::{Batch, BatchSource, Trainer, TrainerConfig, model_part};
use rnn::runtime::{Params, read_tensors};
use rnn::{RnnError, SeqInput, SeqModel, SeqTarget};

const V: usize = 6;
const T: usize = 7;
const B: usize = 3;

/// Random next-token batches from a seeded generator.
struct Tokens {
    rng: StdRng,
    ids: Vec<usize>,
    targets: Vec<usize>,
}

impl Tokens {
    fn new(seed: u64) -> Self {
        Tokens {
            rng: StdRng::seed_from_u64(seed),
            ids: Vec::new(),
            targets: Vec::new(),
        }
    }
}

impl BatchSource<f32> for Tokens {
    fn next_batch(&mut self) -> Result<Batch<'_, f32>, RnnError> {
        self.ids = (0..T * B).map(|_| self.rng.random_range(0..V)).collect();
        self.targets = self.ids.iter().map(|&i| (i * 2 + 1) % V).collect();
        Ok(Batch::new(
            SeqInput::tokens(&self.ids, T, B),
            SeqTarget::Classes(&self.targets),
        ))
    }
}

fn model(seed: u64, dropout: bool) -> SeqModel<f32, Lstm<f32>> {
    let mut config = SeqModelConfig::language_model(Encoding::Embedding { vocab: V, dim: 4 }, V).layers(2);
    if dropout {
        config = config.dropout(Dropout {
            input: 0.1,
            layers: 0.2,
            head: 0.1,
        });
    }
    SeqModel::new(LstmDims { i: 4, h: 8 }, config, &mut rnn::seeded_rng(seed)).unwrap()
}

fn config() -> TrainerConfig {
    TrainerConfig {
        clip_norm: Some(1.0),
        schedule: LrSchedule::Cosine {
            t_max: 200,
            eta_min: 1e-4,
        },
    }
}

fn trainer<O: Optimizer<f32>>(seed: u64, dropout: bool, opt: O) -> Trainer<f32, Lstm<f32>, O> {
    Trainer::new(model(seed, dropout), opt, config())
}

fn adam() -> Adam<f32> {
    Adam::new(AdamConfig {
        lr: 1e-2,
        amsgrad: true,
        ..AdamConfig::default()
    })
    .unwrap()
}

fn params(m: &SeqModel<f32, Lstm<f32>>) -> Vec<Vec<u32>> {
    (0..m.param_count())
        .map(|k| m.param(k).iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn steps<O: Optimizer<f32>>(t: &mut Trainer<f32, Lstm<f32>, O>, data: &mut Tokens, n: usize) -> Vec<u64> {
    (0..n).map(|_| t.step(data).unwrap().loss.to_bits()).collect()
}

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rnn-resume-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every test of this binary runs on one thread, and says so before it
/// trains: the first product would otherwise start rayon's global pool with
/// one thread per core, and a later `set_threads(1)` in a test running
/// beside it would fail.
fn one_thread() {
    rnn::runtime::gemm::set_threads(1).expect("one thread");
}

fn straight_and_resumed<O: Optimizer<f32>>(name: &str, dropout: bool, make: impl Fn() -> O) {
    one_thread();
    let mut straight = trainer(1, dropout, make());
    let mut data = Tokens::new(9);
    let all = steps(&mut straight, &mut data, 200);

    let mut first = trainer(1, dropout, make());
    let mut data = Tokens::new(9);
    let before = steps(&mut first, &mut data, 100);
    let path = dir(name).join("run.safetensors");
    first.save_checkpoint(&path, &Default::default()).unwrap();
    drop(first);

    // Another initialisation: everything must come from the file.
    let mut resumed = trainer(2, dropout, make());
    resumed.resume_from(&path).unwrap();
    assert_eq!(resumed.steps(), 100);
    let mut data = Tokens::new(9);
    for _ in 0..100 {
        data.next_batch().unwrap();
    }
    let after = steps(&mut resumed, &mut data, 100);
    assert_eq!(before, all[..100]);
    assert_eq!(after, all[100..], "{name}: losses after resuming");
    assert_eq!(params(resumed.model()), params(straight.model()), "{name}: parameters");
    assert_eq!(resumed.positions_seen(), straight.positions_seen());
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn resuming_adam_continues_bit_for_bit() {
    straight_and_resumed("adam", false, adam);
}

#[test]
fn resuming_with_dropout_and_momentum_continues_bit_for_bit() {
    straight_and_resumed("sgd", true, || {
        Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..SgdConfig::default()
        })
        .unwrap()
    });
}

#[test]
fn a_bad_checkpoint_changes_nothing() {
    one_thread();
    let d = dir("bad");
    let mut t = trainer(1, false, adam());
    let mut data = Tokens::new(3);
    steps(&mut t, &mut data, 5);
    let good = d.join("good.safetensors");
    t.save_checkpoint(&good, &Default::default()).unwrap();
    let mut other = trainer(4, false, adam());
    steps(&mut other, &mut data, 3);
    let (p0, s0) = (params(other.model()), other.optimizer().state());

    // A model checkpoint is not enough to resume.
    let model_only = d.join("model.safetensors");
    t.model().save(&model_only, None, &Default::default()).unwrap();
    let e = other.resume_from(&model_only).unwrap_err();
    assert!(e.to_string().contains("resumes training"), "{e}");
    // Optimiser state of another kind, a missing moment, a truncated file.
    let mut file = read_tensors::<f32>(&good).unwrap();
    file.metadata.insert("optimizer".into(), "sgd".into());
    assert!(other.resume_from_file(file).is_err());
    let mut file = read_tensors::<f32>(&good).unwrap();
    file.tensors.retain(|(n, _)| n != "optimizer.v.3");
    assert!(other.resume_from_file(file).is_err());
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(other.resume_from(&cut).is_err());
    // A trainer of another size.
    let mut wide = Trainer::new(
        SeqModel::<f32, Lstm<f32>>::new(
            LstmDims { i: 4, h: 9 },
            SeqModelConfig::language_model(Encoding::Embedding { vocab: V, dim: 4 }, V).layers(2),
            &mut rnn::seeded_rng(0),
        )
        .unwrap(),
        adam(),
        config(),
    );
    assert!(wide.resume_from(&good).is_err());
    assert_eq!(params(other.model()), p0);
    assert_eq!(other.optimizer().state(), s0);
    assert_eq!(other.steps(), 3);

    // The checkpoint is still a model checkpoint without the optimiser part.
    let mut m = model(7, false);
    m.load_from(&model_part(read_tensors::<f32>(&good).unwrap())).unwrap();
    assert_eq!(params(&m), params(t.model()));
    std::fs::remove_dir_all(&d).unwrap();
}
