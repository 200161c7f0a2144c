//! Next-value regression on noisy sine waves, trained with teacher forcing,
//! then run free: the model's own outputs become its inputs.
//!
//! Every sequence is a wave `sin(w t + phi)` with its own frequency (a
//! period of [`Config::min_period`] to [`Config::max_period`] steps) and
//! phase, observed with Gaussian noise of standard deviation
//! [`Config::noise`]. The model reads one value per step (a dense input of
//! width 1) and predicts the next (identity head, MSE). Training uses
//! teacher forcing: the input at every step is the true (noisy) previous
//! value, through [`feedback_loss_and_grad_into`]; with
//! [`Config::schedule`] it uses scheduled sampling instead (Bengio et al.
//! 2015): each input is the model's own previous output with a probability
//! that grows over training.
//!
//! The test primes each wave with [`Config::prefix`] observed steps, then
//! scores two predictions of the next [`Config::horizon`] steps against
//! the clean wave:
//!
//! - teacher-forced: one step ahead, seeing the noisy truth up to the step
//!   before (what the training loss measures);
//! - free-running ([`free_run`]): every step after the prefix fed with the
//!   model's previous output, so errors compound.
//!
//! References: predicting 0 scores the wave's power, 0.5; repeating the
//! last observed value (one step ahead) scores `1 - cos w + noise^2` on
//! average.
//! [`write_plot`] draws one test wave with both predictions.

use super::{CellKind, Observer, Training, loss_ends, require_positive, rng_for, train_steps, with_cell};
use crate::plot::{PlotOptions, Series, write_loss_curve};
use ndarray::{Array2, Array3, Axis, s};
use rand::Rng;
use rnn::Cell;
use rnn::RnnError;
use rnn::runtime::model::feedback::{FeedMode, TeacherSchedule, feedback_loss_and_grad_into, free_run};
use rnn::runtime::model::{SeqInput, SeqInputBuf, SeqModel, SeqModelConfig, SeqTarget};
use std::f64::consts::PI;
use std::fmt;
use std::path::Path;
use std::time::Instant;

/// Settings of a run; `Default` is the example's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The recurrent cell.
    pub cell: CellKind,
    /// Hidden size.
    pub hidden: usize,
    /// Steps per training sequence.
    pub seq_len: usize,
    /// Sequences per training step.
    pub batch: usize,
    /// Training steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
    /// Standard deviation of the observation noise.
    pub noise: f64,
    /// Shortest period, in steps.
    pub min_period: f64,
    /// Longest period, in steps.
    pub max_period: f64,
    /// Scheduled sampling: the probability of the true input at each
    /// training step (`None`: teacher forcing throughout).
    pub schedule: Option<TeacherSchedule>,
    /// Observed steps that prime each test wave.
    pub prefix: usize,
    /// Steps predicted after the prefix.
    pub horizon: usize,
    /// Test waves.
    pub test_size: usize,
    /// Seed of the data, the initialisation and the schedule's draws.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cell: CellKind::Lstm,
            hidden: 32,
            seq_len: 80,
            batch: 32,
            steps: 1500,
            lr: 5e-3,
            clip: 1.0,
            noise: 0.1,
            min_period: 10.0,
            max_period: 40.0,
            schedule: None,
            prefix: 40,
            horizon: 80,
            test_size: 256,
            seed: 0,
        }
    }
}

impl Config {
    /// A seconds-long version for tests.
    pub fn quick() -> Self {
        Config {
            hidden: 16,
            seq_len: 40,
            steps: 400,
            prefix: 30,
            horizon: 30,
            test_size: 64,
            ..Config::default()
        }
    }

    /// Scheduled sampling with the teacher probability falling linearly
    /// from 1 to `end` over the run.
    pub fn with_scheduled_sampling(self, end: f64) -> Self {
        let steps = self.steps;
        Config {
            schedule: Some(TeacherSchedule::Linear { start: 1.0, end, steps }),
            ..self
        }
    }

    fn validate(&self) -> Result<(), RnnError> {
        require_positive(&[
            ("hidden", self.hidden),
            ("seq_len", self.seq_len),
            ("batch", self.batch),
            ("prefix", self.prefix),
            ("horizon", self.horizon),
            ("test_size", self.test_size),
        ])?;
        if !(self.min_period >= 2.0 && self.max_period >= self.min_period) {
            return Err(RnnError::Invalid(format!(
                "periods must satisfy 2 <= min_period <= max_period, got {} and {}",
                self.min_period, self.max_period
            )));
        }
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return Err(RnnError::Invalid(format!(
                "noise must be finite and >= 0, got {}",
                self.noise
            )));
        }
        Ok(())
    }
}

/// A draw from `N(0, 1)` (Box-Muller).
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// A batch of waves, time-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Waves {
    /// The clean waves `[T, B]`.
    pub clean: Array2<f64>,
    /// The observations `[T, B, 1]`: clean plus noise.
    pub observed: Array3<f32>,
    /// The period of each wave, in steps.
    pub periods: Vec<f64>,
}

