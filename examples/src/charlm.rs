//! Data for character-level language models, as CHARLM v1
//! (`../shared/CHARLM.md`) defines it: a corpus read as UTF-8, its
//! vocabulary (distinct characters sorted by code point), the 90/10
//! train/validation split, random training windows (a
//! [`BatchSource`] for the library's [`Trainer`](rnn::runtime::train::Trainer))
//! and the fixed validation windows.
//!
//! Batches are time-major: position `t * B + b` holds step `t` of window
//! `b`, matching sequences `[T, B, width]` flattened to `[T*B, width]`.

use rand::Rng;
use rand::rngs::StdRng;
use rnn::runtime::train::{Batch, BatchSource};
use rnn::{RnnError, SeqInput, SeqTarget};
use std::collections::BTreeSet;
use std::path::Path;

/// A text as character ids, with its vocabulary and train/validation split.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    vocab: Vec<char>,
    ids: Vec<usize>,
    n_train: usize,
}

/// `n_train = floor(9 n / 10)` in exact integer arithmetic (CHARLM section 1).
pub fn split_point(n: usize) -> usize {
    // n * 9 / 10 without overflow for any n.
    n / 10 * 9 + n % 10 * 9 / 10
}

/// The bundled corpus (Tiny Shakespeare, CHARLM v1's), compiled into the
/// programs so that they find it wherever they are run from.
pub const BUNDLED_TEXT: &str = include_str!("../data/tinyshakespeare.txt");

impl Corpus {
    /// The corpus of [`BUNDLED_TEXT`].
    pub fn bundled() -> Self {
        Self::from_text(BUNDLED_TEXT).expect("the bundled corpus is not empty")
    }

    /// Reads `path` as UTF-8 (no newline translation) and builds the corpus.
    ///
    /// Errors: [`RnnError::Io`] if the file cannot be read or is not UTF-8,
    /// [`RnnError::Invalid`] if it is empty.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RnnError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_text(&text)
    }

    /// Builds the corpus of `text`: vocabulary = its distinct characters in
    /// code-point order, ids = indices into it, split as [`split_point`].
    ///
    /// Errors: [`RnnError::Invalid`] if `text` is empty.
    pub fn from_text(text: &str) -> Result<Self, RnnError> {
        if text.is_empty() {
            return Err(RnnError::Invalid("the corpus is empty".into()));
        }
        let vocab: Vec<char> = text.chars().collect::<BTreeSet<char>>().into_iter().collect();
        let ids: Vec<usize> = if vocab.last().is_some_and(|&c| (c as u32) < 256) {
            let mut table = [0usize; 256];
            for (i, &c) in vocab.iter().enumerate() {
                table[c as usize] = i;
            }
            text.chars().map(|c| table[c as usize]).collect()
        } else {
            text.chars()
                .map(|c| vocab.binary_search(&c).expect("in vocabulary"))
                .collect()
        };
        let n_train = split_point(ids.len());
        Ok(Corpus { vocab, ids, n_train })
    }

    /// The vocabulary, sorted by code point; a character's id is its index.
    pub fn vocab(&self) -> &[char] {
        &self.vocab
    }

    /// `V`, the number of distinct characters.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// `n`, the number of characters.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the corpus has no characters (never true for a built corpus).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Every character's id, in order.
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }

    /// The training split, `ids[0 .. n_train]`.
    pub fn train(&self) -> &[usize] {
        &self.ids[..self.n_train]
    }

    /// The validation split, `ids[n_train .. n]`.
    pub fn val(&self) -> &[usize] {
        &self.ids[self.n_train..]
    }

    /// The id of `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<usize> {
        self.vocab.binary_search(&c).ok()
    }

    /// The ids of `text`.
    ///
    /// Errors: [`RnnError::Invalid`] naming the first character not in the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>, RnnError> {
        text.chars()
            .map(|c| {
                self.id(c)
                    .ok_or_else(|| RnnError::Invalid(format!("character {c:?} is not in the vocabulary")))
            })
            .collect()
    }

    /// The text of `ids` (ids outside the vocabulary become U+FFFD).
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .map(|&i| self.vocab.get(i).copied().unwrap_or('\u{FFFD}'))
            .collect()
    }
}

