//! Word-level sentence completion: a language model over a small corpus of
//! dishes and cuisines completes "my favourite dish is sushi . so , my
//! favourite cuisine is" with "japanese", for dishes it never saw in that
//! sentence.
//!
//! The corpus pairs 60 dishes with 10 cuisines (6 each) in two kinds of
//! sentences:
//!
//! - facts, for every dish: "sushi is a japanese dish .", "sushi comes from
//!   japanese cooking .", "we had sushi at a japanese place .", "the
//!   japanese restaurant serves sushi .";
//! - completions, only for the training dishes: "my favourite dish is sushi
//!   . so , my favourite cuisine is japanese ." and "i ordered sushi , so i
//!   must like japanese food .".
//!
//! [`Config::held_out`] dishes of every cuisine (chosen by the seed) never
//! appear in a completion sentence. The test asks for the cuisine word at
//! the end of both completion templates with those dishes: the model must
//! combine what the facts taught it about the dish with what the
//! completions taught it about the template. Chance is one cuisine in ten
//! (10%); a model that only learned the template, not the dish, scores
//! there. The report also gives the same accuracy on the training dishes
//! and on the facts of the held-out dishes, and a few greedy completions.
//!
//! The model: an embedding (`Encoding::Embedding`) into a recurrent cell
//! and a softmax head over the vocabulary, trained on next-word
//! cross-entropy over every position of padded sentences (the padding is
//! masked out).

use super::{CellKind, Observer, Training, loss_ends, require_positive, rng_for, train_steps, with_cell};
use ndarray::Axis;
use rand::Rng;
use rnn::runtime::model::{Encoding, SeqInput, SeqModel, SeqModelConfig, SeqTarget};
use rnn::{Cell, RnnError};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

/// The cuisines and six single-word dishes of each.
pub const DISHES: [(&str, [&str; 6]); 10] = [
    ("japanese", ["sushi", "ramen", "tempura", "udon", "sashimi", "yakitori"]),
    (
        "italian",
        ["pizza", "lasagna", "risotto", "carbonara", "gnocchi", "tiramisu"],
    ),
    (
        "mexican",
        ["tacos", "burritos", "enchiladas", "guacamole", "quesadillas", "tamales"],
    ),
    ("indian", ["biryani", "samosas", "tandoori", "dal", "korma", "vindaloo"]),
    (
        "chinese",
        ["wontons", "congee", "dumplings", "chowmein", "hotpot", "baozi"],
    ),
    (
        "french",
        [
            "croissants",
            "ratatouille",
            "crepes",
            "quiche",
            "bouillabaisse",
            "cassoulet",
        ],
    ),
    (
        "thai",
        ["pad-thai", "tom-yum", "som-tam", "massaman", "larb", "khao-soi"],
    ),
    (
        "greek",
        ["moussaka", "souvlaki", "tzatziki", "spanakopita", "baklava", "gyros"],
    ),
    (
        "spanish",
        ["paella", "gazpacho", "churros", "croquetas", "patatas-bravas", "fabada"],
    ),
    (
        "korean",
        ["kimchi", "bibimbap", "bulgogi", "japchae", "tteokbokki", "galbi"],
    ),
];

/// Sentences stating a dish's cuisine; `{d}` is the dish, `{c}` the cuisine.
pub const FACT_TEMPLATES: [&str; 4] = [
    "{d} is a {c} dish .",
    "{d} comes from {c} cooking .",
    "we had {d} at a {c} place .",
    "the {c} restaurant serves {d} .",
];

/// Sentences whose last word before the full stop is the cuisine, asked
/// about held-out dishes at test time.
pub const COMPLETION_TEMPLATES: [&str; 2] = [
    "my favourite dish is {d} . so , my favourite cuisine is {c} .",
    "i ordered {d} , so i must like {c} food .",
];

/// Padding (masked out of the loss) and the start of every sentence.
const PAD: &str = "<pad>";
const BOS: &str = "<s>";

