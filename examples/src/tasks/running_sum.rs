//! Binary addition, one bit per step: a running computation whose every
//! answer depends on the previous one through the carry.
//!
//! Two numbers `a` and `b` are read least-significant bit first, one pair
//! of bits per step (a dense input of width 2); at each step the model
//! outputs the bit of `a + b` at that position (a softmax over {0, 1},
//! cross-entropy). After the last input bits one more step with input
//! `(0, 0)` asks for the final carry, so `n`-bit numbers take `n + 1`
//! steps. The sum bit at step `t` is `a_t xor b_t xor carry_t`, and the
//! carry is exactly what the recurrent state has to hold.
//!
//! Training uses numbers of up to [`Config::train_bits`] bits (8: every
//! pair below 256); the test adds numbers of 16 and 32 bits, sequences two
//! and four times longer than any seen in training. A model that learned
//! the carry rule, not the training lengths, gets them right; the report
//! gives the accuracy per bit and per number (every bit of the sum right).

use super::{CellKind, Observer, Training, loss_ends, require_positive, rng_for, train_steps, with_cell};
use ndarray::Array3;
use rand::Rng;
use rnn::runtime::model::{Activation, Encoding, LossKind};
use rnn::runtime::model::{SeqInput, SeqModel, SeqModelConfig, SeqTarget};
use rnn::{Cell, RnnError};
use std::fmt;
use std::time::Instant;

/// Settings of a run; `Default` is the example's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The recurrent cell.
    pub cell: CellKind,
    /// Hidden size.
    pub hidden: usize,
    /// Training numbers have at most this many bits (1 to 63).
    pub train_bits: u32,
    /// Bit widths of the test numbers (1 to 63).
    pub test_bits: Vec<u32>,
    /// Additions per training step.
    pub batch: usize,
    /// Training steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
    /// Test additions per width.
    pub test_size: usize,
    /// Worked examples to show per test width.
    pub show: usize,
    /// Seed of the data and the initialisation.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cell: CellKind::Gru,
            hidden: 16,
            train_bits: 8,
            test_bits: vec![8, 16, 32],
            batch: 32,
            steps: 1500,
            lr: 1e-2,
            clip: 1.0,
            test_size: 1000,
            show: 3,
            seed: 0,
        }
    }
}

impl Config {
    /// A seconds-long version for tests.
    pub fn quick() -> Self {
        Config {
            hidden: 8,
            steps: 300,
            test_bits: vec![16],
            test_size: 200,
            ..Config::default()
        }
    }

    fn validate(&self) -> Result<(), RnnError> {
        require_positive(&[
            ("hidden", self.hidden),
            ("batch", self.batch),
            ("test_size", self.test_size),
        ])?;
        if let Some(bits) = std::iter::once(self.train_bits)
            .chain(self.test_bits.iter().copied())
            .find(|b| !(1..=63).contains(b))
        {
            return Err(RnnError::Invalid(format!(
                "numbers must have 1 to 63 bits (so that the sum fits in 64), got {bits}"
            )));
        }
        Ok(())
    }
}

/// A batch of additions, time-major, least-significant bit first.
#[derive(Debug, Clone, PartialEq)]
pub struct AdditionBatch {
    /// The first operands.
    pub a: Vec<u64>,
    /// The second operands.
    pub b: Vec<u64>,
    /// Inputs `[bits + 1, B, 2]`: bit `t` of `a` and of `b` (0 past the end).
    pub xs: Array3<f32>,
    /// Targets `[(bits + 1) * B]`: bit `t` of `a + b`.
    pub sum_bits: Vec<usize>,
}

impl AdditionBatch {
    /// Steps per sequence (`bits + 1`).
    pub fn len(&self) -> usize {
        self.xs.shape()[0]
    }

    /// Whether the batch holds no addition.
    pub fn is_empty(&self) -> bool {
        self.a.is_empty()
    }
}

/// Encodes the additions `a[k] + b[k]` of numbers below `2^bits`.
pub fn encode_additions(a: Vec<u64>, b: Vec<u64>, bits: u32) -> AdditionBatch {
    let (len, batch) = (bits as usize + 1, a.len());
    let mut xs = Array3::<f32>::zeros((len, batch, 2));
    let mut sum_bits = vec![0; len * batch];
    for (k, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let s = x + y;
        for t in 0..len {
            xs[(t, k, 0)] = ((x >> t) & 1) as f32;
            xs[(t, k, 1)] = ((y >> t) & 1) as f32;
            sum_bits[t * batch + k] = ((s >> t) & 1) as usize;
        }
    }
    AdditionBatch { a, b, xs, sum_bits }
}

/// `batch` random additions of numbers uniform in `[0, 2^bits)`.
pub fn random_additions<R: Rng + ?Sized>(bits: u32, batch: usize, rng: &mut R) -> AdditionBatch {
    let bound = 1u64 << bits;
    let a = (0..batch).map(|_| rng.random_range(0..bound)).collect();
    let b = (0..batch).map(|_| rng.random_range(0..bound)).collect();
    encode_additions(a, b, bits)
}

/// The model's sums, read from its most likely bit at every step.
pub fn predict<C: Cell<f32>>(model: &SeqModel<f32, C>, batch: &AdditionBatch) -> Result<Vec<u64>, RnnError> {
    let (probs, _) = model.forward(&SeqInput::values(batch.xs.view()), &[])?;
    let mut sums = vec![0u64; batch.a.len()];
    for (t, step) in probs.outer_iter().enumerate() {
        for (k, p) in step.outer_iter().enumerate() {
            if p[1] > p[0] {
                sums[k] |= 1 << t;
            }
        }
    }
    Ok(sums)
}