/// The `k` fixed validation window offsets of CHARLM section 4:
/// `o_j = floor(j (n_val - seq_len - 1) / (k - 1))`, so `o_0 = 0` and
/// `o_{k-1} = n_val - seq_len - 1` (the last target is the last character).
///
/// Errors: [`RnnError::Invalid`] if `n_val < seq_len + 1` or `k == 0`.
pub fn val_offsets(n_val: usize, seq_len: usize, k: usize) -> Result<Vec<usize>, RnnError> {
    if k == 0 || n_val < seq_len + 1 {
        return Err(RnnError::Invalid(format!(
            "{k} validation windows of {seq_len}+1 characters need a non-empty count and at least {} validation characters, have {n_val}",
            seq_len + 1
        )));
    }
    let span = (n_val - seq_len - 1) as u128;
    if k == 1 {
        return Ok(vec![0]);
    }
    Ok((0..k).map(|j| (j as u128 * span / (k as u128 - 1)) as usize).collect())
}

/// `batch` window offsets drawn independently and uniformly from
/// `{0, ..., n - seq_len - 1}` with replacement (CHARLM section 3), so each
/// window has `seq_len` inputs and `seq_len` shifted targets inside `n`.
///
/// Errors: [`RnnError::Invalid`] if `n < seq_len + 1`.
pub fn random_offsets<R: Rng + ?Sized>(
    rng: &mut R,
    n: usize,
    seq_len: usize,
    batch: usize,
) -> Result<Vec<usize>, RnnError> {
    if n < seq_len + 1 {
        return Err(RnnError::Invalid(format!(
            "windows of {seq_len}+1 characters need at least {} training characters, have {n}",
            seq_len + 1
        )));
    }
    Ok((0..batch).map(|_| rng.random_range(0..n - seq_len)).collect())
}

/// A batch of windows with their next-character targets, time-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// `[T * B]` input ids, position `t * B + b` = `data[o_b + t]`.
    pub inputs: Vec<usize>,
    /// `[T * B]` target ids, position `t * B + b` = `data[o_b + t + 1]`.
    pub targets: Vec<usize>,
    /// `T`.
    pub seq_len: usize,
    /// `B`.
    pub batch: usize,
}

/// Cuts the windows starting at `offsets` out of `data`: inputs
/// `data[o .. o+T]`, targets `data[o+1 .. o+T+1]`.
///
/// Errors: [`RnnError::Invalid`] if a window runs past the end of `data`.
pub fn windows(data: &[usize], offsets: &[usize], seq_len: usize) -> Result<Windows, RnnError> {
    let mut w = Windows {
        inputs: Vec::with_capacity(seq_len * offsets.len()),
        targets: Vec::with_capacity(seq_len * offsets.len()),
        seq_len,
        batch: offsets.len(),
    };
    w.fill(data, offsets, seq_len)?;
    Ok(w)
}

impl Windows {
    /// Refills these windows from `offsets` (as [`windows`] cuts them),
    /// reusing their memory.
    ///
    /// Errors: [`RnnError::Invalid`] if a window runs past the end of `data`.
    pub fn fill(&mut self, data: &[usize], offsets: &[usize], seq_len: usize) -> Result<(), RnnError> {
        if let Some(&o) = offsets.iter().find(|&&o| o + seq_len + 1 > data.len()) {
            return Err(RnnError::Invalid(format!(
                "window at offset {o} of {seq_len}+1 characters runs past the end of {} characters",
                data.len()
            )));
        }
        self.inputs.clear();
        self.targets.clear();
        for t in 0..seq_len {
            for &o in offsets {
                self.inputs.push(data[o + t]);
                self.targets.push(data[o + t + 1]);
            }
        }
        (self.seq_len, self.batch) = (seq_len, offsets.len());
        Ok(())
    }

