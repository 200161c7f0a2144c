//! Data-parallel scaling on the benchmark's shapes (`WORKLOAD.md`'s
//! `medium` by default: T = 64, B = 32, I = 256, H = 256): an LSTM layer
//! with a linear head of I outputs and MSE, trained by the [`Trainer`]
//! with Adam on one fixed global batch drawn from the workload's streams.
//! Prints training steps per second (after `--warmup` steps) and, on
//! several ranks, the bytes all-reduced per step and the all-reduce's share
//! of the step.
//!
//! ```text
//! cargo build --release -p rnn-examples --features mpi --example mpi_scaling
//! target/release/examples/mpi_scaling --threads 2                       # 1 process x 2 threads
//! mpirun -np 2 target/release/examples/mpi_scaling --distributed        # 2 ranks x 1 thread
//! ```

use clap::Parser;
use rnn::cells::{Lstm, LstmDims};
use rnn::runtime::model::SeqModelConfig;
use rnn::runtime::ndarray::{Array3, s};
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::runtime::train::{Batch, TrainerConfig};
use rnn::{SeqInput, SeqModel, SeqTarget};
use rnn_examples::cli::{at_least_one, threads};
use rnn_examples::ranks::Ranks;
use rnn_examples::workload::{config, stream};
use std::error::Error;
use std::time::Instant;

/// Steps per second of data-parallel training on the benchmark's shapes.
#[derive(Debug, Parser)]
#[command(name = "mpi_scaling")]
struct Args {
    /// The benchmark configuration whose shapes to train (tiny, small,
    /// medium, large).
    #[arg(long, default_value = "medium")]
    config: String,
    /// Timed steps.
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Threads for matrix products, per process.
    #[arg(long, default_value_t = 1, value_parser = threads)]
    threads: usize,
    /// Train on the ranks of `mpirun` (each its share of the batch).
    #[arg(long)]
    distributed: bool,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let ranks = Ranks::new(args.distributed)?;
    let result = run(&args, &ranks);
    if let Err(e) = &result {
        eprintln!("error on rank {}: {e}", ranks.rank());
        ranks.abort_if_distributed();
    }
    result
}

fn run(args: &Args, ranks: &Ranks) -> Result<(), Box<dyn Error>> {
    let cfg = config(&args.config).ok_or_else(|| format!("--config {}: no such configuration", args.config))?;
    rnn::runtime::gemm::set_threads(args.threads)?;
    let (t, b, i, h) = (cfg.t, cfg.b, cfg.i, cfg.h);
    let model_config = SeqModelConfig::regression(i, i);
    let model: SeqModel<f32, Lstm<f32>> = SeqModel::new(LstmDims { i, h }, model_config, &mut rnn::seeded_rng(0))?;
    let adam = Adam::new(AdamConfig {
        lr: 1e-3,
        ..AdamConfig::default()
    })?;
    let mut trainer = ranks.trainer(model, adam, TrainerConfig::default(), 10)?;
    // The global batch, the same on every rank; this rank's columns of it.
    let x = Array3::from_shape_vec((t, b, i), stream(5, t * b * i, 1.0))?;
    let y = Array3::from_shape_vec((t, b, i), stream(6, t * b * i, 0.5))?;
    let rows = ranks.shard(b);
    if rows.is_empty() {
        return Err(format!("a batch of {b} has no row for each of {} ranks", ranks.size()).into());
    }
    let (x, y) = (
        x.slice(s![.., rows.clone(), ..]).to_owned(),
        y.slice(s![.., rows.clone(), ..]).to_owned(),
    );
    let batch = Batch::new(SeqInput::values(x.view()), SeqTarget::Values(y.view()));
    for _ in 0..args.warmup {
        rnn::runtime::gemm::in_pool(|| trainer.step_on(&batch))?;
    }
    let before = trainer.sync_stats().unwrap_or_default();
    let start = Instant::now();
    for _ in 0..args.steps {
        rnn::runtime::gemm::in_pool(|| trainer.step_on(&batch))?;
    }
    let wall = start.elapsed().as_secs_f64();
    trainer.check_in_sync()?;
    if ranks.is_root() {
        let mut line = format!(
            "{} (T={t} B={b} I={i} H={h}), {} process(es) x {} thread(s): {:.2} steps/s ({:.1} ms per step)",
            cfg.name,
            ranks.size(),
            args.threads,
            args.steps as f64 / wall,
            1e3 * wall / args.steps as f64
        );
        if let Some(st) = trainer.sync_stats() {
            let reduce = (st.reduce_time - before.reduce_time).as_secs_f64();
            line += &format!(
                "; all-reduce {} bytes per step, {:.2} ms per step, {:.1} % of the step",
                st.bytes_per_reduce,
                1e3 * reduce / args.steps as f64,
                100.0 * reduce / wall
            );
        }
        println!("{line}");
    }
    Ok(())
}
