//! Five small, real learning tasks: the logic behind the example programs
//! `sentence_completion`, `running_sum`, `vanishing_gradients`,
//! `custom_cell` and `sine`.
//!
//! Each task is one module with the same shape: a `Config` whose `Default`
//! is the example's run and whose `quick()` is a seconds-long version for
//! tests, and `run(&config) -> Result<Report, RnnError>`, which generates
//! the data, builds a [`SeqModel`],
//! trains it, evaluates it and returns a report (printed with `Display`).
//! `run_with` takes a callback that sees every training step, which the
//! examples turn into a progress bar ([`ProgressBar`](crate::progress::ProgressBar)).
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
//! use rnn_examples::tasks::running_sum;
//! let report = running_sum::run(&running_sum::Config::quick())?;
//! println!("{report}");
//! assert!(report.final_loss < 0.5 * report.initial_loss);
//! # Ok::<(), rnn::RnnError>(())
//! ```

pub mod brackets;
pub mod custom_cell;
pub mod running_sum;
pub mod sentence_completion;
pub mod sine;
pub mod vanishing_gradients;

use rnn::runtime::model::SeqModel;
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::{Cell, RnnError};
use std::fmt;
use std::str::FromStr;

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
    /// Vanilla `tanh` RNN ([`RnnTanh`](rnn::cells::RnnTanh)).
    Rnn,
    /// Gated recurrent unit ([`Gru`](rnn::cells::Gru)).
    Gru,
    /// Long short-term memory ([`Lstm`](rnn::cells::Lstm)).
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
                type $C = rnn::cells::RnnTanh<f32>;
                let $dims = rnn::cells::RnnTanhDims { i: 1, h: $h };
                $body
            }
            $crate::tasks::CellKind::Gru => {
                type $C = rnn::cells::Gru<f32>;
                let $dims = rnn::cells::GruDims { i: 1, h: $h };
                $body
            }
            $crate::tasks::CellKind::Lstm => {
                type $C = rnn::cells::Lstm<f32>;
                let $dims = rnn::cells::LstmDims { i: 1, h: $h };
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

/// Checks that every named size setting is at least 1 (the first that is
/// not is the error).
pub(crate) fn require_positive(sizes: &[(&str, usize)]) -> Result<(), RnnError> {
    match sizes.iter().find(|&&(_, value)| value == 0) {
        Some((name, _)) => Err(RnnError::Invalid(format!("{name} must be at least 1"))),
        None => Ok(()),
    }
}

/// How a task trains: Adam steps on batches of `batch` sequences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Training {
    /// Training steps.
    pub steps: usize,
    /// Sequences per step (reported to the observer).
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
}

impl Training {
    pub(crate) fn new(steps: usize, batch: usize, lr: f64, clip: f64) -> Self {
        Training { steps, batch, lr, clip }
    }
}

/// The training loop every task shares: `training.steps` Adam steps on
/// `model`, each computing the loss and the gradients with
/// `loss_and_grad(step, model, grads)` (1-based `step`), applying them with
/// clipping and reporting the step to `observer` under the name `run`.
/// Returns the loss of every step.
pub(crate) fn train_steps<C: Cell<f32>>(
    model: &mut SeqModel<f32, C>,
    training: Training,
    run: &str,
    observer: Observer<'_>,
    mut loss_and_grad: impl FnMut(usize, &SeqModel<f32, C>, &mut SeqModel<f32, C>) -> Result<f64, RnnError>,
) -> Result<Vec<f64>, RnnError> {
    let mut opt = adam(training.lr)?;
    let mut grads = model.zeros_like();
    let mut losses = Vec::with_capacity(training.steps);
    for step in 1..=training.steps {
        let loss = loss_and_grad(step, model, &mut grads)?;
        let grad_norm = model.apply_gradients(&mut grads, &mut opt, clip_norm(training.clip))?;
        losses.push(loss);
        observer(&StepInfo {
            run,
            step,
            steps: training.steps,
            loss,
            grad_norm,
            sequences: training.batch,
        });
    }
    Ok(losses)
}

/// A seeded generator for one purpose of a run: the same `seed` gives
/// independent streams for different `purpose`s (initialisation, training
/// data, test data, sampling).
pub(crate) fn rng_for(seed: u64, purpose: u64) -> rand::rngs::StdRng {
    // SplitMix64's increment spreads the purposes apart.
    rnn::seeded_rng(seed.wrapping_add(purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
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

    #[test]
    fn require_positive_names_the_first_zero() {
        assert!(require_positive(&[("a", 1), ("b", 2)]).is_ok());
        let err = require_positive(&[("a", 1), ("b", 0), ("c", 0)]).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: b must be at least 1");
    }
}