    /// The windows as a training batch: ids in, next ids as targets.
    pub fn batch<F: rnn::Float>(&self) -> Batch<'_, F> {
        Batch::new(
            SeqInput::tokens(&self.inputs, self.seq_len, self.batch),
            SeqTarget::Classes(&self.targets),
        )
    }
}

/// Random training windows of a corpus's training split (CHARLM section
/// 3): `batch` offsets drawn uniformly with replacement by a seeded
/// generator at every step, as a [`BatchSource`].
#[derive(Debug)]
pub struct TrainWindows<'c> {
    corpus: &'c Corpus,
    seq_len: usize,
    batch: usize,
    rng: StdRng,
    offsets: Vec<usize>,
    /// The windows of each drawn batch this source keeps (all by default).
    shard: std::ops::Range<usize>,
    windows: Windows,
}

impl<'c> TrainWindows<'c> {
    /// Windows of `seq_len` characters, `batch` per step, drawn with `rng`.
    ///
    /// Errors: [`RnnError::Invalid`] if the batch or the window is empty or
    /// the training split is shorter than one window.
    pub fn new(corpus: &'c Corpus, seq_len: usize, batch: usize, rng: StdRng) -> Result<Self, RnnError> {
        if batch == 0 || seq_len == 0 {
            return Err(RnnError::Invalid("batch and sequence length must be at least 1".into()));
        }
        if corpus.train().len() < seq_len + 1 {
            return Err(RnnError::Invalid(format!(
                "the training split has {} characters, fewer than one window of {seq_len}+1",
                corpus.train().len()
            )));
        }
        Ok(TrainWindows {
            corpus,
            seq_len,
            batch,
            rng,
            offsets: Vec::with_capacity(batch),
            shard: 0..batch,
            windows: Windows {
                inputs: Vec::with_capacity(seq_len * batch),
                targets: Vec::with_capacity(seq_len * batch),
                seq_len,
                batch,
            },
        })
    }

    /// The generator the windows are drawn with.
    pub fn rng(&self) -> &StdRng {
        &self.rng
    }

    /// Keeps only windows `shard` of each batch of `batch` it draws (one
    /// process's part in data-parallel training): every process draws the
    /// same global batch from the same seed, so the data order does not
    /// depend on how many processes share it.
    ///
    /// Errors: [`RnnError::Invalid`] for an empty shard or one past the batch.
    pub fn with_shard(mut self, shard: std::ops::Range<usize>) -> Result<Self, RnnError> {
        if shard.is_empty() || shard.end > self.batch {
            return Err(RnnError::Invalid(format!(
                "shard {shard:?} of a batch of {} windows: give each process at least one window",
                self.batch
            )));
        }
        self.shard = shard;
        Ok(self)
    }
}

impl<F: rnn::Float> BatchSource<F> for TrainWindows<'_> {
    fn next_batch(&mut self) -> Result<Batch<'_, F>, RnnError> {
        let train = self.corpus.train();
        let n = train.len();
        self.offsets.clear();
        let rng = &mut self.rng;
        self.offsets
            .extend((0..self.batch).map(|_| rng.random_range(0..n - self.seq_len)));
        self.windows
            .fill(train, &self.offsets[self.shard.clone()], self.seq_len)?;
        Ok(self.windows.batch())
    }
}