/// `batch` waves of `len` steps (see the [module docs](self)).
pub fn waves<R: Rng + ?Sized>(config: &Config, len: usize, batch: usize, rng: &mut R) -> Waves {
    let mut clean = Array2::zeros((len, batch));
    let mut observed = Array3::zeros((len, batch, 1));
    let mut periods = Vec::with_capacity(batch);
    for b in 0..batch {
        let period = config.min_period + (config.max_period - config.min_period) * rng.random::<f64>();
        let phase = 2.0 * PI * rng.random::<f64>();
        periods.push(period);
        for t in 0..len {
            let y = (2.0 * PI * t as f64 / period + phase).sin();
            clean[(t, b)] = y;
            observed[(t, b, 0)] = (y + config.noise * standard_normal(rng)) as f32;
        }
    }
    Waves {
        clean,
        observed,
        periods,
    }
}

/// One test wave with the model's predictions, for plotting.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The wave's period, in steps.
    pub period: f64,
    /// The clean wave, steps `0..prefix + horizon`.
    pub clean: Vec<f64>,
    /// The observations, steps `0..prefix + horizon`.
    pub observed: Vec<f64>,
    /// One-step predictions of steps `1..prefix + horizon`.
    pub teacher_forced: Vec<f64>,
    /// Free-running predictions of steps `prefix..prefix + horizon`.
    pub free_running: Vec<f64>,
}

/// Test errors (MSE against the clean wave over the horizon).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SineScore {
    /// One step ahead, fed the noisy truth.
    pub teacher_forced: f64,
    /// Fed its own outputs after the prefix.
    pub free_running: f64,
    /// Free running, over the first quarter of the horizon.
    pub free_running_early: f64,
    /// Repeating the last observation (one step ahead).
    pub last_value: f64,
    /// Predicting 0.
    pub zero: f64,
}

/// What a run learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The settings it ran with.
    pub config: Config,
    /// Training loss per step (MSE against the noisy next value).
    pub losses: Vec<f64>,
    /// Loss at the first step.
    pub initial_loss: f64,
    /// Mean loss over the last 10% of steps.
    pub final_loss: f64,
    /// Test errors before training.
    pub score_init: SineScore,
    /// Test errors after training.
    pub score: SineScore,
    /// The first test wave, predicted.
    pub trace: Trace,
    /// Number of parameters.
    pub parameters: usize,
    /// Wall time of training in seconds.
    pub train_seconds: f64,
}

/// Trains and tests (see the [module docs](self)).
pub fn run(config: &Config) -> Result<Report, RnnError> {
    run_with(config, &mut |_| {})
}

/// [`run`], calling `observer` after every training step.
pub fn run_with(config: &Config, observer: Observer<'_>) -> Result<Report, RnnError> {
    config.validate()?;
    with_cell!(config.cell, config.hidden, |C, dims| train::<C>(dims, config, observer))
}

