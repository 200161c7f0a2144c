//! Character-level language model, CHARLM v1 (`../shared/CHARLM.md`).
//!
//! With no arguments this trains a one-layer LSTM (H = 256) on the bundled
//! tinyshakespeare corpus exactly as the spec says: batches of 32 random
//! windows of 64 characters, 2000 Adam steps at lr 2e-3, gradients clipped to
//! global norm 5, validation on 64 fixed windows at step 0 and every 250
//! steps, seed 0, float32. It shows a progress bar on stderr, prints one JSON
//! line per evaluation on stdout (and to `--metrics PATH`), then 300 sampled
//! characters (prime "\n", temperature 0.8).
//!
//! ```text
//! cargo run --release --example char_lm
//! cargo run --release --example char_lm -- --cell gru --steps 500 --metrics runs/gru.jsonl
//! ```
//!
//! `elapsed_s` and `chars_per_s` count training wall time only (batch
//! construction, forward, backward, clipping, update), as CHARLM section 5
//! defines it; `train_loss` is the mean batch loss since the previous
//! evaluation (`null` at step 0).

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rnn::Cell;
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnTanh, RnnTanhDims};
use rnn::runtime::train::{Adam, AdamConfig, CharLmConfig, CharModel, CharTrainer, Corpus};
use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which recurrent cell to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CellKind {
    /// PyTorch-equivalent LSTM (gates i, f, g, o).
    Lstm,
    /// PyTorch-equivalent GRU (gates r, z, n).
    Gru,
    /// Vanilla tanh RNN.
    Rnn,
}

/// Train a character-level language model (CHARLM v1 by default).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Corpus file, read as UTF-8.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tinyshakespeare.txt"))]
    data: PathBuf,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
    cell: CellKind,
    /// Hidden size H.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Number of stacked layers.
    #[arg(long, default_value_t = 1)]
    layers: usize,
    /// Windows per batch B.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Window length T.
    #[arg(long, default_value_t = 64)]
    seq_len: usize,
    /// Training steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Clip gradients to this global L2 norm (0: no clipping).
    #[arg(long, default_value_t = 5.0)]
    clip: f64,
    /// Evaluate every N steps (and after the last; 0: only at 0 and the end).
    #[arg(long, default_value_t = 250)]
    eval_every: usize,
    /// Seed for initialisation, batches and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for matrix products (MATRIXMULTIPLY_THREADS; effective when
    /// ndarray's `matrixmultiply-threading` feature is on).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also write the JSON metric lines to this file.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Save the trained model (safetensors) to this file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Characters to sample after training.
    #[arg(long, default_value_t = 300)]
    sample: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.8)]
    temperature: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.threads == 0 {
        eprintln!("error: --threads must be at least 1");
        return ExitCode::FAILURE;
    }
    // SAFETY: nothing else runs yet (no thread has been started), so no other
    // thread can read the environment concurrently.
    unsafe { std::env::set_var("MATRIXMULTIPLY_THREADS", args.threads.to_string()) };
    let result = Corpus::from_file(&args.data).map_err(Into::into).and_then(|corpus| {
        let (i, h) = (corpus.vocab_size(), args.hidden);
        match args.cell {
            CellKind::Lstm => run::<Lstm<f32>>(&args, &corpus, LstmDims { i, h }),
            CellKind::Gru => run::<Gru<f32>>(&args, &corpus, GruDims { i, h }),
            CellKind::Rnn => run::<RnnTanh<f32>>(&args, &corpus, RnnTanhDims { i, h }),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Trains, evaluates, saves and samples with cell `C` (`dims` has input width V).
fn run<C: Cell<f32>>(args: &Args, corpus: &Corpus, dims: C::Dims) -> Result<(), Box<dyn Error>> {
    let v = corpus.vocab_size();
    let mut rng = rnn::seeded_rng(args.seed);
    let model = CharModel::<f32, C>::new(dims, args.layers, v, &mut rng)?;
    eprintln!(
        "{}: {} characters ({} train, {} validation), V = {v}; {} x{} H = {}, {} parameters; {} thread(s)",
        args.data.display(),
        corpus.len(),
        corpus.train().len(),
        corpus.val().len(),
        C::NAME,
        args.layers,
        args.hidden,
        model.num_scalars(),
        args.threads
    );
    let config = CharLmConfig {
        seq_len: args.seq_len,
        batch: args.batch,
        clip: (args.clip > 0.0).then_some(args.clip),
        ..CharLmConfig::default()
    };
    let adam = Adam::new(AdamConfig {
        lr: args.lr,
        ..AdamConfig::default()
    })?;
    let mut trainer = CharTrainer::new(model, corpus, config, adam, rng)?;
    let mut metrics = match &args.metrics {
        Some(p) => Some(File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?),
        None => None,
    };

    let bar = ProgressBar::new(args.steps as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")?.progress_chars("=> "),
    );
    let mut evaluate =
        |trainer: &CharTrainer<'_, f32, C, Adam<f32>>, train_loss: Option<f64>| -> Result<f64, Box<dyn Error>> {
            let val_loss = trainer.evaluate()?;
            // Written by hand to keep the key order; every number is finite.
            let line = format!(
                r#"{{"step":{},"val_loss":{},"train_loss":{},"elapsed_s":{},"chars_per_s":{}}}"#,
                trainer.steps(),
                val_loss,
                train_loss.map_or("null".to_string(), |l| l.to_string()),
                trainer.train_time().as_secs_f64(),
                trainer.chars_per_sec(),
            );
            bar.suspend(|| println!("{line}"));
            if let Some(f) = metrics.as_mut() {
                writeln!(f, "{line}")?;
            }
            Ok(val_loss)
        };

    let mut final_val = evaluate(&trainer, None)?;
    let (mut sum, mut count) = (0.0, 0usize);
    for _ in 0..args.steps {
        let s = trainer.step()?;
        sum += s.loss;
        count += 1;
        bar.set_position(s.step as u64);
        bar.set_message(format!("loss {:.4} | {:.0} chars/s", s.loss, trainer.chars_per_sec()));
        let due = args.eval_every > 0 && s.step % args.eval_every == 0;
        if due || s.step == args.steps {
            final_val = evaluate(&trainer, Some(sum / count as f64))?;
            (sum, count) = (0.0, 0);
        }
    }
    bar.finish_and_clear();
    eprintln!(
        "final validation loss {final_val:.4} nats/char ({:.4} bits/char); training wall time {:.1} s, {:.0} chars/s",
        final_val / std::f64::consts::LN_2,
        trainer.train_time().as_secs_f64(),
        trainer.chars_per_sec()
    );

    let model = trainer.into_model();
    if let Some(path) = &args.save {
        let vocab: String = corpus.vocab().iter().collect();
        let meta = BTreeMap::from([
            ("vocab".to_string(), serde_json::to_string(&vocab)?),
            ("seed".to_string(), args.seed.to_string()),
            ("steps".to_string(), args.steps.to_string()),
            ("val_loss".to_string(), final_val.to_string()),
        ]);
        model.save(path, &meta)?;
        eprintln!("saved {}", path.display());
    }
    if args.sample > 0 {
        let prime = corpus.encode("\n")?;
        let ids = model.sample(&prime, args.sample, args.temperature, &mut rnn::seeded_rng(args.seed))?;
        println!("\n{}", corpus.decode(&ids));
    }
    Ok(())
}
