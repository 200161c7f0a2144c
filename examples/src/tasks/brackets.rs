//! Balanced brackets: one answer per sequence, over sequences of different
//! lengths.
//!
//! Each sequence is a string of `(` and `)` of even length `n` (uniform
//! over `2, 4, ..., max_len`); the model says whether it is balanced (every
//! prefix opens at least as many brackets as it closes, and the whole
//! string closes all it opens). Half the strings are balanced; of the
//! others, half have as many `(` as `)` but close one too early somewhere
//! (the hard case: counting alone does not tell), half have two more of one
//! kind. A training batch pads its strings to `max_len` steps with a padding
//! token; the test batch pads the same kind of strings to `test_pad` steps,
//! more padding than training ever had.
//!
//! Two models of the same shape (a bidirectional LSTM over an embedding,
//! dropout between layers and before the head, one sigmoid output read at
//! the last step of each sequence, binary cross-entropy) train on the same
//! batches with the same seed:
//!
//! - **with lengths**: the batch carries its lengths
//!   ([`SeqInput::with_lengths`]), so each direction runs exactly over its
//!   string (PyTorch's packed sequences) and the head reads the forward
//!   direction at the string's last character and the reverse direction at
//!   its first;
//! - **padded, without lengths**: the same padded batch as if every string
//!   had `max_len` steps (what a model sees when the lengths are dropped):
//!   the forward direction reads the padding after the string, the reverse
//!   direction reads it first, and the head reads step `max_len - 1`.
//!
//! The report gives the test accuracy of both: padded to `test_pad`, by
//! length, and with each string given alone at its own length, unpadded, as
//! one string is served at inference. The model with lengths never reads
//! padding, so its amount changes nothing; the one without reads every
//! padding step and learned to expect as much as training had: given a
//! string without it, it reads a last step it was rarely trained on.

use super::{Observer, StepInfo, loss_ends, require_positive, rng_for};
use ndarray::Array2;
use rand::Rng;
use rand::seq::SliceRandom;
use rnn::cells::{Lstm, LstmDims};
use rnn::runtime::model::{Activation, Dropout, Encoding, LossKind, Pooling};
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::runtime::train::{Batch, Trainer, TrainerConfig};
use rnn::{RnnError, SeqInput, SeqModel, SeqModelConfig, SeqTarget};
use std::fmt;
use std::time::Instant;

/// `(`, `)` and the padding token.
pub const OPEN: usize = 0;
/// `)`.
pub const CLOSE: usize = 1;
/// The padding token after a string's end.
pub const PAD: usize = 2;

/// Settings of a run; `Default` is the example's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Embedding width.
    pub embed: usize,
    /// Dropout between the layers and before the head.
    pub dropout: f64,
    /// Longest string (even, at least 2); training batches are padded to it.
    pub max_len: usize,
    /// Steps the test batch is padded to (at least `max_len`): more padding
    /// than training ever had, which a model that knows the lengths never
    /// reads.
    pub test_pad: usize,
    /// Strings per training step.
    pub batch: usize,
    /// Training steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
    /// Test strings.
    pub test_size: usize,
    /// Seed of the data, the initialisation and the dropout masks.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hidden: 32,
            layers: 2,
            embed: 8,
            dropout: 0.1,
            max_len: 64,
            test_pad: 192,
            batch: 32,
            steps: 1000,
            lr: 5e-3,
            clip: 1.0,
            test_size: 2000,
            seed: 0,
        }
    }
}

impl Config {
    /// A seconds-long version for tests.
    pub fn quick() -> Self {
        Config {
            hidden: 16,
            max_len: 32,
            test_pad: 96,
            steps: 400,
            test_size: 400,
            ..Config::default()
        }
    }

    fn validate(&self) -> Result<(), RnnError> {
        require_positive(&[
            ("hidden", self.hidden),
            ("layers", self.layers),
            ("embed", self.embed),
            ("batch", self.batch),
            ("test_size", self.test_size),
        ])?;
        if self.max_len < 2 || !self.max_len.is_multiple_of(2) {
            return Err(RnnError::Invalid(format!(
                "max_len must be even and at least 2, got {}",
                self.max_len
            )));
        }
        if self.test_pad < self.max_len {
            return Err(RnnError::Invalid(format!(
                "test_pad ({}) must be at least max_len ({})",
                self.test_pad, self.max_len
            )));
        }
        Ok(())
    }
}

