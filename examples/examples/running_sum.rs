//! Binary addition bit by bit: each answer depends on the previous one
//! through the carry, which the recurrent state has to hold.
//!
//! The model reads two numbers least-significant bit first, one pair of
//! bits per step, and outputs the sum's bit at each step (softmax over
//! {0, 1}, cross-entropy), plus one final step for the last carry. It is
//! trained on numbers of up to 8 bits and tested on 8-, 16- and 32-bit
//! numbers, sequences up to four times longer than any it saw; the report
//! gives the accuracy per bit and per number, and a few worked additions.
//!
//! ```text
//! cargo run --release --example running_sum
//! cargo run --release --example running_sum -- --cell lstm --hidden 24 --test-bits 16,32,48 --seed 2
//! ```
//!
//! Deterministic (same `--seed`, same output, to the bit) and
//! single-threaded; the logic is in `rnn_examples::tasks::running_sum`.

use clap::Parser;
use rnn_examples::tasks::CellKind;
use rnn_examples::tasks::running_sum::{Config, run_with};
use rnn_examples::{print_report, run_example};
use std::process::ExitCode;

/// Learn binary addition on 8-bit numbers, test on 16 and 32 bits.
#[derive(Debug, Parser)]
#[command(name = "running_sum", version)]
struct Args {
    /// Recurrent cell (rnn, gru, lstm).
    #[arg(long, default_value_t = Config::default().cell)]
    cell: CellKind,
    /// Hidden size.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Bits of the training numbers.
    #[arg(long, default_value_t = Config::default().train_bits)]
    train_bits: u32,
    /// Bits of the test numbers, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = Config::default().test_bits)]
    test_bits: Vec<u32>,
    /// Additions per training step.
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
    /// Test additions per width.
    #[arg(long, default_value_t = Config::default().test_size)]
    test_size: usize,
    /// Worked examples to print per width.
    #[arg(long, default_value_t = Config::default().show)]
    show: usize,
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
        cell: args.cell,
        hidden: args.hidden,
        train_bits: args.train_bits,
        test_bits: args.test_bits,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        test_size: args.test_size,
        show: args.show,
        seed: args.seed,
    };
    run_example(
        config.steps,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            print_report(&report, report.train_seconds, start);
            Ok(())
        },
    )
}