/// Accuracy on additions of one width.
#[derive(Debug, Clone, PartialEq)]
pub struct WidthScore {
    /// Bits per operand.
    pub bits: u32,
    /// Fraction of sum bits right (over all `bits + 1` steps).
    pub bit_accuracy: f64,
    /// Fraction of sums with every bit right.
    pub number_accuracy: f64,
    /// A few `(a, b, predicted a + b)`.
    pub examples: Vec<(u64, u64, u64)>,
}

/// Scores `model` on `batch`, keeping `show` worked examples.
pub fn score<C: Cell<f32>>(
    model: &SeqModel<f32, C>,
    batch: &AdditionBatch,
    bits: u32,
    show: usize,
) -> Result<WidthScore, RnnError> {
    let sums = predict(model, batch)?;
    let steps = bits + 1;
    let (mut right_bits, mut right_numbers) = (0u64, 0usize);
    for ((&a, &b), &s) in batch.a.iter().zip(&batch.b).zip(&sums) {
        let wrong = (a + b) ^ s;
        right_bits += u64::from(steps - wrong.count_ones().min(steps));
        right_numbers += usize::from(wrong == 0);
    }
    let n = sums.len();
    Ok(WidthScore {
        bits,
        bit_accuracy: right_bits as f64 / (n as u64 * u64::from(steps)) as f64,
        number_accuracy: right_numbers as f64 / n as f64,
        examples: (0..show.min(n)).map(|k| (batch.a[k], batch.b[k], sums[k])).collect(),
    })
}

/// What a run learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The settings it ran with.
    pub config: Config,
    /// Training loss per step (cross-entropy, nats per bit).
    pub losses: Vec<f64>,
    /// Loss at the first step.
    pub initial_loss: f64,
    /// Mean loss over the last 10% of steps.
    pub final_loss: f64,
    /// Accuracy per test width.
    pub scores: Vec<WidthScore>,
    /// Number of parameters.
    pub parameters: usize,
    /// Wall time of training in seconds.
    pub train_seconds: f64,
}

impl Report {
    /// The score at `bits` bits, if tested.
    pub fn score(&self, bits: u32) -> Option<&WidthScore> {
        self.scores.iter().find(|s| s.bits == bits)
    }
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
    let model_config = SeqModelConfig::new(
        Encoding::Dense { width: 2 },
        2,
        Activation::Softmax,
        LossKind::CrossEntropy,
    );
    let mut model = SeqModel::<f32, C>::new(dims, model_config, &mut rng_for(config.seed, 1))?;
    let mut data = rng_for(config.seed, 2);
    let run = format!(
        "{} H={} on {}-bit additions",
        config.cell, config.hidden, config.train_bits
    );
    let start = Instant::now();
    let losses = train_steps(
        &mut model,
        Training::new(config.steps, config.batch, config.lr, config.clip),
        &run,
        observer,
        |_, model, grads| {
            let batch = random_additions(config.train_bits, config.batch, &mut data);
            let out = model.loss_and_grad_into(
                &SeqInput::values(batch.xs.view()),
                &SeqTarget::Classes(&batch.sum_bits),
                None,
                &[],
                grads,
            )?;
            Ok(out.loss)
        },
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let mut scores = Vec::new();
    for &bits in &config.test_bits {
        let test = random_additions(bits, config.test_size, &mut rng_for(config.seed, 100 + u64::from(bits)));
        scores.push(score(&model, &test, bits, config.show)?);
    }
    let (initial_loss, final_loss) = loss_ends(&losses);
    Ok(Report {
        config: config.clone(),
        losses,
        initial_loss,
        final_loss,
        scores,
        parameters: model.num_scalars(),
        train_seconds,
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "binary addition, least-significant bit first: {} H = {} ({} parameters), trained on numbers below 2^{} \
             ({} steps per sequence), {} Adam steps of {} additions (lr {}), seed {}",
            c.cell,
            c.hidden,
            self.parameters,
            c.train_bits,
            c.train_bits + 1,
            c.steps,
            c.batch,
            c.lr,
            c.seed
        )?;
        writeln!(
            f,
            "training loss {:.4} -> {:.4} nats per bit (step 1, then the mean of the last 10% of steps; chance is ln 2 = 0.693)",
            self.initial_loss, self.final_loss
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:>6}  {:>6}  {:>12}  {:>15}  {:>8}",
            "bits", "steps", "bit accuracy", "number accuracy", "additions"
        )?;
        for s in &self.scores {
            let note = if s.bits > c.train_bits {
                "  (longer than trained on)"
            } else {
                ""
            };
            writeln!(
                f,
                "{:>6}  {:>6}  {:>11.2}%  {:>14.2}%  {:>8}{note}",
                s.bits,
                s.bits + 1,
                100.0 * s.bit_accuracy,
                100.0 * s.number_accuracy,
                c.test_size
            )?;
        }
        for s in self.scores.iter().filter(|s| !s.examples.is_empty()) {
            writeln!(f)?;
            writeln!(f, "{}-bit examples:", s.bits)?;
            for &(a, b, p) in &s.examples {
                let mark = if a + b == p { "right" } else { "WRONG" };
                writeln!(f, "  {a} + {b} = {p}  ({mark}; true sum {})", a + b)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Axis;

    #[test]
    fn encodes_lsb_first_with_a_carry_step() {
        let b = encode_additions(vec![3, 5], vec![1, 6], 3);
        assert_eq!(b.len(), 4);
        let step0: Vec<f32> = b.xs.index_axis(Axis(0), 0).iter().copied().collect();
        assert_eq!(step0, vec![1.0, 1.0, 1.0, 0.0]);
        // 3 + 1 = 4 = 0b0100, 5 + 6 = 11 = 0b1011, time-major.
        assert_eq!(b.sum_bits, vec![0, 1, 0, 1, 1, 0, 0, 1]);
    }
}
