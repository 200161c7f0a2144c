//! Checks of data-parallel training, run under `mpirun -np 2` (feature
//! `mpi`; `tests/distributed.rs` builds and runs it):
//!
//! 1. two ranks, each on half of every global batch, end with the same
//!    parameters as one process on the whole batch: to 1e-12 in f64, and
//!    to 1e-5 in f32 (the two sum the batch's gradient in another order);
//!    rank 1 starts from other parameters, so the broadcast is tested too;
//! 2. a checkpoint rank 0 wrote in the two-rank run resumes in one
//!    process, and in two ranks again, and both continue as the
//!    one-process run does;
//! 3. a rank whose parameters were perturbed (by one part in 10¹²) is
//!    found, and named, on every rank.
//!
//! Exits with an error (and so fails `mpirun`) on any mismatch.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rnn::cells::{Gru, GruDims};
use rnn::runtime::distributed::Mpi;
use rnn::runtime::model::{Encoding, SeqModelConfig};
use rnn::runtime::optim::{Adam, AdamConfig, LrSchedule};
use rnn::runtime::train::{Batch, Trainer, TrainerConfig};
use rnn::runtime::{Params, ndarray};
use rnn::{Float, RnnError, SeqInput, SeqModel, SeqTarget};
use std::ops::Range;

const V: usize = 5;
const T: usize = 6;
/// The global batch.
const B: usize = 4;
const STEPS: usize = 8;

type Tr<F> = Trainer<F, Gru<F>, Adam<F>>;

fn trainer<F: Float>(seed: u64) -> Tr<F> {
    let config = SeqModelConfig::language_model(Encoding::Embedding { vocab: V, dim: 3 }, V).layers(2);
    let model = SeqModel::new(GruDims { i: 3, h: 6 }, config, &mut rnn::seeded_rng(seed)).expect("model");
    let adam = Adam::new(AdamConfig {
        lr: 1e-2,
        ..AdamConfig::default()
    })
    .expect("adam");
    let config = TrainerConfig {
        clip_norm: Some(1.0),
        schedule: LrSchedule::Constant,
    };
    Trainer::new(model, adam, config)
}

/// Global batch `step`: ids and next-token targets, `[T, B]` time-major.
fn global_batch(step: usize) -> (Vec<usize>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(1000 + step as u64);
    let ids: Vec<usize> = (0..T * B).map(|_| rng.random_range(0..V)).collect();
    let targets = ids.iter().map(|&i| (i * 3 + 1) % V).collect();
    (ids, targets)
}

/// The columns `rows` of a `[T, B]` time-major batch.
fn columns(v: &[usize], rows: &Range<usize>) -> Vec<usize> {
    (0..T).flat_map(|t| rows.clone().map(move |b| v[t * B + b])).collect()
}

/// One step of `tr` on rows `rows` of global batch `step`; the loss it reports.
fn step<F: Float>(tr: &mut Tr<F>, step: usize, rows: Range<usize>) -> Result<f64, RnnError> {
    let (ids, targets) = global_batch(step);
    let (ids, targets) = (columns(&ids, &rows), columns(&targets, &rows));
    let batch = Batch::new(SeqInput::tokens(&ids, T, rows.len()), SeqTarget::Classes(&targets));
    Ok(tr.step_on(&batch)?.loss)
}

fn max_diff<F: Float>(a: &dyn Params<F>, b: &dyn Params<F>) -> f64 {
    let mut worst = 0.0f64;
    for k in 0..a.param_count() {
        let d = ndarray::Zip::from(&a.param(k))
            .and(&b.param(k))
            .fold(0.0f64, |m, x, y| m.max((*x - *y).to_f64().unwrap_or(f64::NAN).abs()));
        worst = worst.max(d);
    }
    worst
}

fn fail(what: String) -> RnnError {
    RnnError::Distributed(what)
}