fn train<C: Cell<f32>>(dims: C::Dims, config: &Config, observer: Observer<'_>) -> Result<Report, RnnError> {
    let mut model = SeqModel::<f32, C>::new(dims, SeqModelConfig::regression(1, 1), &mut rng_for(config.seed, 1))?;
    let mut data = rng_for(config.seed, 2);
    let mut feed_rng = rng_for(config.seed, 3);
    let test = waves(
        config,
        config.prefix + config.horizon,
        config.test_size,
        &mut rng_for(config.seed, 4),
    );
    let score_init = evaluate(&model, config, &test)?.0;
    let run = format!("{} H={} on noisy sine waves", config.cell, config.hidden);
    let start = Instant::now();
    let losses = train_steps(
        &mut model,
        Training::new(config.steps, config.batch, config.lr, config.clip),
        &run,
        observer,
        |step, model, grads| {
            let w = waves(config, config.seq_len + 1, config.batch, &mut data);
            let input = SeqInput::values(w.observed.slice(s![..-1, .., ..]));
            let target = SeqTarget::Values(w.observed.slice(s![1.., .., ..]));
            let mode = config
                .schedule
                .map_or(FeedMode::TeacherForcing, |sched| sched.mode(step - 1));
            let (out, _) =
                feedback_loss_and_grad_into(model, &input, &target, None, &[], mode, 0.0, &mut feed_rng, grads)?;
            Ok(out.loss)
        },
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let (score, trace) = evaluate(&model, config, &test)?;
    let (initial_loss, final_loss) = loss_ends(&losses);
    Ok(Report {
        config: config.clone(),
        losses,
        initial_loss,
        final_loss,
        score_init,
        score,
        trace,
        parameters: model.num_scalars(),
        train_seconds,
    })
}

/// Scores `model` on `test` and traces its first wave.
fn evaluate<C: Cell<f32>>(
    model: &SeqModel<f32, C>,
    config: &Config,
    test: &Waves,
) -> Result<(SineScore, Trace), RnnError> {
    let (p, h) = (config.prefix, config.horizon);
    let batch = test.periods.len();
    // Teacher-forced: out[t] predicts step t + 1 from the observations up to t.
    let (tf, _) = model.forward(&SeqInput::values(test.observed.slice(s![..-1, .., ..])), &[])?;
    // Free-running: out[k] predicts step p + k.
    let free = free_run(
        model,
        &SeqInput::values(test.observed.slice(s![..p, .., ..])),
        h,
        0.0,
        &mut rng_for(config.seed, 5),
    )?;
    let SeqInputBuf::Values(free) = free else {
        return Err(RnnError::Invalid("free running a dense model returned tokens".into()));
    };
    let early = (h / 4).max(1);
    let (mut tf_se, mut free_se, mut early_se, mut last_se, mut zero_se) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for b in 0..batch {
        for k in 0..h {
            let t = p + k;
            let truth = test.clean[(t, b)];
            tf_se += (tf[(t - 1, b, 0)] as f64 - truth).powi(2);
            let e = (free[(k, b, 0)] as f64 - truth).powi(2);
            free_se += e;
            if k < early {
                early_se += e;
            }
            last_se += (test.observed[(t - 1, b, 0)] as f64 - truth).powi(2);
            zero_se += truth * truth;
        }
    }
    let n = (batch * h) as f64;
    let score = SineScore {
        teacher_forced: tf_se / n,
        free_running: free_se / n,
        free_running_early: early_se / (batch * early) as f64,
        last_value: last_se / n,
        zero: zero_se / n,
    };
    let trace = Trace {
        period: test.periods[0],
        clean: test.clean.column(0).to_vec(),
        observed: test.observed.index_axis(Axis(1), 0).iter().map(|&v| v as f64).collect(),
        teacher_forced: tf.index_axis(Axis(1), 0).iter().map(|&v| v as f64).collect(),
        free_running: free.index_axis(Axis(1), 0).iter().map(|&v| v as f64).collect(),
    };
    Ok((score, trace))
}

/// Draws the report's test wave to an SVG file: the clean wave, the noisy
/// observations, the teacher-forced one-step predictions and the
/// free-running generation after the prefix.
pub fn write_plot(report: &Report, path: impl AsRef<Path>) -> Result<(), RnnError> {
    let tr = &report.trace;
    let p = report.config.prefix;
    let at = |start: usize, ys: &[f64]| -> Vec<(f64, f64)> {
        ys.iter().enumerate().map(|(k, &y)| ((start + k) as f64, y)).collect()
    };
    let series = [
        Series::new("true wave", at(0, &tr.clean)),
        Series::new("noisy observation", at(0, &tr.observed)),
        Series::new("teacher-forced (one step ahead)", at(1, &tr.teacher_forced)),
        Series::new(format!("free-running after step {p}"), at(p, &tr.free_running)),
    ];
    let options = PlotOptions {
        title: format!(
            "{} H = {}: sine of period {:.1} steps, primed with {p} steps (seed {})",
            report.config.cell, report.config.hidden, tr.period, report.config.seed
        ),
        x_label: "step".into(),
        y_label: "value".into(),
        size: (1000, 500),
    };
    write_loss_curve(path, &series, &options)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let feeding = match c.schedule {
            None => "teacher forcing".to_string(),
            Some(s) => format!(
                "scheduled sampling (teacher probability {:.2} -> {:.2})",
                s.prob(0),
                s.prob(c.steps.saturating_sub(1))
            ),
        };
        writeln!(
            f,
            "noisy sine waves (period {}-{} steps, noise sd {}): {} H = {} ({} parameters), {} Adam steps of {} \
             sequences x {} steps (lr {}), {feeding}, seed {}",
            c.min_period,
            c.max_period,
            c.noise,
            c.cell,
            c.hidden,
            self.parameters,
            c.steps,
            c.batch,
            c.seq_len,
            c.lr,
            c.seed
        )?;
        writeln!(
            f,
            "training loss (MSE against the noisy next value) {:.4} -> {:.4} (step 1, then the mean of the last 10% of steps; \
             the noise alone gives {:.4})",
            self.initial_loss,
            self.final_loss,
            c.noise * c.noise
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "test: {} waves primed with {} observed steps, then {} steps scored against the clean wave (MSE)",
            c.test_size, c.prefix, c.horizon
        )?;
        writeln!(f, "{:<44}  {:>10}  {:>10}", "", "untrained", "trained")?;
        let (a, b) = (&self.score_init, &self.score);
        let rows = [
            ("teacher-forced, one step ahead", a.teacher_forced, b.teacher_forced),
            ("free-running, whole horizon", a.free_running, b.free_running),
            (
                "free-running, first quarter",
                a.free_running_early,
                b.free_running_early,
            ),
        ];
        for (name, x, y) in rows {
            writeln!(f, "{name:<44}  {x:>10.4}  {y:>10.4}")?;
        }
        writeln!(
            f,
            "{:<44}  {:>10.4}",
            "reference: repeat the last observation", b.last_value
        )?;
        write!(f, "{:<44}  {:>10.4}", "reference: predict 0 (the wave's power)", b.zero)
    }
}
