//! A user-written cell: the minimal gated unit (MGU), declared with
//! `rnn::cell!` in `src/tasks/custom_cell.rs`, compiled at build time to
//! forward and backpropagation-through-time code, and trained on the
//! adding problem at 50 steps, beside a vanilla `tanh` RNN of the same size
//! on the same batches.
//!
//! It prints the declaration, the learning result (test MSE against the
//! 0.167 baseline, accuracy, the gradient reaching the first step) and the
//! start of the code the compiler generated (`Mgu::<F>::SOURCE`; all of it
//! with `--show-code`). `cargo run --example inspect -- lstm --plan` shows
//! the same for a shipped cell, with its dataflow graphs.
//!
//! ```text
//! cargo run --release --example custom_cell
//! cargo run --release --example custom_cell -- --show-code
//! cargo run --release --example custom_cell -- --len 100 --steps 3000 --no-compare --seed 1
//! ```
//!
//! Deterministic (same `--seed`, same output, to the bit) and
//! single-threaded; the logic is in `rnn_examples::tasks::custom_cell`.

use clap::Parser;
use rnn_examples::run_example;
use rnn_examples::tasks::custom_cell::{Config, run_with};
use std::process::ExitCode;

/// Train a cell declared with rnn::cell! and show the code it compiled to.
#[derive(Debug, Parser)]
#[command(name = "custom_cell", version)]
struct Args {
    /// Length of the adding-problem sequences.
    #[arg(long, default_value_t = Config::default().len)]
    len: usize,
    /// Hidden size.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Sequences per training step.
    #[arg(long, default_value_t = Config::default().batch)]
    batch: usize,
    /// Training steps.
    #[arg(long, default_value_t = Config::default().steps)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = Config::default().lr)]
    lr: f64,
    /// Clip gradients to this global norm (0: off).
    #[arg(long, default_value_t = Config::default().clip)]
    clip: f64,
    /// Test sequences.
    #[arg(long, default_value_t = Config::default().test_size)]
    test_size: usize,
    /// Do not train the vanilla RNN reference.
    #[arg(long)]
    no_compare: bool,
    /// Print all of the generated code.
    #[arg(long)]
    show_code: bool,
    /// Seed of the data and the initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not show the progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        len: args.len,
        hidden: args.hidden,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        test_size: args.test_size,
        compare: !args.no_compare,
        seed: args.seed,
    };
    let runs = if config.compare { 2 } else { 1 };
    run_example(
        runs * config.steps,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            if args.show_code {
                println!("{}", report.with_full_source());
            } else {
                println!("{report}");
            }
            // Times go to stderr: the report on stdout is the same for the same seed.
            let rnn = report
                .rnn
                .as_ref()
                .map_or(String::new(), |r| format!(", RnnTanh {:.1} s", r.seconds));
            eprintln!(
                "training: Mgu {:.1} s{rnn}; wall time {:.1} s",
                report.mgu.seconds,
                start.elapsed().as_secs_f64()
            );
            Ok(())
        },
    )
}