/// Check 1 in `F`: two ranks (or more) against one process; returns the
/// trained two-rank trainer.
fn equivalence<F: Float + rnn::runtime::distributed::Equivalence>(
    mpi: &Mpi,
    tol: f64,
    name: &str,
) -> Result<Tr<F>, RnnError> {
    let all = 0..B;
    // Rank 1 starts elsewhere: the broadcast makes it rank 0's model.
    let mut ranks = trainer::<F>(1 + mpi.rank() as u64).with_sync(Box::new(mpi.sync::<F>()), 1)?;
    let mut one = trainer::<F>(1);
    for s in 0..STEPS {
        let l2 = step(&mut ranks, s, mpi.shard(B))?;
        if mpi.is_root() {
            let l1 = step(&mut one, s, all.clone())?;
            if (l1 - l2).abs() > tol {
                return Err(fail(format!(
                    "{name}: step {s}: loss {l2} over ranks, {l1} in one process"
                )));
            }
        }
    }
    if mpi.is_root() {
        let d = max_diff(ranks.model(), one.model());
        println!(
            "{name}: {} ranks vs one process after {STEPS} steps: largest parameter difference {d:.3e}",
            mpi.size()
        );
        if d > tol {
            return Err(fail(format!("{name}: parameters differ by {d:e} (tolerance {tol:e})")));
        }
    }
    Ok(ranks)
}

fn run() -> Result<(), RnnError> {
    let mpi = Mpi::init()?;
    let ranks = equivalence::<f64>(&mpi, 1e-12, "f64")?;
    equivalence::<f32>(&mpi, 1e-5, "f32")?;

    // Check 2: a checkpoint of the two-rank run, written by rank 0.
    let path = std::env::temp_dir().join(format!("rnn-mpi-check-{}.safetensors", std::process::id()));
    let path = if mpi.is_root() {
        ranks.save_checkpoint(&path, &Default::default())?;
        path.to_string_lossy().into_owned()
    } else {
        String::new()
    };
    let path = broadcast_path(&mpi, path);
    mpi.barrier();
    let mut ranks = ranks;
    let mut again = trainer::<f64>(7).with_sync(Box::new(mpi.sync::<f64>()), 1)?;
    again.resume_from(&path)?;
    let l_ranks = step(&mut ranks, STEPS, mpi.shard(B))?;
    let l_again = step(&mut again, STEPS, mpi.shard(B))?;
    if mpi.is_root() {
        let mut one = trainer::<f64>(9);
        one.resume_from(&path)?;
        let l_one = step(&mut one, STEPS, 0..B)?;
        let (d1, d2) = (
            max_diff(one.model(), ranks.model()),
            max_diff(again.model(), ranks.model()),
        );
        println!(
            "checkpoint of the {}-rank run: one process continues within {d1:.3e}, {} ranks resumed within {d2:.3e}",
            mpi.size(),
            mpi.size()
        );
        if d1 > 1e-12 || d2 > 1e-12 || (l_one - l_ranks).abs() > 1e-12 || (l_again - l_ranks).abs() > 1e-12 {
            return Err(fail(format!("resumed runs differ: {d1:e}, {d2:e}")));
        }
        std::fs::remove_file(&path).ok();
    }

    // Check 3: a perturbed rank is found on every rank.
    ranks.check_in_sync()?;
    if mpi.rank() == 1 {
        let mut w = ranks.model_mut().param_mut(0);
        let v = w.iter_mut().next().expect("a parameter");
        *v *= 1.0 + 1e-12;
    }
    match ranks.check_in_sync() {
        Err(RnnError::Distributed(m)) if m.contains("rank(s) 1 differ") => {
            if mpi.is_root() {
                println!("perturbed rank found: {m}");
            }
        }
        other => {
            return Err(fail(format!(
                "rank {}: a perturbed rank 1 was not found: {other:?}",
                mpi.rank()
            )));
        }
    }
    Ok(())
}

/// Rank 0's `path` on every rank.
fn broadcast_path(mpi: &Mpi, path: String) -> String {
    let mut bytes = [0u8; 512];
    let n = path.len().min(512);
    bytes[..n].copy_from_slice(&path.as_bytes()[..n]);
    mpi.broadcast_bytes(&mut bytes);
    String::from_utf8_lossy(&bytes).trim_end_matches('\0').to_string()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("mpi_check: {e}");
        std::process::exit(1);
    }
}