/// Whether `s` is a balanced string of brackets.
pub fn is_balanced(s: &[usize]) -> bool {
    let mut depth = 0i64;
    for &c in s {
        depth += if c == OPEN { 1 } else { -1 };
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// A string of `k` `(` and `k` `)`, balanced when `balanced`: a shuffle
/// rotated to start after the lowest point of its running depth is
/// balanced (the cycle lemma); one rotated elsewhere is not, unless by
/// chance (then it is drawn again).
fn equal_counts<R: Rng + ?Sized>(k: usize, balanced: bool, rng: &mut R) -> Vec<usize> {
    loop {
        let mut s: Vec<usize> = (0..2 * k).map(|i| if i < k { OPEN } else { CLOSE }).collect();
        s.shuffle(rng);
        let (mut depth, mut low, mut at) = (0i64, 0i64, 0);
        for (i, &c) in s.iter().enumerate() {
            depth += if c == OPEN { 1 } else { -1 };
            if depth < low {
                (low, at) = (depth, i + 1);
            }
        }
        let shift = if balanced { at } else { rng.random_range(0..2 * k) };
        s.rotate_left(shift % (2 * k));
        if is_balanced(&s) == balanced {
            return s;
        }
    }
}

/// One string of even length `n`: balanced, unbalanced with equal counts,
/// or with two more of one bracket, in proportions 2 : 1 : 1.
fn random_string<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let k = n / 2;
    match rng.random_range(0..4) {
        0 | 1 => equal_counts(k, true, rng),
        2 if k >= 1 => equal_counts(k, false, rng),
        _ => {
            let opens = if rng.random::<bool>() { k + 1 } else { k - 1 };
            let mut s: Vec<usize> = (0..n).map(|i| if i < opens { OPEN } else { CLOSE }).collect();
            s.shuffle(rng);
            s
        }
    }
}

/// A padded batch: ids `[max_len * B]` time-major, lengths `[B]`, labels
/// `[B, 1]` (1 for balanced).
#[derive(Debug, Clone, PartialEq)]
pub struct Strings {
    /// The strings.
    pub strings: Vec<Vec<usize>>,
    /// Padded ids, time-major.
    pub ids: Vec<usize>,
    /// Each string's length.
    pub lengths: Vec<usize>,
    /// 1 for a balanced string, 0 otherwise.
    pub labels: Array2<f32>,
    /// Steps of the padded batch.
    pub max_len: usize,
}

impl Strings {
    /// `count` random strings of even lengths up to `max_len`, padded to
    /// `pad` steps.
    pub fn random<R: Rng + ?Sized>(count: usize, max_len: usize, pad: usize, rng: &mut R) -> Self {
        let strings: Vec<Vec<usize>> = (0..count)
            .map(|_| random_string(2 * rng.random_range(1..=max_len / 2), rng))
            .collect();
        Self::pad(strings, pad)
    }

    /// Pads `strings` to `max_len` steps.
    pub fn pad(strings: Vec<Vec<usize>>, max_len: usize) -> Self {
        let b = strings.len();
        let mut ids = vec![PAD; max_len * b];
        for (j, s) in strings.iter().enumerate() {
            for (t, &c) in s.iter().enumerate() {
                ids[t * b + j] = c;
            }
        }
        let lengths = strings.iter().map(Vec::len).collect();
        let labels = Array2::from_shape_fn((b, 1), |(j, _)| f32::from(u8::from(is_balanced(&strings[j]))));
        Strings {
            strings,
            ids,
            lengths,
            labels,
            max_len,
        }
    }

    /// The input, with or without the lengths.
    pub fn input(&self, with_lengths: bool) -> SeqInput<'_, f32> {
        let input = SeqInput::tokens(&self.ids, self.max_len, self.strings.len());
        if with_lengths {
            input.with_lengths(&self.lengths)
        } else {
            input
        }
    }
}

/// Test accuracy of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Which model.
    pub name: String,
    /// Training loss at step 1 and over the last 10% of steps.
    pub loss: (f64, f64),
    /// Fraction of test strings classified right, padded to `test_pad`.
    pub accuracy: f64,
    /// The same with each string given alone at its own length (no
    /// padding at all, as one string is served at inference).
    pub accuracy_unpadded: f64,
    /// Accuracy by length bucket `(first length, last length, accuracy)`.
    pub by_length: Vec<(usize, usize, f64)>,
    /// Wall time of training in seconds.
    pub train_seconds: f64,
    /// Whether the test predictions are the same with the test strings
    /// unpadded, padded to `max_len` and padded to `test_pad` (the amount
    /// of padding changes nothing).
    pub padding_invariant: bool,
}

