//! Vanishing gradients on the adding problem: a vanilla `tanh` RNN, a GRU
//! and an LSTM trained at lengths 10, 50, 100 and 200.
//!
//! Each sequence carries a value from `U(0, 1)` and a marker per step; the
//! answer, read at the last step, is the sum of the two marked values.
//! Always answering 1 scores MSE 0.167, so a row below that has learned to
//! find and remember the marked values. The table also shows the gradient
//! norm that reaches the first step (`step_grad_norms[0]`) at
//! initialisation and after training: it vanishes with length for the
//! vanilla RNN, while the gates keep it alive.
//!
//! ```text
//! cargo run --release --example vanishing_gradients
//! cargo run --release --example vanishing_gradients -- --lengths 10,50 --steps 300 --seed 3
//! cargo run --release --example vanishing_gradients -- --cells lstm,gru --lengths 400
//! ```
//!
//! The default run takes a few minutes; it is deterministic (same `--seed`,
//! same table, to the bit) and single-threaded. The logic is in
//! `rnn_examples::tasks::vanishing_gradients`.

use clap::Parser;
use rnn_examples::run_example;
use rnn_examples::tasks::CellKind;
use rnn_examples::tasks::vanishing_gradients::{Config, run_with};
use std::process::ExitCode;

/// The adding problem at several lengths, vanilla RNN vs GRU vs LSTM.
#[derive(Debug, Parser)]
#[command(name = "vanishing_gradients", version)]
struct Args {
    /// Sequence lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = Config::default().lengths)]
    lengths: Vec<usize>,
    /// Cells to compare (rnn, gru, lstm), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = Config::default().cells)]
    cells: Vec<CellKind>,
    /// Hidden size.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Sequences per training step.
    #[arg(long, default_value_t = Config::default().batch)]
    batch: usize,
    /// Training steps per (cell, length).
    #[arg(long, default_value_t = Config::default().steps)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = Config::default().lr)]
    lr: f64,
    /// Clip gradients to this global norm (0: off).
    #[arg(long, default_value_t = Config::default().clip)]
    clip: f64,
    /// Test sequences per length.
    #[arg(long, default_value_t = Config::default().test_size)]
    test_size: usize,
    /// Initial LSTM forget-gate bias (--no-forget-bias: PyTorch's uniform draw).
    #[arg(long, default_value_t = 3.0)]
    forget_bias: f64,
    /// Keep PyTorch's initial LSTM biases.
    #[arg(long)]
    no_forget_bias: bool,
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
        lengths: args.lengths,
        cells: args.cells,
        hidden: args.hidden,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        test_size: args.test_size,
        lstm_forget_bias: (!args.no_forget_bias).then_some(args.forget_bias),
        seed: args.seed,
        ..Config::default()
    };
    let total = config.lengths.len() * config.cells.len() * config.steps;
    run_example(
        total,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            println!("{report}");
            // Times go to stderr: the report on stdout is the same for the same seed.
            let times: Vec<String> = report
                .rows
                .iter()
                .map(|r| format!("{} T={} {:.1} s", r.cell, r.len, r.run.seconds))
                .collect();
            eprintln!("training: {}", times.join(", "));
            eprintln!("wall time {:.1} s", start.elapsed().as_secs_f64());
            Ok(())
        },
    )
}