/// Settings of a run; `Default` is the example's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The recurrent cell.
    pub cell: CellKind,
    /// Hidden size.
    pub hidden: usize,
    /// Width of a word embedding.
    pub embed_dim: usize,
    /// Dishes per cuisine kept out of the completion sentences (0 to 5).
    pub held_out: usize,
    /// Sentences per training step.
    pub batch: usize,
    /// Training steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Clip gradients to this global norm (0: no clipping).
    pub clip: f64,
    /// Held-out completions to print.
    pub show: usize,
    /// Seed of the split, the batches and the initialisation.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cell: CellKind::Gru,
            hidden: 64,
            embed_dim: 32,
            held_out: 2,
            batch: 32,
            steps: 1500,
            lr: 1e-2,
            clip: 1.0,
            show: 6,
            seed: 0,
        }
    }
}

impl Config {
    /// A seconds-long version for tests (fewer steps).
    pub fn quick() -> Self {
        Config {
            steps: 500,
            ..Config::default()
        }
    }

    fn validate(&self) -> Result<(), RnnError> {
        require_positive(&[
            ("hidden", self.hidden),
            ("embed_dim", self.embed_dim),
            ("batch", self.batch),
        ])?;
        if self.held_out >= 6 {
            return Err(RnnError::Invalid(format!(
                "held_out must leave at least one of the 6 dishes per cuisine for training, got {}",
                self.held_out
            )));
        }
        Ok(())
    }
}

/// Words and their ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vocab {
    words: Vec<String>,
    ids: BTreeMap<String, usize>,
}

impl Vocab {
    /// The id of `word`, adding it if new.
    fn add(&mut self, word: &str) -> usize {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        self.words.push(word.to_string());
        self.ids.insert(word.to_string(), self.words.len() - 1);
        self.words.len() - 1
    }

    /// The id of `word`.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.ids.get(word).copied()
    }

    /// The word of `id`.
    pub fn word(&self, id: usize) -> &str {
        &self.words[id]
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words of `ids`, space-separated.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter().map(|&i| self.word(i)).collect::<Vec<_>>().join(" ")
    }
}

/// One test question: a prompt whose next word should be `answer`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The dish.
    pub dish: &'static str,
    /// The cuisine, the expected next word.
    pub cuisine: &'static str,
    /// Which template (an index into [`COMPLETION_TEMPLATES`] or
    /// [`FACT_TEMPLATES`]).
    pub template: usize,
    /// `<s>` and the words up to the answer.
    pub ids: Vec<usize>,
    /// The answer's id.
    pub answer: usize,
}

/// The corpus, its split and the test prompts.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Every word.
    pub vocab: Vocab,
    /// Training sentences as ids, each starting with `<s>`.
    pub train: Vec<Vec<usize>>,
    /// Dishes never seen in a completion sentence.
    pub held_out: Vec<&'static str>,
    /// Completion prompts with held-out dishes (the test).
    pub test: Vec<Prompt>,
    /// Completion prompts with training dishes (seen in training).
    pub seen: Vec<Prompt>,
    /// Fact prompts of held-out dishes ("sushi is a ..."), seen in training.
    pub facts: Vec<Prompt>,
    /// Length of the longest training sentence, in ids.
    pub max_len: usize,
}

/// Fills a template; returns the words up to (not including) the cuisine
/// when `stop_at_cuisine`, else the whole sentence.
fn fill(template: &str, dish: &str, cuisine: &str, stop_at_cuisine: bool) -> Vec<String> {
    let mut words = Vec::new();
    for w in template.split_whitespace() {
        match w {
            "{d}" => words.push(dish.to_string()),
            "{c}" if stop_at_cuisine => return words,
            "{c}" => words.push(cuisine.to_string()),
            _ => words.push(w.to_string()),
        }
    }
    words
}