/// The `k` fixed validation windows of CHARLM section 4, cut from the
/// validation split.
///
/// Errors: as [`val_offsets`].
pub fn val_windows(corpus: &Corpus, seq_len: usize, k: usize) -> Result<Windows, RnnError> {
    let offsets = val_offsets(corpus.val().len(), seq_len, k)?;
    windows(corpus.val(), &offsets, seq_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn vocabulary_and_split() {
        let text = "hello world\nthe quick brown fox!"; // 32 characters
        let c = Corpus::from_text(text).unwrap();
        assert_eq!(c.len(), 32);
        assert_eq!(c.vocab()[0], '\n');
        assert_eq!(c.vocab()[1], ' ');
        assert_eq!(c.vocab()[2], '!');
        assert!(c.vocab().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(c.train().len(), 28); // 32 * 9 / 10 = 28.8 -> 28
        assert_eq!(c.val().len(), 4);
        assert_eq!(c.decode(c.ids()), text);
        assert_eq!(c.encode("hello").unwrap(), c.ids()[..5].to_vec());
        assert!(c.encode("Z").is_err());
        for n in [0, 1, 9, 10, 11, 19, 1_115_394, usize::MAX] {
            assert_eq!(split_point(n) as u128, n as u128 * 9 / 10);
        }
        assert_eq!(split_point(1_115_394), 1_003_854);
        let uni = Corpus::from_text("éa€a").unwrap();
        assert_eq!(uni.vocab(), &['a', 'é', '€']);
        assert_eq!(uni.ids(), &[1, 0, 2, 0]);
        assert!(Corpus::from_text("").is_err());
    }

    #[test]
    fn missing_file_is_an_io_error() {
        match Corpus::from_file("/nonexistent/corpus.txt") {
            Err(RnnError::Io { path, .. }) => assert_eq!(path, "/nonexistent/corpus.txt"),
            other => panic!("expected an i/o error, got {other:?}"),
        }
    }

    #[test]
    fn validation_offsets_follow_the_spec() {
        let n_val = 111_540;
        let o = val_offsets(n_val, 64, 64).unwrap();
        assert_eq!(o.len(), 64);
        assert_eq!(o[0], 0);
        assert_eq!(o[63], n_val - 65);
        for (k, &ok) in o.iter().enumerate() {
            assert_eq!(ok, k * (n_val - 65) / 63);
        }
        // The last window's last target is the last character.
        let data: Vec<usize> = (0..n_val).collect();
        let w = windows(&data, &o, 64).unwrap();
        assert_eq!(*w.targets.last().unwrap(), n_val - 1);
        assert_eq!(val_offsets(10, 4, 1).unwrap(), vec![0]);
        assert!(val_offsets(4, 4, 2).is_err());
    }

    #[test]
    fn random_windows_stay_in_range_and_are_seeded() {
        let a = random_offsets(&mut StdRng::seed_from_u64(3), 100, 10, 1000).unwrap();
        let b = random_offsets(&mut StdRng::seed_from_u64(3), 100, 10, 1000).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|&o| o < 100 - 10));
        assert!(a.contains(&0) && a.contains(&89));
        assert!(random_offsets(&mut StdRng::seed_from_u64(3), 10, 10, 1).is_err());
        let data: Vec<usize> = (0..20).collect();
        let w = windows(&data, &[0, 5], 3).unwrap();
        assert_eq!(w.inputs, vec![0, 5, 1, 6, 2, 7]);
        assert_eq!(w.targets, vec![1, 6, 2, 7, 3, 8]);
        assert!(windows(&data, &[17], 3).is_err());
    }

    #[test]
    fn shards_of_a_batch_are_its_windows_split_in_order() {
        let text: String = (0..400).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let corpus = Corpus::from_text(&text).unwrap();
        let draw = |shard: Option<std::ops::Range<usize>>| {
            let mut w = TrainWindows::new(&corpus, 5, 4, StdRng::seed_from_u64(9)).unwrap();
            if let Some(s) = shard {
                w = w.with_shard(s).unwrap();
            }
            (0..3)
                .map(|_| {
                    let b = BatchSource::<f32>::next_batch(&mut w).unwrap();
                    let ids = match b.target {
                        SeqTarget::Classes(ids) => ids.to_vec(),
                        _ => unreachable!("next-character targets"),
                    };
                    // Time-major [5, rows]: the windows side by side.
                    let rows = ids.len() / 5;
                    (0..rows)
                        .map(|r| (0..5).map(|t| ids[t * rows + r]).collect::<Vec<_>>())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let (all, first, second) = (draw(None), draw(Some(0..2)), draw(Some(2..4)));
        for k in 0..3 {
            assert_eq!([first[k].clone(), second[k].clone()].concat(), all[k], "batch {k}");
        }
        let w = || TrainWindows::new(&corpus, 5, 4, StdRng::seed_from_u64(9)).unwrap();
        assert!(w().with_shard(2..2).is_err());
        assert!(w().with_shard(3..5).is_err());
    }
}
