//! A cell written by the user with [`cell!`](rnn::cell): the minimal
//! gated unit (Zhou et al. 2016), declared below in eleven lines, compiled
//! at build time to forward and backpropagation-through-time code, and
//! trained like a shipped cell.
//!
//! ```text
//! f  = sigmoid(W_f x + U_f h + b_f)            one gate: forget and update at once
//! h~ = tanh(W_h x + U_h (f * h) + b_h)         candidate from the gated state
//! h' = (1 - f) * h + f * h~                    keep or overwrite, per unit
//! ```
//!
//! The task is the adding problem of [`super::vanishing_gradients`] at
//! [`Config::len`] steps (50 by default): the sum of two marked values,
//! read at the last step; answering the mean scores MSE 0.167. A vanilla
//! `tanh` RNN of the same size trained on the same batches is the
//! reference ([`Config::compare`]): at 50 steps its gradient has vanished
//! and it stays at the baseline, while the single gate of the MGU is
//! enough to learn.
//!
//! The report includes the code the compiler emitted for the cell
//! ([`Mgu::SOURCE`]); `cargo run --example inspect` shows the same for the
//! shipped cells, with the dataflow graphs.

use super::vanishing_gradients::{
    AddingRun, AddingTraining, TOLERANCE, adding_problem, require_adding_len, train_adding,
};
use super::{Observer, Training, require_positive, rng_for};
use rnn::RnnError;
use rnn::cells::{RnnTanh, RnnTanhDims};
use rnn::runtime::model::{SeqModel, SeqModelConfig};
use std::fmt;

rnn::cell! {
    /// Minimal gated unit (Zhou et al. 2016): one gate decides both what to
    /// forget and what to write.
    pub cell Mgu(I, H) {
        input x: [I];
        state h: [H];
        param w_f: [H, I];
        param u_f: [H, H];
        param b_f: [H];
        param w_h: [H, I];
        param u_h: [H, H];
        param b_h: [H];

        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let cand = tanh(w_h @ x + u_h @ (f * h) + b_h);
        h = (1.0 - f) * h + f * cand;
    }
}

/// The cell's declaration as written above, for the report.
pub const DECLARATION: &str = "\
rnn::cell! {
    pub cell Mgu(I, H) {
        input x: [I];
        state h: [H];
        param w_f: [H, I];
        param u_f: [H, H];
        param b_f: [H];
        param w_h: [H, I];
        param u_h: [H, H];
        param b_h: [H];

        let f = sigmoid(w_f @ x + u_f @ h + b_f);
        let cand = tanh(w_h @ x + u_h @ (f * h) + b_h);
        h = (1.0 - f) * h + f * cand;
    }
}";

/// Settings of a run; `Default` is the example's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Length of the adding-problem sequences.
    pub len: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Sequences per training step.
    pub batch: usize,
    /// Training steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
    /// Test sequences.
    pub test_size: usize,
    /// Also train a vanilla `tanh` RNN on the same batches.
    pub compare: bool,
    /// Seed of the data and the initialisation.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            len: 50,
            hidden: 32,
            batch: 32,
            steps: 1500,
            lr: 1e-2,
            clip: 1.0,
            test_size: 512,
            compare: true,
            seed: 0,
        }
    }
}

impl Config {
    /// A seconds-long version for tests.
    pub fn quick() -> Self {
        Config {
            len: 20,
            hidden: 16,
            steps: 400,
            test_size: 256,
            ..Config::default()
        }
    }
}

/// What a run learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The settings it ran with.
    pub config: Config,
    /// The MGU's run.
    pub mgu: AddingRun,
    /// The vanilla RNN's run, if compared.
    pub rnn: Option<AddingRun>,
    /// Test MSE of always answering 1 (the mean).
    pub baseline: f64,
    /// The MGU's parameters: name and shape.
    pub params: Vec<(String, Vec<usize>)>,
    /// The code the compiler emitted for the cell ([`Mgu::SOURCE`]).
    pub source: &'static str,
}

impl Report {
    /// Lines of emitted code.
    pub fn source_lines(&self) -> usize {
        self.source.lines().count()
    }

    /// The emitted code's top-level and trait functions, with their 1-based
    /// line numbers (helpers nested inside them are left out).
    pub fn functions(&self) -> Vec<(usize, &'static str)> {
        self.source
            .lines()
            .enumerate()
            .filter_map(|(k, line)| {
                let code = line.trim_start();
                let indent = line.len() - code.len();
                let rest = code.strip_prefix("pub fn ").or_else(|| code.strip_prefix("fn "))?;
                let name = &rest[..rest.find(['(', '<']).unwrap_or(rest.len())];
                (indent <= 8).then_some((k + 1, name))
            })
            .collect()
    }
}

/// Trains the MGU (and the reference) on the adding problem.
pub fn run(config: &Config) -> Result<Report, RnnError> {
    run_with(config, &mut |_| {})
}

