//! Noisy sine waves: next-value regression trained with teacher forcing,
//! then free-running generation after a primed prefix.
//!
//! Each wave has a random period (10 to 40 steps) and phase and is
//! observed with Gaussian noise. The model (LSTM, dense input of width 1,
//! identity head, MSE) learns to predict the next value with the true
//! previous value as input (teacher forcing; `--scheduled END` switches to
//! scheduled sampling, the teacher probability falling from 1 to END). The
//! test primes each wave with 40 observed steps and predicts the next 80,
//! one step ahead from the truth (teacher-forced) and from its own outputs
//! (free-running); it prints both errors against the clean wave and draws
//! one wave with both predictions to an SVG.
//!
//! ```text
//! cargo run --release --example sine
//! cargo run --release --example sine -- --scheduled 0.5 --plot runs/sine.svg
//! cargo run --release --example sine -- --cell gru --noise 0.2 --horizon 200 --seed 4
//! ```
//!
//! Deterministic (same `--seed`, same output and plot, to the bit) and
//! single-threaded; the logic is in `rnn_examples::tasks::sine`.

use clap::Parser;
use rnn_examples::outputs::{Output, OutputKind, check_outputs};
use rnn_examples::tasks::CellKind;
use rnn_examples::tasks::sine::{Config, run_with, write_plot};
use rnn_examples::{print_report, run_example};
use std::path::PathBuf;
use std::process::ExitCode;

/// Predict noisy sine waves; compare teacher-forced and free-running predictions.
#[derive(Debug, Parser)]
#[command(name = "sine", version)]
struct Args {
    /// Recurrent cell (rnn, gru, lstm).
    #[arg(long, default_value_t = Config::default().cell)]
    cell: CellKind,
    /// Hidden size.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Steps per training sequence.
    #[arg(long, default_value_t = Config::default().seq_len)]
    seq_len: usize,
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
    /// Standard deviation of the observation noise.
    #[arg(long, default_value_t = Config::default().noise)]
    noise: f64,
    /// Shortest period, in steps.
    #[arg(long, default_value_t = Config::default().min_period)]
    min_period: f64,
    /// Longest period, in steps.
    #[arg(long, default_value_t = Config::default().max_period)]
    max_period: f64,
    /// Scheduled sampling: the teacher probability falls linearly from 1 to
    /// this value over training (default: teacher forcing throughout).
    #[arg(long, value_name = "END")]
    scheduled: Option<f64>,
    /// Observed steps that prime each test wave.
    #[arg(long, default_value_t = Config::default().prefix)]
    prefix: usize,
    /// Steps predicted after the prefix.
    #[arg(long, default_value_t = Config::default().horizon)]
    horizon: usize,
    /// Test waves.
    #[arg(long, default_value_t = Config::default().test_size)]
    test_size: usize,
    /// Seed of the data, the initialisation and the schedule's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to draw the true wave and both predictions (SVG).
    #[arg(long, default_value = "sine.svg")]
    plot: PathBuf,
    /// Overwrite --plot even if the file there is not an SVG drawing.
    #[arg(long)]
    force: bool,
    /// Do not draw the plot.
    #[arg(long)]
    no_plot: bool,
    /// Do not show the progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = Config {
        cell: args.cell,
        hidden: args.hidden,
        seq_len: args.seq_len,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        noise: args.noise,
        min_period: args.min_period,
        max_period: args.max_period,
        schedule: None,
        prefix: args.prefix,
        horizon: args.horizon,
        test_size: args.test_size,
        seed: args.seed,
    };
    if let Some(end) = args.scheduled {
        config = config.with_scheduled_sampling(end);
    }
    // The plot's path is checked before training, not found bad after it.
    if !args.no_plot {
        let plot = [Output::new("--plot", &args.plot, OutputKind::Plot)];
        if let Err(e) = check_outputs(&[], &plot, args.force) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    run_example(
        config.steps,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            print_report(&report, report.train_seconds, start);
            if !args.no_plot {
                write_plot(&report, &args.plot)?;
                println!("plot: {}", args.plot.display());
            }
            Ok(())
        },
    )
}
