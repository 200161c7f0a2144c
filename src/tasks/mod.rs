//! Five small, real learning tasks: the logic behind the example programs
//! `sentence_completion`, `running_sum`, `vanishing_gradients`,
//! `custom_cell` and `sine`.
//!
//! Each task is one module with the same shape: a `Config` whose `Default`
//! is the example's run and whose `quick()` is a seconds-long version for
//! tests, and `run(&config) -> Result<Report, RnnError>`, which generates
//! the data, builds a [`SeqModel`](crate::runtime::train::SeqModel),
//! trains it, evaluates it and returns a report (printed with `Display`).
//! `run_with` takes a callback that sees every training step, which the
//! examples turn into a progress bar ([`ProgressBar`]).
//!
//! Everything is deterministic and single-threaded: the data, the
//! initialisation and any sampling come from generators seeded with
//! `config.seed`, so the same configuration gives the same report bit for
//! bit (wall times are kept in the reports' fields but not printed, so the
//! printed report is the same too).
//!
//! # Example
//!
//! ```
//! use rnn::tasks::running_sum;
//! let report = running_sum::run(&running_sum::Config::quick())?;
//! println!("{report}");
//! assert!(report.final_loss < 0.5 * report.initial_loss);
//! # Ok::<(), rnn::RnnError>(())
//! ```

pub mod custom_cell;
pub mod running_sum;
pub mod sentence_completion;
pub mod sine;
pub mod vanishing_gradients;

use crate::RnnError;
use crate::progress::TrainProgress;
use crate::runtime::train::{Adam, AdamConfig};
use std::fmt;
use std::str::FromStr;
use std::time::Instant;

/// One training step, as a task reports it to its observer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo<'a> {
    /// Which training run (a task may train several models).
    pub run: &'a str,
    /// 1-based step within the run.
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// The step's mean training loss.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Sequences processed by the step.
    pub sequences: usize,
}

/// What a task calls after every training step.
pub type Observer<'a> = &'a mut dyn FnMut(&StepInfo<'_>);

/// Which shipped recurrent cell a task trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Vanilla `tanh` RNN ([`RnnTanh`](crate::cells::RnnTanh)).
    Rnn,
    /// Gated recurrent unit ([`Gru`](crate::cells::Gru)).
    Gru,
    /// Long short-term memory ([`Lstm`](crate::cells::Lstm)).
    Lstm,
}

impl CellKind {
    /// All three, vanilla first.
    pub const ALL: [CellKind; 3] = [CellKind::Rnn, CellKind::Gru, CellKind::Lstm];

    /// `rnn`, `gru` or `lstm`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CellKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rnn" | "rnn_tanh" | "tanh" => Ok(CellKind::Rnn),
            "gru" => Ok(CellKind::Gru),
            "lstm" => Ok(CellKind::Lstm),
            other => Err(format!("unknown cell `{other}`: expected rnn, gru or lstm")),
        }
    }
}

/// Runs `$body` with the type alias `$C` bound to the `f32` cell of
/// `$kind` and `$dims` to its sizes `(input 0, hidden $h)`; the input
/// width is filled in by the model's encoding.
macro_rules! with_cell {
    ($kind:expr, $h:expr, |$C:ident, $dims:ident| $body:expr) => {
        match $kind {
            $crate::tasks::CellKind::Rnn => {
                type $C = $crate::cells::RnnTanh<f32>;
                let $dims = $crate::cells::RnnTanhDims { i: 1, h: $h };
                $body
            }
            $crate::tasks::CellKind::Gru => {
                type $C = $crate::cells::Gru<f32>;
                let $dims = $crate::cells::GruDims { i: 1, h: $h };
                $body
            }
            $crate::tasks::CellKind::Lstm => {
                type $C = $crate::cells::Lstm<f32>;
                let $dims = $crate::cells::LstmDims { i: 1, h: $h };
                $body
            }
        }
    };
}
pub(crate) use with_cell;

/// Adam with learning rate `lr`, PyTorch's other defaults.
pub(crate) fn adam(lr: f64) -> Result<Adam<f32>, RnnError> {
    Adam::new(AdamConfig {
        lr,
        ..AdamConfig::default()
    })
}

/// `Some(clip)` for a positive clip norm, `None` for 0 (no clipping).
pub(crate) fn clip_norm(clip: f64) -> Option<f64> {
    (clip > 0.0).then_some(clip)
}

/// Checks that a size setting is at least 1.
pub(crate) fn require_positive(name: &str, value: usize) -> Result<(), RnnError> {
    if value == 0 {
        return Err(RnnError::Invalid(format!("{name} must be at least 1")));
    }
    Ok(())
}

/// A seeded generator for one purpose of a run: the same `seed` gives
/// independent streams for different `purpose`s (initialisation, training
/// data, test data, sampling).
pub(crate) fn rng_for(seed: u64, purpose: u64) -> rand::rngs::StdRng {
    // SplitMix64's increment spreads the purposes apart.
    crate::seeded_rng(seed.wrapping_add(purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
}

/// The loss at the first step and the mean loss over the last 10% of the
/// steps (at least one): where training started and where it ended,
/// smoothed over batch noise. NaN for an empty curve.
pub(crate) fn loss_ends(losses: &[f64]) -> (f64, f64) {
    let n = (losses.len() / 10).max(1).min(losses.len());
    let tail = &losses[losses.len() - n..];
    let last = if tail.is_empty() {
        f64::NAN
    } else {
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    (losses.first().copied().unwrap_or(f64::NAN), last)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_kinds_parse_and_print() {
        for k in CellKind::ALL {
            assert_eq!(k.name().parse::<CellKind>(), Ok(k));
        }
        assert!("transformer".parse::<CellKind>().is_err());
    }

    #[test]
    fn loss_ends_take_first_and_tail_mean() {
        let curve: Vec<f64> = (0..20).map(|k| 20.0 - k as f64).collect();
        assert_eq!(loss_ends(&curve), (20.0, 1.5));
        assert_eq!(loss_ends(&[5.0]), (5.0, 5.0));
        assert!(loss_ends(&[]).0.is_nan());
    }
}
