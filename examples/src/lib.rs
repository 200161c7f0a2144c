//! The programs around the `rnn` library, and what they share: the
//! character language model of CHARLM (`char_lm`), five learning tasks, the
//! WORKLOAD benchmark (`bench`), the PyTorch parity runner
//! (`torch_parity`) and the code inspector (`inspect`).
//!
//! This package is not published: it is where application code lives, so
//! that the library (`rnn`) carries none of it (no progress bars, plots,
//! corpora or benchmark generators in a user's build). Run a program from
//! the repository root with `cargo run --release --example NAME`.
//!
//! - [`charlm`]: corpus, vocabulary, split and windows of CHARLM v1;
//!   [`charlm_checkpoint`]: its checkpoints' metadata, and a model rebuilt
//!   from one alone;
//! - [`cli`]: range checks of command-line values;
//! - [`tasks`]: the learning tasks behind `sentence_completion`,
//!   `running_sum`, `vanishing_gradients`, `custom_cell` and `sine`;
//! - [`workload`]: the WORKLOAD v1 generator, configurations and checksums;
//! - [`parity`]: PyTorch fixtures run through [`rnn::Layers`] and compared;
//! - [`progress`], [`plot`]: a progress bar and SVG loss curves;
//! - [`outputs`]: checks that a program's output files harm nothing.

use std::fmt;
use std::process::ExitCode;
use std::time::Instant;

pub mod charlm;
pub mod charlm_checkpoint;
pub mod cli;
pub mod outputs;
pub mod parity;
pub mod plot;
pub mod progress;
pub mod ranks;
pub mod tasks;
pub mod workload;

use progress::ProgressBar;
use rnn::RnnError;
use tasks::Observer;

/// The body of every example's `main`: runs a task (`run`, given the
/// observer of a [`ProgressBar`] over `total_steps`, hidden when
/// `hide_progress`), removes the bar, then hands the report and the start
/// time to `show`, which prints it (the report on standard output, times on
/// standard error). An error from either is printed on standard error as
/// `error: ...` and gives [`ExitCode::FAILURE`].
pub fn run_example<R>(
    total_steps: usize,
    hide_progress: bool,
    run: impl FnOnce(Observer<'_>) -> Result<R, RnnError>,
    show: impl FnOnce(R, Instant) -> Result<(), RnnError>,
) -> ExitCode {
    let mut bar = ProgressBar::new(total_steps, hide_progress);
    let start = Instant::now();
    let result = run(&mut bar.observer());
    bar.finish();
    match result.and_then(|report| show(report, start)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `report` on standard output and, on standard error (so that
/// standard output is the same for the same seed), its training time and
/// the wall time since `start`: the usual `show` of [`run_example`].
pub fn print_report(report: &impl fmt::Display, train_seconds: f64, start: Instant) {
    println!("{report}");
    eprintln!(
        "training {:.1} s, wall time {:.1} s",
        train_seconds,
        start.elapsed().as_secs_f64()
    );
}
