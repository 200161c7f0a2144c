//! Checkpoints of the character language model: the metadata a `char_lm`
//! run writes beside the parameters (its vocabulary, seed and step), and a
//! model with its vocabulary rebuilt from a checkpoint alone, to generate
//! text without the corpus.
//!
//! The model's own settings (cell, sizes, layers, encoding, head, loss) are
//! the [`SeqModel`] metadata every checkpoint carries; the vocabulary is a
//! JSON string under [`META_VOCAB`].

use rand::Rng;
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnTanh, RnnTanhDims};
use rnn::runtime::io::{TensorFile, read_tensors};
use rnn::runtime::model::{META_CELL, META_HIDDEN_SIZE, META_INPUT_WIDTH, META_VOCAB};
use rnn::runtime::train::model_part;
use rnn::{Cell, RnnError, SeqModel, SeqModelConfig};
use std::collections::BTreeMap;
use std::path::Path;

/// Metadata key of the run's seed.
pub const META_SEED: &str = "seed";
/// Metadata key of the training steps taken.
pub const META_STEPS: &str = "steps";
/// Metadata key of the validation loss at that step.
pub const META_VAL_LOSS: &str = "val_loss";

/// The metadata of a checkpoint at `steps` (with `val_loss` if measured).
pub fn run_metadata(vocab: &[char], seed: u64, steps: usize, val_loss: Option<f64>) -> BTreeMap<String, String> {
    let text: String = vocab.iter().collect();
    let mut m = BTreeMap::from([
        (META_VOCAB.to_string(), serde_json::Value::from(text).to_string()),
        (META_SEED.to_string(), seed.to_string()),
        (META_STEPS.to_string(), steps.to_string()),
    ]);
    if let Some(v) = val_loss {
        m.insert(META_VAL_LOSS.to_string(), v.to_string());
    }
    m
}

fn bad(path: &Path, message: String) -> RnnError {
    RnnError::Checkpoint {
        path: path.display().to_string(),
        message,
    }
}

/// The vocabulary stored in a checkpoint's metadata.
///
/// Errors: [`RnnError::Checkpoint`] if it is missing, not a JSON string,
/// or not sorted without repeats (as a corpus's vocabulary is).
pub fn vocab_of(meta: &BTreeMap<String, String>, path: &Path) -> Result<Vec<char>, RnnError> {
    let raw = meta.get(META_VOCAB).ok_or_else(|| {
        bad(
            path,
            format!("no `{META_VOCAB}` in the metadata: not written by char_lm"),
        )
    })?;
    let text: String = serde_json::from_str(raw)
        .map_err(|e| bad(path, format!("metadata `{META_VOCAB}` is not a JSON string: {e}")))?;
    let vocab: Vec<char> = text.chars().collect();
    if vocab.is_empty() || vocab.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad(
            path,
            format!("metadata `{META_VOCAB}` is not a sorted set of characters"),
        ));
    }
    Ok(vocab)
}

/// A character model of any of the cells `char_lm` trains.
#[derive(Debug, Clone)]
pub enum CharModel {
    /// An LSTM stack.
    Lstm(SeqModel<f32, Lstm<f32>>),
    /// A GRU stack.
    Gru(SeqModel<f32, Gru<f32>>),
    /// A tanh RNN stack.
    Rnn(SeqModel<f32, RnnTanh<f32>>),
}

/// A model, its vocabulary and the checkpoint's metadata.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// The model.
    pub model: CharModel,
    /// Its characters, sorted; a character's id is its index.
    pub vocab: Vec<char>,
    /// Everything the checkpoint's metadata holds.
    pub metadata: BTreeMap<String, String>,
}