/// [`run`], calling `observer` after every training step.
pub fn run_with(config: &Config, observer: Observer<'_>) -> Result<Report, RnnError> {
    require_positive(&[
        ("hidden", config.hidden),
        ("batch", config.batch),
        ("test_size", config.test_size),
    ])?;
    require_adding_len(config.len)?;
    let test = adding_problem(config.len, config.test_size, &mut rng_for(config.seed, 1));
    let probe = adding_problem(config.len, 64, &mut rng_for(config.seed, 2));
    let baseline = test.baseline();
    let training = AddingTraining {
        len: config.len,
        training: Training::new(config.steps, config.batch, config.lr, config.clip),
    };
    let model_config = SeqModelConfig::regression(2, 1);
    let mut model = SeqModel::<f32, Mgu<f32>>::new(
        MguDims { i: 2, h: config.hidden },
        model_config,
        &mut rng_for(config.seed, 3),
    )?;
    let params = model
        .named_params()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec()))
        .collect();
    let name = format!("Mgu H={} T={}", config.hidden, config.len);
    let mut data = rng_for(config.seed, 4);
    let mgu = train_adding(&mut model, training, &mut data, &test, &probe, &name, &mut *observer)?;
    let rnn = if config.compare {
        let mut model = SeqModel::<f32, RnnTanh<f32>>::new(
            RnnTanhDims { i: 2, h: config.hidden },
            model_config,
            &mut rng_for(config.seed, 3),
        )?;
        let name = format!("RnnTanh H={} T={}", config.hidden, config.len);
        let mut data = rng_for(config.seed, 4);
        Some(train_adding(
            &mut model, training, &mut data, &test, &probe, &name, observer,
        )?)
    } else {
        None
    };
    Ok(Report {
        config: config.clone(),
        mgu,
        rnn,
        baseline,
        params,
        source: Mgu::<f32>::SOURCE,
    })
}

/// Lines of emitted code the report shows.
pub const EXCERPT_LINES: usize = 30;

impl Report {
    /// The report with the whole emitted source (`Display` shows the first
    /// [`EXCERPT_LINES`] lines).
    pub fn with_full_source(&self) -> impl fmt::Display + '_ {
        FullSource(self)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, full: bool) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "a user-written cell, declared with rnn::cell! in src/tasks/custom_cell.rs:"
        )?;
        writeln!(f)?;
        writeln!(f, "{DECLARATION}")?;
        writeln!(f)?;
        let shapes: Vec<String> = self.params.iter().map(|(n, s)| format!("{n} {s:?}")).collect();
        writeln!(
            f,
            "model parameters ({}): {}",
            self.params
                .iter()
                .map(|(_, s)| s.iter().product::<usize>())
                .sum::<usize>(),
            shapes.join(", ")
        )?;
        writeln!(
            f,
            "task: the adding problem at T = {} (the sum of the two marked values, read at the last step); hidden {}, \
             {} Adam steps of {} sequences (lr {}, clip {}), seed {}",
            c.len, c.hidden, c.steps, c.batch, c.lr, c.clip, c.seed
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>11}  {:>11}",
            "cell", "loss", "loss", "test MSE", "accuracy", "|dL/dx0|", "|dL/dx0|"
        )?;
        writeln!(
            f,
            "{:<8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>11}  {:>11}",
            "", "step 1", "last 10%", "", "", "at init", "trained"
        )?;
        let runs = std::iter::once(("Mgu", &self.mgu)).chain(self.rnn.as_ref().map(|r| ("RnnTanh", r)));
        for (name, r) in runs {
            let (first, last) = r.loss_ends();
            writeln!(
                f,
                "{name:<8}  {first:>9.4}  {last:>9.4}  {:>9.4}  {:>8.1}%  {:>11.2e}  {:>11.2e}",
                r.score.mse,
                100.0 * r.score.accuracy,
                r.probe_init.first,
                r.probe_trained.first
            )?;
        }
        writeln!(
            f,
            "baseline: always answering 1 scores MSE {:.4}; accuracy: |error| < {TOLERANCE}; |dL/dx0|: gradient \
             reaching the first step",
            self.baseline
        )?;
        writeln!(f)?;
        let lines: Vec<&str> = self.source.lines().collect();
        if full {
            writeln!(
                f,
                "the code rnn::cell! generated for Mgu ({} lines, Mgu::<F>::SOURCE):",
                lines.len()
            )?;
            writeln!(f)?;
            write!(f, "{}", self.source)
        } else {
            writeln!(
                f,
                "the code rnn::cell! generated for Mgu: {} lines (Mgu::<F>::SOURCE); the first {}:",
                lines.len(),
                EXCERPT_LINES.min(lines.len())
            )?;
            writeln!(f)?;
            for line in lines.iter().take(EXCERPT_LINES) {
                writeln!(f, "{line}")?;
            }
            writeln!(f, "...")?;
            writeln!(f)?;
            let outline: Vec<String> = self
                .functions()
                .into_iter()
                .map(|(line, name)| format!("{name} (line {line})"))
                .collect();
            writeln!(f, "its functions: {}", outline.join(", "))?;
            write!(
                f,
                "all of it: --show-code; the shipped cells' code, plans and dataflow graphs: \
                 cargo run --example inspect -- lstm --plan"
            )
        }
    }
}

struct FullSource<'a>(&'a Report);

impl fmt::Display for FullSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, true)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnn::Cell;

    #[test]
    fn declaration_matches_the_cell() {
        assert_eq!(Mgu::<f32>::PARAM_NAMES, &["w_f", "u_f", "b_f", "w_h", "u_h", "b_h"]);
        for name in Mgu::<f32>::PARAM_NAMES {
            assert!(DECLARATION.contains(&format!("param {name}:")));
        }
        assert!(Mgu::<f32>::SOURCE.lines().count() > EXCERPT_LINES);
    }
}