/// What a run learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The settings it ran with.
    pub config: Config,
    /// With lengths, then padded without lengths.
    pub scores: [Score; 2],
    /// Number of parameters (both models).
    pub parameters: usize,
    /// Fraction of balanced strings in the test set.
    pub balanced: f64,
}

impl Report {
    /// Total training time of both models.
    pub fn train_seconds(&self) -> f64 {
        self.scores.iter().map(|s| s.train_seconds).sum()
    }
}

/// Trains and tests both models (see the [module docs](self)).
pub fn run(config: &Config) -> Result<Report, RnnError> {
    run_with(config, &mut |_| {})
}

/// [`run`], calling `observer` after every training step.
pub fn run_with(config: &Config, observer: Observer<'_>) -> Result<Report, RnnError> {
    config.validate()?;
    let test = Strings::random(
        config.test_size,
        config.max_len,
        config.test_pad,
        &mut rng_for(config.seed, 3),
    );
    let with = train(config, true, &test, observer)?;
    let without = train(config, false, &test, observer)?;
    let balanced = test.labels.mean().unwrap_or(0.0) as f64;
    Ok(Report {
        config: config.clone(),
        parameters: with.1,
        scores: [with.0, without.0],
        balanced,
    })
}

/// Trains one model on the batches of `config.seed` and scores it on `test`.
fn train(
    config: &Config,
    with_lengths: bool,
    test: &Strings,
    observer: Observer<'_>,
) -> Result<(Score, usize), RnnError> {
    let dims = LstmDims { i: 1, h: config.hidden };
    let model_config = SeqModelConfig::new(
        Encoding::Embedding {
            vocab: 3,
            dim: config.embed,
        },
        1,
        Activation::Sigmoid,
        LossKind::BinaryCrossEntropy,
    )
    .layers(config.layers)
    .bidirectional(true)
    .pooling(Pooling::Last)
    .dropout(Dropout {
        input: 0.0,
        layers: if config.layers > 1 { config.dropout } else { 0.0 },
        head: config.dropout,
    });
    let model = SeqModel::<f32, Lstm<f32>>::new(dims, model_config, &mut rng_for(config.seed, 1))?;
    let parameters = model.num_scalars();
    let adam = Adam::new(AdamConfig {
        lr: config.lr,
        ..AdamConfig::default()
    })?;
    let clip_norm = (config.clip > 0.0).then_some(config.clip);
    let mut trainer = Trainer::new(
        model,
        adam,
        TrainerConfig {
            clip_norm,
            ..TrainerConfig::default()
        },
    );
    let name = if with_lengths {
        "with lengths"
    } else {
        "padded, without lengths"
    };
    let mut data = rng_for(config.seed, 2);
    let mut losses = Vec::with_capacity(config.steps);
    let start = Instant::now();
    for step in 1..=config.steps {
        let batch = Strings::random(config.batch, config.max_len, config.max_len, &mut data);
        let s = trainer.step_on(&Batch::new(
            batch.input(with_lengths),
            SeqTarget::Sequences(batch.labels.view()),
        ))?;
        losses.push(s.loss);
        observer(&StepInfo {
            run: name,
            step,
            steps: config.steps,
            loss: s.loss,
            grad_norm: s.grad_norm,
            sequences: config.batch,
        });
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let mut model = trainer.into_model();
    model.set_training(false);
    let (probs, _) = model.forward(&test.input(with_lengths), &[])?;
    let short = Strings::pad(test.strings.clone(), config.max_len);
    let (probs_short, _) = model.forward(&short.input(with_lengths), &[])?;
    let unpadded = predict_unpadded(&model, &test.strings, with_lengths)?;
    let same = |a: f32, b: f32| (a > 0.5) == (b > 0.5) && (a - b).abs() < 1e-5;
    let padding_invariant = probs
        .iter()
        .zip(probs_short.iter())
        .zip(&unpadded)
        .all(|((&a, &b), &c)| same(a, b) && same(a, c));
    let accuracy_unpadded = unpadded
        .iter()
        .zip(test.labels.iter())
        .filter(|&(&p, &y)| (p > 0.5) == (y > 0.5))
        .count() as f64
        / unpadded.len().max(1) as f64;
    let right: Vec<bool> = probs
        .iter()
        .zip(test.labels.iter())
        .map(|(&p, &y)| (p > 0.5) == (y > 0.5))
        .collect();
    let accuracy = right.iter().filter(|&&r| r).count() as f64 / right.len() as f64;
    let bucket = (config.max_len / 4).max(2);
    let by_length = (0..config.max_len)
        .step_by(bucket)
        .filter_map(|lo| {
            let hi = (lo + bucket).min(config.max_len);
            let hits: Vec<bool> = (0..right.len())
                .filter(|&j| (lo + 1..=hi).contains(&test.lengths[j]))
                .map(|j| right[j])
                .collect();
            (!hits.is_empty()).then(|| {
                let acc = hits.iter().filter(|&&r| r).count() as f64 / hits.len() as f64;
                (lo + 1, hi, acc)
            })
        })
        .collect();
    Ok((
        Score {
            name: name.to_string(),
            loss: loss_ends(&losses),
            accuracy,
            accuracy_unpadded,
            by_length,
            train_seconds,
            padding_invariant,
        },
        parameters,
    ))
}

/// The model's probability for each of `strings`, each run at its own
/// length with no padding (one batch per length).
fn predict_unpadded(
    model: &SeqModel<f32, Lstm<f32>>,
    strings: &[Vec<usize>],
    with_lengths: bool,
) -> Result<Vec<f32>, RnnError> {
    let mut probs = vec![0.0; strings.len()];
    let longest = strings.iter().map(Vec::len).max().unwrap_or(0);
    for len in 1..=longest {
        let which: Vec<usize> = (0..strings.len()).filter(|&j| strings[j].len() == len).collect();
        if which.is_empty() {
            continue;
        }
        let group = Strings::pad(which.iter().map(|&j| strings[j].clone()).collect(), len);
        let (p, _) = model.forward(&group.input(with_lengths), &[])?;
        for (&j, &v) in which.iter().zip(p.iter()) {
            probs[j] = v;
        }
    }
    Ok(probs)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "balanced brackets, strings of even length 2 to {} padded to {} in training, {} in the test: bidirectional \
             LSTM x{} H = {} over an embedding of {} ({} parameters), dropout {} between layers and before the head, \
             last-step sigmoid head, binary cross-entropy; {} Adam steps of {} strings (lr {}), seed {}",
            c.max_len,
            c.max_len,
            c.test_pad,
            c.layers,
            c.hidden,
            c.embed,
            self.parameters,
            c.dropout,
            c.steps,
            c.batch,
            c.lr,
            c.seed
        )?;
        writeln!(
            f,
            "test: {} strings, {:.1}% balanced (always answering the majority class scores {:.1}%)",
            c.test_size,
            100.0 * self.balanced,
            100.0 * self.balanced.max(1.0 - self.balanced)
        )?;
        writeln!(f)?;
        let buckets: Vec<String> = self.scores[0]
            .by_length
            .iter()
            .map(|&(lo, hi, _)| format!("len {lo}-{hi}"))
            .collect();
        write!(
            f,
            "{:<26} {:>16} {:>9} {:>9} {:>10}",
            "model", "loss first/last", "accuracy", "unpadded", "same with"
        )?;
        for b in &buckets {
            write!(f, " {b:>10}")?;
        }
        writeln!(f)?;
        for s in &self.scores {
            write!(
                f,
                "{:<26} {:>7.4}/{:<8.4} {:>8.1}% {:>8.1}% {:>10}",
                s.name,
                s.loss.0,
                s.loss.1,
                100.0 * s.accuracy,
                100.0 * s.accuracy_unpadded,
                if s.padding_invariant { "yes" } else { "no" }
            )?;
            for &(_, _, a) in &s.by_length {
                write!(f, " {:>9.1}%", 100.0 * a)?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "\n\"accuracy\": test strings padded to {} steps; \"unpadded\": each string alone at its own length; \
             \"same with\": the predictions do not change between unpadded, padded to {} and padded to {} steps",
            c.test_pad, c.max_len, c.test_pad
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_labelled_and_padded() {
        let mut rng = rng_for(0, 9);
        let b = Strings::random(200, 12, 12, &mut rng);
        assert_eq!(b.ids.len(), 12 * 200);
        for (j, s) in b.strings.iter().enumerate() {
            assert!(s.len().is_multiple_of(2) && (2..=12).contains(&s.len()));
            assert_eq!(b.labels[(j, 0)] == 1.0, is_balanced(s));
            for t in s.len()..12 {
                assert_eq!(b.ids[t * 200 + j], PAD);
            }
        }
        let balanced = b.labels.mean().unwrap();
        assert!((0.35..0.65).contains(&balanced), "{balanced}");
        assert!(is_balanced(&[OPEN, OPEN, CLOSE, CLOSE]) && !is_balanced(&[CLOSE, OPEN]));
        // Hard negatives: equal counts, not balanced.
        let hard = equal_counts(4, false, &mut rng);
        assert_eq!(hard.iter().filter(|&&c| c == OPEN).count(), 4);
        assert!(!is_balanced(&hard));
    }
}