/// Builds the corpus and splits the dishes (see the [module docs](self)).
pub fn corpus<R: Rng + ?Sized>(held_out_per_cuisine: usize, rng: &mut R) -> Corpus {
    let mut vocab = Vocab::default();
    vocab.add(PAD);
    vocab.add(BOS);
    let mut held_out = Vec::new();
    for (_, dishes) in DISHES {
        // A partial Fisher-Yates shuffle picks the held-out dishes.
        let mut order: Vec<usize> = (0..dishes.len()).collect();
        for k in 0..held_out_per_cuisine {
            let j = rng.random_range(k..order.len());
            order.swap(k, j);
        }
        let mut picked: Vec<usize> = order[..held_out_per_cuisine].to_vec();
        picked.sort_unstable();
        held_out.extend(picked.into_iter().map(|k| dishes[k]));
    }
    let encode = |vocab: &mut Vocab, words: &[String]| -> Vec<usize> {
        std::iter::once(BOS)
            .chain(words.iter().map(String::as_str))
            .map(|w| vocab.add(w))
            .collect()
    };
    let mut train = Vec::new();
    for (cuisine, dishes) in DISHES {
        for dish in dishes {
            for t in FACT_TEMPLATES {
                train.push(encode(&mut vocab, &fill(t, dish, cuisine, false)));
            }
            if !held_out.contains(&dish) {
                for t in COMPLETION_TEMPLATES {
                    train.push(encode(&mut vocab, &fill(t, dish, cuisine, false)));
                }
            }
        }
    }
    // Held-out dishes' completion sentences use no new word, so every
    // prompt below encodes with the training vocabulary.
    let (mut test, mut seen, mut facts) = (Vec::new(), Vec::new(), Vec::new());
    for (cuisine, dishes) in DISHES {
        for dish in dishes {
            let answer = vocab.add(cuisine);
            let prompt = |vocab: &mut Vocab, template: usize, text: &str| Prompt {
                dish,
                cuisine,
                template,
                ids: encode(vocab, &fill(text, dish, cuisine, true)),
                answer,
            };
            let held = held_out.contains(&dish);
            for (k, t) in COMPLETION_TEMPLATES.iter().enumerate() {
                let p = prompt(&mut vocab, k, t);
                if held { test.push(p) } else { seen.push(p) }
            }
            if held {
                // The first fact template ends with the cuisine's position open.
                facts.push(prompt(&mut vocab, 0, FACT_TEMPLATES[0]));
            }
        }
    }
    let max_len = train.iter().map(Vec::len).max().unwrap_or(0);
    Corpus {
        vocab,
        train,
        held_out,
        test,
        seen,
        facts,
        max_len,
    }
}

/// A padded, time-major training batch of `batch` sentences drawn from
/// `sentences`: inputs are each sentence without its last word, targets
/// without its first (`<s>`), padding masked.
struct Batch {
    ids: Vec<usize>,
    next: Vec<usize>,
    mask: Vec<bool>,
    len: usize,
}

fn sample_batch<R: Rng + ?Sized>(sentences: &[Vec<usize>], len: usize, batch: usize, rng: &mut R) -> Batch {
    let mut ids = vec![0; len * batch];
    let mut next = vec![0; len * batch];
    let mut mask = vec![false; len * batch];
    for b in 0..batch {
        let s = &sentences[rng.random_range(0..sentences.len())];
        for t in 0..s.len() - 1 {
            ids[t * batch + b] = s[t];
            next[t * batch + b] = s[t + 1];
            mask[t * batch + b] = true;
        }
    }
    Batch { ids, next, mask, len }
}

/// How the model answers a set of prompts.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptScore {
    /// Prompts asked.
    pub count: usize,
    /// Fraction whose most likely next word (over the whole vocabulary) is
    /// the right cuisine.
    pub accuracy: f64,
    /// Mean probability of the right cuisine.
    pub mean_prob: f64,
    /// Each prompt's most likely next word.
    pub predictions: Vec<usize>,
}