fn size(meta: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<usize, RnnError> {
    meta.get(key)
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .ok_or_else(|| bad(path, format!("metadata `{key}` is missing or not a size >= 1")))
}

/// A model of `dims` and `config` holding the parameters of `file`.
fn rebuild<C: Cell<f32>>(
    dims: C::Dims,
    config: SeqModelConfig,
    file: &TensorFile<f32>,
) -> Result<SeqModel<f32, C>, RnnError> {
    let mut m = SeqModel::zeros(dims, config)?;
    m.load_from(file)?;
    Ok(m)
}

/// Rebuilds the model and vocabulary saved at `path` from the file alone.
///
/// Errors: [`RnnError::Io`] for an unreadable file, [`RnnError::Checkpoint`]
/// for one that is not a `char_lm` checkpoint (unknown cell, missing
/// vocabulary, tensors that do not fit the settings).
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<LoadedModel, RnnError> {
    let path = path.as_ref();
    // A training checkpoint also holds the optimiser's state: keep the
    // model's part. The file is read once; its metadata says the rest.
    let file = model_part(read_tensors::<f32>(path)?);
    let meta = &file.metadata;
    let vocab = vocab_of(meta, path)?;
    let (i, h) = (size(meta, META_INPUT_WIDTH, path)?, size(meta, META_HIDDEN_SIZE, path)?);
    if i != vocab.len() {
        return Err(bad(
            path,
            format!("the model reads {i} characters but the vocabulary has {}", vocab.len()),
        ));
    }
    let cell = meta.get(META_CELL).map(String::as_str).unwrap_or("");
    let config = SeqModelConfig::from_metadata(meta)?;
    let model = match cell {
        n if n == <Lstm<f32> as Cell<f32>>::NAME => CharModel::Lstm(rebuild(LstmDims { i, h }, config, &file)?),
        n if n == <Gru<f32> as Cell<f32>>::NAME => CharModel::Gru(rebuild(GruDims { i, h }, config, &file)?),
        n if n == <RnnTanh<f32> as Cell<f32>>::NAME => CharModel::Rnn(rebuild(RnnTanhDims { i, h }, config, &file)?),
        other => {
            return Err(bad(
                path,
                format!("cell {other:?} is not one char_lm trains (Lstm, Gru, RnnTanh)"),
            ));
        }
    };
    let metadata = file.metadata;
    Ok(LoadedModel { model, vocab, metadata })
}

/// The ids of `text` in `vocab`.
///
/// Errors: [`RnnError::Invalid`] naming the first character that is not in
/// the vocabulary.
pub fn encode(vocab: &[char], text: &str) -> Result<Vec<usize>, RnnError> {
    text.chars()
        .map(|c| {
            vocab.binary_search(&c).map_err(|_| {
                RnnError::Invalid(format!(
                    "the character {c:?} is not in the model's vocabulary of {} characters",
                    vocab.len()
                ))
            })
        })
        .collect()
}

impl LoadedModel {
    /// `n` characters sampled after `prime` at `temperature` (0: greedy),
    /// exactly as [`SeqModel::generate`] draws them from `rng`.
    ///
    /// Errors: [`RnnError::Invalid`] for an empty prime or one with a
    /// character outside the vocabulary, or a bad temperature.
    pub fn generate<R: Rng + ?Sized>(
        &self,
        prime: &str,
        n: usize,
        temperature: f64,
        rng: &mut R,
    ) -> Result<String, RnnError> {
        let ids = encode(&self.vocab, prime)?;
        let out = match &self.model {
            CharModel::Lstm(m) => m.generate(&ids, n, temperature, rng)?,
            CharModel::Gru(m) => m.generate(&ids, n, temperature, rng)?,
            CharModel::Rnn(m) => m.generate(&ids, n, temperature, rng)?,
        };
        Ok(out.iter().map(|&i| self.vocab[i]).collect())
    }

    /// The cell's name, as the checkpoint stores it.
    pub fn cell_name(&self) -> &str {
        self.metadata.get(META_CELL).map_or("?", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnn::runtime::model::{Encoding, SeqModelConfig};

    #[test]
    fn a_checkpoint_generates_what_the_model_in_memory_generates() {
        let vocab: Vec<char> = "\n !abc".chars().collect();
        let config = SeqModelConfig::language_model(Encoding::OneHot { vocab: vocab.len() }, vocab.len());
        let dims = GruDims { i: vocab.len(), h: 8 };
        let model = SeqModel::<f32, Gru<f32>>::new(dims, config, &mut rnn::seeded_rng(4)).unwrap();
        let dir = std::env::temp_dir().join(format!("rnn-charlm-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        model.save(&path, None, &run_metadata(&vocab, 4, 0, Some(1.5))).unwrap();
        let prime = encode(&vocab, "ab").unwrap();
        let want: String = model
            .generate(&prime, 40, 0.8, &mut rnn::seeded_rng(9))
            .unwrap()
            .iter()
            .map(|&i| vocab[i])
            .collect();
        let loaded = load_checkpoint(&path).unwrap();
        assert_eq!(loaded.vocab, vocab);
        assert_eq!(loaded.cell_name(), "Gru");
        assert_eq!(loaded.generate("ab", 40, 0.8, &mut rnn::seeded_rng(9)).unwrap(), want);
        assert!(loaded.generate("xyz", 5, 0.8, &mut rnn::seeded_rng(9)).is_err());
        // A checkpoint without a vocabulary is refused by name.
        model.save(&path, None, &BTreeMap::new()).unwrap();
        let e = load_checkpoint(&path).unwrap_err().to_string();
        assert!(e.contains("vocab"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
