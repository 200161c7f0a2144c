//! Balanced brackets over strings of different lengths: one answer per
//! sequence, from a bidirectional LSTM with dropout that reads each string
//! at its own last step, against the same model fed the padded batch
//! without the lengths.
//!
//! ```text
//! cargo run --release --example brackets
//! cargo run --release --example brackets -- --max-len 48 --steps 3000 --seed 1
//! ```
//!
//! Deterministic (same `--seed`, same output, to the bit) and
//! single-threaded; the logic is in `rnn_examples::tasks::brackets`.

use clap::Parser;
use rnn_examples::tasks::brackets::{Config, run_with};
use rnn_examples::{print_report, run_example};
use std::process::ExitCode;

/// Classify strings of brackets as balanced or not, with and without lengths.
#[derive(Debug, Parser)]
#[command(name = "brackets", version)]
struct Args {
    /// Hidden size of each direction.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Stacked layers.
    #[arg(long, default_value_t = Config::default().layers)]
    layers: usize,
    /// Embedding width.
    #[arg(long, default_value_t = Config::default().embed)]
    embed: usize,
    /// Dropout between the layers and before the head.
    #[arg(long, default_value_t = Config::default().dropout)]
    dropout: f64,
    /// Longest string (even); training batches are padded to it.
    #[arg(long, default_value_t = Config::default().max_len)]
    max_len: usize,
    /// Steps the test batch is padded to (at least --max-len).
    #[arg(long, default_value_t = Config::default().test_pad)]
    test_pad: usize,
    /// Strings per training step.
    #[arg(long, default_value_t = Config::default().batch)]
    batch: usize,
    /// Training steps (per model).
    #[arg(long, default_value_t = Config::default().steps)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = Config::default().lr)]
    lr: f64,
    /// Clip gradients to this global norm (0: off).
    #[arg(long, default_value_t = Config::default().clip)]
    clip: f64,
    /// Test strings.
    #[arg(long, default_value_t = Config::default().test_size)]
    test_size: usize,
    /// Seed of the data, the initialisation and the dropout masks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not show the progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        hidden: args.hidden,
        layers: args.layers,
        embed: args.embed,
        dropout: args.dropout,
        max_len: args.max_len,
        test_pad: args.test_pad,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        test_size: args.test_size,
        seed: args.seed,
    };
    run_example(
        2 * config.steps,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            for s in &report.scores {
                eprintln!("training time, {}: {:.1} s", s.name, s.train_seconds);
            }
            print_report(&report, report.train_seconds(), start);
            Ok(())
        },
    )
}