/// Asks `model` every prompt (one at a time, so no padding is involved).
pub fn score_prompts<C: Cell<f32>>(model: &SeqModel<f32, C>, prompts: &[Prompt]) -> Result<PromptScore, RnnError> {
    let (mut hits, mut prob) = (0usize, 0.0);
    let mut predictions = Vec::with_capacity(prompts.len());
    for p in prompts {
        let (probs, _) = model.forward(&SeqInput::tokens(&p.ids, p.ids.len(), 1), &[])?;
        let last = probs.index_axis(Axis(0), p.ids.len() - 1);
        let row = last.row(0);
        let best = row
            .iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            )
            .0;
        hits += usize::from(best == p.answer);
        prob += row[p.answer] as f64;
        predictions.push(best);
    }
    let n = prompts.len().max(1) as f64;
    Ok(PromptScore {
        count: prompts.len(),
        accuracy: hits as f64 / n,
        mean_prob: prob / n,
        predictions,
    })
}

/// A held-out prompt completed greedily.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The prompt, as words (without `<s>`).
    pub prompt: String,
    /// The generated words, up to and including the first full stop.
    pub completion: String,
    /// Whether the first generated word is the right cuisine.
    pub correct: bool,
    /// The right cuisine.
    pub cuisine: &'static str,
}

/// What a run learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The settings it ran with.
    pub config: Config,
    /// Words in the vocabulary.
    pub vocab_size: usize,
    /// Training sentences.
    pub train_sentences: usize,
    /// The held-out dishes.
    pub held_out: Vec<&'static str>,
    /// Training loss per step (nats per word).
    pub losses: Vec<f64>,
    /// Loss at the first step.
    pub initial_loss: f64,
    /// Mean loss over the last 10% of steps.
    pub final_loss: f64,
    /// Completion prompts with held-out dishes, before training.
    pub test_init: PromptScore,
    /// Completion prompts with held-out dishes: the test.
    pub test: PromptScore,
    /// Completion prompts with training dishes.
    pub seen: PromptScore,
    /// Fact prompts of held-out dishes ("sushi is a ...").
    pub facts: PromptScore,
    /// Accuracy of always answering one cuisine: 1 / number of cuisines.
    pub chance: f64,
    /// A few held-out prompts completed greedily.
    pub completions: Vec<Completion>,
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
    let corpus = corpus(config.held_out, &mut rng_for(config.seed, 1));
    let v = corpus.vocab.len();
    let model_config = SeqModelConfig::language_model(
        Encoding::Embedding {
            vocab: v,
            dim: config.embed_dim,
        },
        v,
    );
    let mut model = SeqModel::<f32, C>::new(dims, model_config, &mut rng_for(config.seed, 2))?;
    let test_init = score_prompts(&model, &corpus.test)?;
    let mut data = rng_for(config.seed, 3);
    let len = corpus.max_len - 1;
    let run = format!("{} H={} word-level language model", config.cell, config.hidden);
    let start = Instant::now();
    let losses = train_steps(
        &mut model,
        Training::new(config.steps, config.batch, config.lr, config.clip),
        &run,
        observer,
        |_, model, grads| {
            let b = sample_batch(&corpus.train, len, config.batch, &mut data);
            let out = model.loss_and_grad_into(
                &SeqInput::tokens(&b.ids, b.len, config.batch),
                &SeqTarget::Classes(&b.next),
                Some(&b.mask),
                &[],
                grads,
            )?;
            Ok(out.loss)
        },
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test = score_prompts(&model, &corpus.test)?;
    let seen = score_prompts(&model, &corpus.seen)?;
    let facts = score_prompts(&model, &corpus.facts)?;
    let completions = complete(&model, &corpus, config.show)?;
    let (initial_loss, final_loss) = loss_ends(&losses);
    Ok(Report {
        config: config.clone(),
        vocab_size: v,
        train_sentences: corpus.train.len(),
        held_out: corpus.held_out.clone(),
        losses,
        initial_loss,
        final_loss,
        test_init,
        test,
        seen,
        facts,
        chance: 1.0 / DISHES.len() as f64,
        completions,
        parameters: model.num_scalars(),
        train_seconds,
    })
}

