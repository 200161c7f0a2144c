//! A training progress bar: step, loss, global gradient norm and speed, on
//! standard error, through `indicatif`.
//!
//! [`TrainProgress`] is hidden when standard error is not a terminal (a
//! log file, CI) or when the caller asks, so output meant for files stays
//! clean; [`TrainProgress::println`] and [`TrainProgress::suspend`] print
//! around a visible bar without tearing it.
//!
//! ```
//! use rnn_examples::progress::TrainProgress;
//! let bar = TrainProgress::new(100, "chars", true);
//! assert!(bar.is_hidden());
//! bar.update(1, 4.17, 0.93, 17_960.0);
//! assert_eq!(bar.message(), "loss 4.1700 | grad norm 0.930 | 17960 chars/s");
//! bar.finish();
//! ```

use crate::tasks::StepInfo;
use indicatif::{ProgressBar as IndicatifBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Layout of the bar: elapsed time, bar, step of total, ETA, then the message.
const TEMPLATE: &str = "{elapsed_precise} [{bar:30}] {pos}/{len} (eta {eta}) {msg}";

/// A progress bar over training steps.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    bar: IndicatifBar,
    unit: String,
}

impl TrainProgress {
    /// A bar for `total_steps` steps whose speed is counted in `unit` per
    /// second (`"chars"`, `"items"`, ...), drawn on standard error unless
    /// `hide` is true or standard error is not a terminal.
    pub fn new(total_steps: u64, unit: &str, hide: bool) -> Self {
        let target = if hide || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = IndicatifBar::with_draw_target(Some(total_steps), target).with_style(style);
        TrainProgress {
            bar,
            unit: unit.to_string(),
        }
    }

    /// Whether nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Moves to `step` and shows the step's loss, the global gradient norm
    /// (before clipping) and the speed in units per second.
    pub fn update(&self, step: u64, loss: f64, grad_norm: f64, per_sec: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!(
            "loss {loss:.4} | grad norm {grad_norm:.3} | {per_sec:.0} {}/s",
            self.unit
        ));
    }

    /// The message shown after the bar.
    pub fn message(&self) -> String {
        self.bar.message()
    }

    /// The current step.
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// Prints `line` above the bar (nothing if the bar is hidden; use
    /// [`TrainProgress::suspend`] for output that must always appear).
    pub fn println(&self, line: impl AsRef<str>) {
        self.bar.println(line);
    }

    /// Runs `f` with the bar cleared, so it can print, then redraws it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The underlying `indicatif` bar, for anything not wrapped here.
    pub fn bar(&self) -> &IndicatifBar {
        &self.bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bar_tracks_state() {
        let p = TrainProgress::new(10, "items", true);
        assert!(p.is_hidden());
        p.update(3, 1.0, f64::NAN, 12.4);
        assert_eq!(p.position(), 3);
        assert_eq!(p.message(), "loss 1.0000 | grad norm NaN | 12 items/s");
        assert_eq!(p.suspend(|| 7), 7);
        p.finish();
    }
}

/// A progress bar over every training step of a task (all its runs), for
/// the examples: pass [`ProgressBar::observer`] to a task's `run_with`.
///
/// The bar is drawn on standard error when it is a terminal and `hide` is
/// false ([`TrainProgress`]); it shows the step's loss, the gradient norm
/// and sequences per second, and prints a line when a new run starts.
#[derive(Debug)]
pub struct ProgressBar {
    bar: TrainProgress,
    /// Steps of finished runs, and the run being trained.
    offset: u64,
    current: String,
    current_steps: u64,
    sequences: usize,
    start: Instant,
}

impl ProgressBar {
    /// A bar for `total_steps` steps over all runs.
    pub fn new(total_steps: usize, hide: bool) -> Self {
        ProgressBar {
            bar: TrainProgress::new(total_steps as u64, "seqs", hide),
            offset: 0,
            current: String::new(),
            current_steps: 0,
            sequences: 0,
            start: Instant::now(),
        }
    }

    /// Shows one step.
    pub fn update(&mut self, info: &StepInfo<'_>) {
        if info.run != self.current {
            self.offset += self.current_steps;
            self.current = info.run.to_string();
            self.current_steps = info.steps as u64;
            if !info.run.is_empty() {
                self.bar.println(format!("training {}", info.run));
            }
        }
        self.sequences += info.sequences;
        let rate = self.sequences as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        self.bar
            .update(self.offset + info.step as u64, info.loss, info.grad_norm, rate);
    }

    /// A callback for a task's `run_with`.
    pub fn observer(&mut self) -> impl FnMut(&StepInfo<'_>) + '_ {
        move |info| self.update(info)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish();
    }
}
