//! Checkpoints of a [`SeqModel`]: safetensors files with PyTorch
//! `state_dict` names and the model's settings as metadata.
//!
//! A file holds `embed.weight` (embedding encodings only), `rnn.*` (the
//! layers' names, see [`crate::layers`]) and `head.weight`, `head.bias`,
//! plus string metadata: the settings of [`SeqModel::metadata`] (cell name,
//! layers, direction, encoding, sizes, activation, loss) and, when given, a
//! caller's vocabulary under [`META_VOCAB`]. Loading is all or nothing:
//! settings that the file states must agree with the model's, every
//! parameter must be present with its exact shape and nothing else may be
//! in the file; on any error the model is unchanged. A file without
//! settings (e.g. one written by PyTorch's `safetensors.torch.save_file`)
//! is checked by names and shapes alone.

use super::{Activation, Dropout, Encoding, LossKind, Pooling, SeqModel, SeqModelConfig};
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::io::{TensorFile, read_tensors, write_tensors};
use ndarray::ArrayViewD;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Metadata key of the cell's name ([`Cell::NAME`]).
pub const META_CELL: &str = "cell";
/// Metadata key of the number of layers.
pub const META_NUM_LAYERS: &str = "num_layers";
/// Metadata key of the direction flag (`true` / `false`).
pub const META_BIDIRECTIONAL: &str = "bidirectional";
/// Metadata key of the encoding's name ([`Encoding::name`]).
pub const META_ENCODING: &str = "encoding";
/// Metadata key of the vocabulary size of a token encoding.
pub const META_VOCAB_SIZE: &str = "vocab_size";
/// Metadata key of the embedding width.
pub const META_EMBED_DIM: &str = "embed_dim";
/// Metadata key of the first recurrent layer's input width.
pub const META_INPUT_WIDTH: &str = "input_width";
/// Metadata key of the width of the last layer's output (`D*H`).
pub const META_HIDDEN_SIZE: &str = "hidden_size";
/// Metadata key of the head's output width.
pub const META_OUTPUT_SIZE: &str = "output_size";
/// Metadata key of the head activation's name ([`Activation::name`]).
pub const META_ACTIVATION: &str = "activation";
/// Metadata key of the loss's name ([`LossKind::name`]).
pub const META_LOSS: &str = "loss";
/// Metadata key of the caller's vocabulary (any string, e.g. JSON).
pub const META_VOCAB: &str = "vocab";
/// Metadata key of the head's pooling ([`Pooling::name`]; absent: steps).
pub const META_POOLING: &str = "pooling";
/// Metadata key of the dropout probabilities, `input,layers,head`
/// (absent: none).
pub const META_DROPOUT: &str = "dropout";
/// Metadata key of the learnable-initial-state flag (absent: false).
pub const META_LEARN_INIT: &str = "learn_init";

fn ckpt_err(source: &str, message: String) -> RnnError {
    RnnError::Checkpoint {
        path: source.to_string(),
        message,
    }
}

fn get<'m>(meta: &'m BTreeMap<String, String>, key: &str, source: &str) -> Result<&'m str, RnnError> {
    meta.get(key)
        .map(String::as_str)
        .ok_or_else(|| ckpt_err(source, format!("missing metadata key `{key}`")))
}

fn parse<T: std::str::FromStr>(meta: &BTreeMap<String, String>, key: &str, source: &str) -> Result<T, RnnError> {
    let v = get(meta, key, source)?;
    v.parse()
        .map_err(|_| ckpt_err(source, format!("metadata `{key}` = {v:?} is not a valid value")))
}

impl SeqModelConfig {
    /// The settings as checkpoint metadata (every key but [`META_CELL`],
    /// [`META_HIDDEN_SIZE`] and [`META_VOCAB`]).
    pub fn to_metadata(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put(META_NUM_LAYERS, self.num_layers.to_string());
        put(META_BIDIRECTIONAL, self.bidirectional.to_string());
        put(META_ENCODING, self.encoding.name().to_string());
        if let Some(v) = self.encoding.vocab() {
            put(META_VOCAB_SIZE, v.to_string());
        }
        if let Encoding::Embedding { dim, .. } = self.encoding {
            put(META_EMBED_DIM, dim.to_string());
        }
        put(META_INPUT_WIDTH, self.encoding.input_width().to_string());
        put(META_OUTPUT_SIZE, self.output_size.to_string());
        put(META_ACTIVATION, self.activation.name().to_string());
        put(META_LOSS, self.loss.name().to_string());
        // Written only when set, so files of models without them stay as before.
        if self.pooling != Pooling::Steps {
            put(META_POOLING, self.pooling.name().to_string());
        }
        if self.dropout.any() {
            let d = self.dropout;
            put(META_DROPOUT, format!("{},{},{}", d.input, d.layers, d.head));
        }
        if self.learn_init {
            put(META_LEARN_INIT, "true".to_string());
        }
        m
    }