/// Greedy completions of `n` held-out prompts, spread over the dishes and
/// alternating between the templates.
fn complete<C: Cell<f32>>(model: &SeqModel<f32, C>, corpus: &Corpus, n: usize) -> Result<Vec<Completion>, RnnError> {
    let full_stop = corpus.vocab.id(".");
    let total = corpus.test.len();
    let picks = (0..n.min(total)).map(|k| {
        let i = k * total / n;
        let flip = corpus.test[i].template != k % COMPLETION_TEMPLATES.len() && i + 1 < total;
        &corpus.test[if flip { i + 1 } else { i }]
    });
    let mut out = Vec::new();
    // Greedy decoding draws nothing, but the API takes a generator.
    let mut rng = rng_for(0, 0);
    for p in picks {
        let generated = model.generate(&p.ids, 6, 0.0, &mut rng)?;
        let end = generated
            .iter()
            .position(|&w| Some(w) == full_stop)
            .map_or(generated.len(), |k| k + 1);
        out.push(Completion {
            prompt: corpus.vocab.decode(&p.ids[1..]),
            completion: corpus.vocab.decode(&generated[..end]),
            correct: generated.first() == Some(&p.answer),
            cuisine: p.cuisine,
        });
    }
    Ok(out)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "corpus: {} training sentences over {} words; {} dishes in {} cuisines, {} per cuisine held out of the \
             completion sentences: {}",
            self.train_sentences,
            self.vocab_size,
            DISHES.len() * 6,
            DISHES.len(),
            c.held_out,
            self.held_out.join(", ")
        )?;
        writeln!(
            f,
            "model: embedding {} -> {} H = {} -> softmax over {} words ({} parameters); {} Adam steps of {} \
             sentences (lr {}), seed {}",
            c.embed_dim, c.cell, c.hidden, self.vocab_size, self.parameters, c.steps, c.batch, c.lr, c.seed
        )?;
        writeln!(
            f,
            "training loss {:.4} -> {:.4} nats per word (step 1, then the mean of the last 10% of steps)",
            self.initial_loss, self.final_loss
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<58}  {:>7}  {:>8}  {:>10}",
            "next word = the cuisine", "prompts", "accuracy", "mean prob"
        )?;
        let rows = [
            ("held-out dishes in completion prompts (untrained)", &self.test_init),
            ("held-out dishes in completion prompts (THE TEST)", &self.test),
            ("training dishes in completion prompts (seen)", &self.seen),
            ("held-out dishes in fact prompts \"X is a ...\" (seen)", &self.facts),
        ];
        for (name, s) in rows {
            writeln!(
                f,
                "{name:<58}  {:>7}  {:>7.1}%  {:>10.3}",
                s.count,
                100.0 * s.accuracy,
                s.mean_prob
            )?;
        }
        writeln!(
            f,
            "chance: {:.1}% (one cuisine in {}), for a model that knows the template but not the dish",
            100.0 * self.chance,
            DISHES.len()
        )?;
        if !self.completions.is_empty() {
            writeln!(f)?;
            writeln!(f, "greedy completions of held-out prompts:")?;
        }
        for comp in &self.completions {
            let mark = if comp.correct {
                "right".to_string()
            } else {
                format!("WRONG, expected {}", comp.cuisine)
            };
            writeln!(f, "  {} [{}]  ({mark})", comp.prompt, comp.completion)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_dishes_never_complete_in_training() {
        let c = corpus(2, &mut rnn::seeded_rng(5));
        assert_eq!(c.held_out.len(), 20);
        assert_eq!(c.test.len(), 40);
        let favourite = c.vocab.id("favourite").unwrap();
        let ordered = c.vocab.id("ordered").unwrap();
        for s in &c.train {
            if s.contains(&favourite) || s.contains(&ordered) {
                for d in &c.held_out {
                    assert!(!s.contains(&c.vocab.id(d).unwrap()), "{}", c.vocab.decode(s));
                }
            }
        }
        // Every dish has its facts.
        assert_eq!(c.train.len(), 60 * 4 + 40 * 2);
        let p = &c.test[0];
        assert_eq!(c.vocab.word(*p.ids.last().unwrap()), "is");
        assert_eq!(c.vocab.word(p.answer), p.cuisine);
    }
}