    /// Reads settings written by [`SeqModelConfig::to_metadata`] and checks
    /// them ([`SeqModelConfig::validate`]).
    ///
    /// Errors: [`RnnError::Checkpoint`] naming a missing key or a value
    /// that does not parse.
    pub fn from_metadata(meta: &BTreeMap<String, String>) -> Result<Self, RnnError> {
        Self::from_metadata_of(meta, "<metadata>")
    }

    pub(super) fn from_metadata_of(meta: &BTreeMap<String, String>, source: &str) -> Result<Self, RnnError> {
        let encoding = match get(meta, META_ENCODING, source)? {
            "one_hot" => Encoding::OneHot {
                vocab: parse(meta, META_VOCAB_SIZE, source)?,
            },
            "embedding" => Encoding::Embedding {
                vocab: parse(meta, META_VOCAB_SIZE, source)?,
                dim: parse(meta, META_EMBED_DIM, source)?,
            },
            "dense" => Encoding::Dense {
                width: parse(meta, META_INPUT_WIDTH, source)?,
            },
            other => {
                return Err(ckpt_err(
                    source,
                    format!("unknown encoding {other:?} (expected one_hot, embedding or dense)"),
                ));
            }
        };
        let activation = Activation::from_name(get(meta, META_ACTIVATION, source)?)
            .ok_or_else(|| ckpt_err(source, format!("unknown activation {:?}", meta[META_ACTIVATION])))?;
        let loss = LossKind::from_name(get(meta, META_LOSS, source)?)
            .ok_or_else(|| ckpt_err(source, format!("unknown loss {:?}", meta[META_LOSS])))?;
        let pooling = match meta.get(META_POOLING) {
            None => Pooling::Steps,
            Some(p) => Pooling::from_name(p).ok_or_else(|| ckpt_err(source, format!("unknown pooling {p:?}")))?,
        };
        let dropout = match meta.get(META_DROPOUT) {
            None => Dropout::default(),
            Some(d) => {
                let ps: Vec<f64> = d.split(',').filter_map(|x| x.parse().ok()).collect();
                match ps[..] {
                    [input, layers, head] => Dropout { input, layers, head },
                    _ => {
                        return Err(ckpt_err(
                            source,
                            format!("metadata `{META_DROPOUT}` = {d:?} is not `input,layers,head`"),
                        ));
                    }
                }
            }
        };
        let learn_init = match meta.get(META_LEARN_INIT) {
            None => false,
            Some(_) => parse(meta, META_LEARN_INIT, source)?,
        };
        let config = SeqModelConfig {
            encoding,
            num_layers: parse(meta, META_NUM_LAYERS, source)?,
            bidirectional: parse(meta, META_BIDIRECTIONAL, source)?,
            output_size: parse(meta, META_OUTPUT_SIZE, source)?,
            activation,
            loss,
            pooling,
            dropout,
            learn_init,
        };
        config.validate()?;
        Ok(config)
    }
}

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// The model's settings as checkpoint metadata: those of
    /// [`SeqModelConfig::to_metadata`] plus [`META_CELL`] and
    /// [`META_HIDDEN_SIZE`].
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let mut m = self.config.to_metadata();
        m.insert(META_CELL.into(), C::NAME.into());
        m.insert(META_HIDDEN_SIZE.into(), self.hidden_size().to_string());
        m
    }

    /// The parameters as named tensors with [`SeqModel::metadata`].
    pub fn to_tensor_file(&self) -> TensorFile<F> {
        let mut file = TensorFile::new();
        for (name, view) in self.named_params() {
            file.insert(name, view.to_owned());
        }
        file.metadata = self.metadata();
        file
    }

    /// Writes the parameters to `path` (atomically, see [`write_tensors`])
    /// with [`SeqModel::metadata`], `vocab` under [`META_VOCAB`] if given,
    /// and the caller's `extra` metadata.
    ///
    /// Errors: [`RnnError::Invalid`] if `extra` sets one of the model's own
    /// keys (or [`META_VOCAB`]) to another value; i/o errors.
    pub fn save(
        &self,
        path: impl AsRef<Path>,
        vocab: Option<&str>,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), RnnError> {
        let mut meta = self.metadata();
        if let Some(v) = vocab {
            meta.insert(META_VOCAB.into(), v.into());
        }
        for (k, v) in extra {
            match meta.get(k) {
                Some(own) if own != v => {
                    return Err(RnnError::Invalid(format!(
                        "extra metadata `{k}` = {v:?} contradicts the model's {own:?}"
                    )));
                }
                _ => {
                    meta.insert(k.clone(), v.clone());
                }
            }
        }
        write_tensors(path, &self.named_params(), &meta)
    }

    /// Checks the settings a file states against the model's.
    fn check_metadata(&self, meta: &BTreeMap<String, String>, source: &str) -> Result<(), RnnError> {
        if let Some(cell) = meta.get(META_CELL).filter(|c| *c != C::NAME) {
            return Err(ckpt_err(
                source,
                format!(
                    "the checkpoint is of a `{cell}` model, this model's cell is `{}`",
                    C::NAME
                ),
            ));
        }
        for (k, own) in self.metadata() {
            if let Some(theirs) = meta.get(&k).filter(|t| **t != own) {
                return Err(ckpt_err(
                    source,
                    format!("the checkpoint has `{k}` = {theirs:?}, this model has {own:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Sets every parameter from `file`, all or nothing: settings the file
    /// states (cell, layers, direction, encoding, sizes, activation, loss)
    /// must agree with the model's, every parameter must be present with its
    /// exact shape, and nothing else may be in the file. A file without
    /// settings (as PyTorch writes one) is checked by names and shapes alone.
    ///
    /// Errors: [`RnnError::Checkpoint`] if the file's metadata names
    /// another cell or other settings, or tensors are missing or unknown
    /// (the message lists them); [`RnnError::Shape`] naming the tensor and
    /// both shapes. The model is unchanged on error.
    pub fn load_from(&mut self, file: &TensorFile<F>) -> Result<(), RnnError> {
        let source = file.source.as_str();
        self.check_metadata(&file.metadata, source)?;
        let given: HashMap<&str, ArrayViewD<'_, F>> =
            file.tensors.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
        let own = self.named_params();
        let missing: Vec<&str> = own
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !given.contains_key(n))
            .collect();
        let unexpected: Vec<&str> = file
            .tensors
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !own.iter().any(|(m, _)| m == n))
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing tensors: {}", missing.join(", ")));
            }
            if !unexpected.is_empty() {
                parts.push(format!(
                    "unexpected tensors (not parameters of this {} model): {}",
                    C::NAME,
                    unexpected.join(", ")
                ));
            }
            return Err(ckpt_err(source, parts.join("; ")));
        }
        for (name, view) in &own {
            let t = &given[name.as_str()];
            if t.shape() != view.shape() {
                return Err(RnnError::shape(
                    format!("tensor `{name}` in {source}"),
                    view.shape(),
                    t.shape(),
                ));
            }
        }
        drop(own);
        for (name, mut view) in self.named_params_mut() {
            view.assign(&given[name.as_str()]);
        }
        Ok(())
    }

    /// Reads the safetensors file at `path` (`F32` or `F64`, converted to
    /// `F`), loads it with [`SeqModel::load_from`] and returns its metadata
    /// (the vocabulary is under [`META_VOCAB`]).
    ///
    /// Errors: those of [`crate::io::read_tensors`] (unreadable, truncated
    /// or malformed file) and of [`SeqModel::load_from`].
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, RnnError> {
        let file = read_tensors(path)?;
        self.load_from(&file)?;
        Ok(file.metadata)
    }

    /// A model built from the settings stored in the file at `path`
    /// ([`SeqModelConfig::from_metadata`]) and the cell sizes `dims`, loaded
    /// from it; returns the model and the file's metadata.
    ///
    /// Errors: [`RnnError::Checkpoint`] if the file lacks the settings, and
    /// those of [`SeqModel::load_file`].
    pub fn from_file(dims: C::Dims, path: impl AsRef<Path>) -> Result<(Self, BTreeMap<String, String>), RnnError> {
        let file = read_tensors(path)?;
        let config = SeqModelConfig::from_metadata_of(&file.metadata, &file.source)?;
        let mut model = Self::zeros(dims, config)?;
        model.load_from(&file)?;
        Ok((model, file.metadata))
    }
}
