//! A character-level language model: one-hot input, a stack of recurrent
//! [`Layers`] over any cell, and a [`Linear`] head producing next-character
//! logits (CHARLM section 2 with an LSTM cell and one layer).
//!
//! [`CharModel`] computes the mean cross-entropy of a batch of
//! [`Windows`] and its gradient with respect to every parameter (BPTT
//! through all steps from a zero state), the loss alone for evaluation, and
//! samples text one character at a time. As for cells, the gradient has the
//! model's own type. Parameters are named `rnn.{PyTorch layer name}`
//! (`rnn.weight_ih_l0`, ...) and `head.weight` / `head.bias`, the
//! `state_dict` names of a PyTorch module holding `self.rnn` and `self.head`.

use super::charlm::Windows;
use super::linear::Linear;
use super::loss::softmax_cross_entropy;
use super::sample::sample_logits;
use crate::cell::Cell;
use crate::cell::CellInput;
use crate::error::RnnError;
use crate::float::Float;
use crate::io::{TensorFile, read_tensors, write_tensors};
use crate::layers::{Layers, LayersTrace};
use crate::workspace::Workspace;
use ndarray::{Array2, Array3, ArrayView3, ArrayViewD, ArrayViewMutD};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// Prefix of the recurrent layers' parameter names.
pub const RNN_PREFIX: &str = "rnn.";
/// Prefix of the output head's parameter names.
pub const HEAD_PREFIX: &str = "head.";

/// One-hot input, recurrent layers and a linear head over a vocabulary of `V`.
pub struct CharModel<F: Float, C: Cell<F>> {
    /// The recurrent layers; input width `V`.
    pub layers: Layers<F, C>,
    /// The output head `[V, output width of the layers]`.
    pub head: Linear<F>,
}

impl<F: Float, C: Cell<F>> Clone for CharModel<F, C> {
    fn clone(&self) -> Self {
        CharModel {
            layers: self.layers.clone(),
            head: self.head.clone(),
        }
    }
}

impl<F: Float, C: Cell<F>> std::fmt::Debug for CharModel<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CharModel")
            .field("layers", &self.layers)
            .field("head", &self.head.weight.dim())
            .finish()
    }
}

fn reshape_err(e: ndarray::ShapeError) -> RnnError {
    RnnError::Dimension(e.to_string())
}

/// Memory that [`CharModel::loss_and_grad_ws`] reuses from one step to the
/// next (buffers of the cells' passes and their traces).
#[derive(Debug)]
pub struct CharScratch<F> {
    ws: Workspace<F>,
    trace: LayersTrace<F>,
}

impl<F: Float> CharScratch<F> {
    /// Empty scratch memory (filled by the first step).
    pub fn new() -> Self {
        CharScratch {
            ws: Workspace::new(),
            trace: LayersTrace::empty(),
        }
    }
}

impl<F: Float> Default for CharScratch<F> {
    fn default() -> Self {
        Self::new()
    }
}

/// The one-hot input of a batch of windows, as ids.
fn ids_of<F>(w: &Windows) -> CellInput<'_, F> {
    CellInput::OneHot {
        ids: &w.inputs,
        len: w.seq_len,
        batch: w.batch,
    }
}

impl<F: Float, C: Cell<F>> CharModel<F, C> {
    /// A model with `num_layers` unidirectional layers built from `dims`
    /// (whose input width must be the vocabulary size) and a head to
    /// `vocab_size` logits, initialised as PyTorch does: the layers first,
    /// then the head.
    ///
    /// Errors: [`RnnError::Dimension`] if the cell's input width is not
    /// `vocab_size`, and whatever [`Layers::new`] reports.
    pub fn new<R: Rng + ?Sized>(
        dims: C::Dims,
        num_layers: usize,
        vocab_size: usize,
        rng: &mut R,
    ) -> Result<Self, RnnError> {
        let layers = Layers::new(dims, num_layers, false, rng)?;
        if layers.input_size() != vocab_size {
            return Err(RnnError::Dimension(format!(
                "the cell's input width is {} but the vocabulary has {vocab_size} characters",
                layers.input_size()
            )));
        }
        let head = Linear::new(layers.output_size(), vocab_size, rng);
        Ok(CharModel { layers, head })
    }

    /// A model of the same shape with every parameter zero (for gradients).
    pub fn zeros_like(&self) -> Self {
        CharModel {
            layers: self.layers.zeros_like(),
            head: Linear::zeros(self.head.in_features(), self.vocab_size()),
        }
    }

    /// `V`.
    pub fn vocab_size(&self) -> usize {
        self.head.out_features()
    }

    /// Width of the layers' output (the hidden size for the shipped cells).
    pub fn hidden_size(&self) -> usize {
        self.layers.output_size()
    }

    /// Every parameter with its name (see the [module docs](self)): the
    /// layers' in PyTorch order, then `head.weight`, `head.bias`.
    pub fn named_params(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out: Vec<(String, ArrayViewD<'_, F>)> = self
            .layers
            .named_params()
            .into_iter()
            .map(|(n, v)| (format!("{RNN_PREFIX}{n}"), v))
            .collect();
        out.extend(
            self.head
                .params()
                .into_iter()
                .map(|(n, v)| (format!("{HEAD_PREFIX}{n}"), v)),
        );
        out
    }

    /// Every parameter, mutably, in the order of [`CharModel::named_params`].
    pub fn named_params_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let mut out: Vec<(String, ArrayViewMutD<'_, F>)> = self
            .layers
            .named_params_mut()
            .into_iter()
            .map(|(n, v)| (format!("{RNN_PREFIX}{n}"), v))
            .collect();
        out.extend(
            self.head
                .params_mut()
                .into_iter()
                .map(|(n, v)| (format!("{HEAD_PREFIX}{n}"), v)),
        );
        out
    }

    /// Total number of scalar parameters (347 457 for CHARLM's LSTM).
    pub fn num_scalars(&self) -> usize {
        self.named_params().iter().map(|(_, v)| v.len()).sum()
    }

    /// Sets every parameter to zero.
    pub fn zero(&mut self) {
        for (_, mut v) in self.named_params_mut() {
            v.fill(F::zero());
        }
    }

    /// Logits `[T*B, V]` (time-major rows) of a one-hot batch `xs[T, B, V]`
    /// from a zero state, without keeping anything for BPTT.
    pub fn logits(&self, xs: ArrayView3<'_, F>) -> Result<Array2<F>, RnnError> {
        self.logits_of(CellInput::Values(xs), &mut Workspace::new())
    }

    fn logits_of(&self, input: CellInput<'_, F>, ws: &mut Workspace<F>) -> Result<Array2<F>, RnnError> {
        let (out, _) = self.layers.forward_input_ws(input, &[], ws)?;
        let (t, b, _) = out.dim();
        let h = out
            .into_shape_with_order((t * b, self.hidden_size()))
            .map_err(reshape_err)?;
        self.head.forward(h.view())
    }

    /// Mean cross-entropy (nats per character) of `w`'s targets, from a
    /// zero state, without gradients.
    pub fn loss(&self, w: &Windows) -> Result<f64, RnnError> {
        let logits = self.logits_of(ids_of(w), &mut Workspace::new())?;
        Ok(softmax_cross_entropy(logits.view(), &w.targets, None)?.loss)
    }

    /// Mean cross-entropy of `w` and its gradient: overwrites `grads` (a
    /// model of this shape, e.g. from [`CharModel::zeros_like`]) with the
    /// gradient of every parameter, back-propagated through all `T` steps
    /// from a zero state. Returns the loss.
    pub fn loss_and_grad_into(&self, w: &Windows, grads: &mut Self) -> Result<f64, RnnError> {
        self.loss_and_grad_ws(w, grads, &mut CharScratch::new())
    }

    /// [`CharModel::loss_and_grad_into`] with memory reused across calls:
    /// a training loop passing the same `scratch` every step allocates its
    /// big buffers once. The input is looked up as one-hot ids (CHARLM
    /// section 2), never written out as vectors.
    pub fn loss_and_grad_ws(
        &self,
        w: &Windows,
        grads: &mut Self,
        scratch: &mut CharScratch<F>,
    ) -> Result<f64, RnnError> {
        let (t, b) = (w.seq_len, w.batch);
        let hid = self.hidden_size();
        let CharScratch { ws, trace } = scratch;
        self.layers.forward_train_ws(ids_of(w), &[], ws, trace)?;
        let out = trace.out.as_standard_layout();
        let h = out.view().into_shape_with_order((t * b, hid)).map_err(reshape_err)?;
        let logits = self.head.forward(h)?;
        let ce = softmax_cross_entropy(logits.view(), &w.targets, None)?;
        grads.zero();
        let dh = self.head.backward_into(h, ce.grad.view(), &mut grads.head)?;
        let dh = dh.into_shape_with_order((t, b, hid)).map_err(reshape_err)?;
        self.layers.backward_ws(trace, dh.view(), &[], &mut grads.layers, ws)?;
        Ok(ce.loss)
    }

    /// [`CharModel::loss_and_grad_into`] into fresh gradients: `(loss, grads)`.
    pub fn loss_and_grad(&self, w: &Windows) -> Result<(f64, Self), RnnError> {
        let mut grads = self.zeros_like();
        let loss = self.loss_and_grad_into(w, &mut grads)?;
        Ok((loss, grads))
    }

    /// Feeds `prime` (ids) from a zero state, then draws `n` ids one at a
    /// time from `softmax(logits / temperature)` (0: greedy), feeding each
    /// back in. Returns the `n` drawn ids (not the prime).
    ///
    /// Errors: [`RnnError::Invalid`] if `prime` is empty or holds an id
    /// outside the vocabulary, or the temperature is negative.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        prime: &[usize],
        n: usize,
        temperature: f64,
        rng: &mut R,
    ) -> Result<Vec<usize>, RnnError> {
        if prime.is_empty() {
            return Err(RnnError::Invalid("sampling needs at least one prime character".into()));
        }
        let v = self.vocab_size();
        let mut state = self.layers.zero_state(1);
        let mut x = Array2::<F>::zeros((1, v));
        let mut feed = |id: usize, state: &mut Vec<Array3<F>>| -> Result<Array2<F>, RnnError> {
            if id >= v {
                return Err(RnnError::Invalid(format!(
                    "id {id} out of range for a vocabulary of {v}"
                )));
            }
            x.fill(F::zero());
            x[(0, id)] = F::one();
            let h = self.layers.step(x.view(), state)?;
            self.head.forward(h.view())
        };
        let mut logits = Array2::zeros((1, v));
        for &id in prime {
            logits = feed(id, &mut state)?;
        }
        let mut out = Vec::with_capacity(n);
        for k in 0..n {
            let id = sample_logits(logits.row(0), temperature, rng)?;
            out.push(id);
            if k + 1 < n {
                logits = feed(id, &mut state)?;
            }
        }
        Ok(out)
    }

    /// The parameters as named tensors (see [`CharModel::named_params`]).
    pub fn to_tensor_file(&self) -> TensorFile<F> {
        let mut file = TensorFile::new();
        for (name, view) in self.named_params() {
            file.insert(name, view.to_owned());
        }
        file
    }

    /// Writes the parameters to a safetensors file at `path` with
    /// `metadata` plus, unless given, `cell`, `num_layers`, `vocab_size`
    /// and `hidden_size`.
    pub fn save(&self, path: impl AsRef<Path>, metadata: &BTreeMap<String, String>) -> Result<(), RnnError> {
        let mut meta = metadata.clone();
        meta.entry("cell".into()).or_insert_with(|| C::NAME.to_string());
        meta.entry("num_layers".into())
            .or_insert_with(|| self.layers.num_layers().to_string());
        meta.entry("vocab_size".into())
            .or_insert_with(|| self.vocab_size().to_string());
        meta.entry("hidden_size".into())
            .or_insert_with(|| self.hidden_size().to_string());
        write_tensors(path, &self.named_params(), &meta)
    }

    /// Sets every parameter from `file` (names as [`CharModel::named_params`]),
    /// all or nothing.
    ///
    /// Errors: [`RnnError::Shape`] for a tensor of the wrong shape,
    /// [`RnnError::Checkpoint`] for missing or unexpected tensors.
    pub fn load_from(&mut self, file: &TensorFile<F>) -> Result<(), RnnError> {
        let mut rnn = Vec::new();
        let mut head: BTreeMap<&str, ArrayViewD<'_, F>> = BTreeMap::new();
        let mut unexpected = Vec::new();
        for (name, a) in &file.tensors {
            if let Some(rest) = name.strip_prefix(RNN_PREFIX) {
                rnn.push((rest, a.view()));
            } else if let Some(rest) = name
                .strip_prefix(HEAD_PREFIX)
                .filter(|r| Linear::<F>::PARAM_NAMES.contains(r))
            {
                head.insert(rest, a.view());
            } else {
                unexpected.push(name.as_str());
            }
        }
        let missing: Vec<&str> = Linear::<F>::PARAM_NAMES
            .iter()
            .copied()
            .filter(|n| !head.contains_key(n))
            .collect();
        if !unexpected.is_empty() || !missing.is_empty() {
            return Err(RnnError::Checkpoint {
                path: file.source.clone(),
                message: format!(
                    "missing head tensors: [{}]; unexpected tensors: [{}]",
                    missing
                        .iter()
                        .map(|n| format!("{HEAD_PREFIX}{n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    unexpected.join(", ")
                ),
            });
        }
        let (w, b) = (&head["weight"], &head["bias"]);
        if w.shape() != self.head.weight.shape() {
            return Err(RnnError::shape(
                format!("{HEAD_PREFIX}weight in {}", file.source),
                self.head.weight.shape(),
                w.shape(),
            ));
        }
        if b.shape() != self.head.bias.shape() {
            return Err(RnnError::shape(
                format!("{HEAD_PREFIX}bias in {}", file.source),
                self.head.bias.shape(),
                b.shape(),
            ));
        }
        // Load the layers into a copy first so that an error leaves `self` unchanged.
        let mut layers = self.layers.clone();
        layers.load_named(rnn).map_err(|e| match e {
            RnnError::Checkpoint { message, .. } => RnnError::Checkpoint {
                path: file.source.clone(),
                message,
            },
            other => other,
        })?;
        self.layers = layers;
        self.head.weight.assign(w);
        self.head.bias.assign(b);
        Ok(())
    }

    /// Reads the safetensors file at `path` and loads it with [`CharModel::load_from`].
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<(), RnnError> {
        self.load_from(&read_tensors(path)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Kind, TestDims, TestRnn};
    use crate::train::charlm::{Corpus, windows};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    type Model = CharModel<f64, TestRnn<f64>>;

    fn setup(layers: usize) -> (Corpus, Model, Windows) {
        let corpus = Corpus::from_text("abcab cab\nbca abc! cba").unwrap();
        let v = corpus.vocab_size();
        let mut rng = StdRng::seed_from_u64(5);
        let model = Model::new(
            TestDims {
                i: v,
                h: 4,
                kind: Kind::Tanh,
            },
            layers,
            v,
            &mut rng,
        )
        .unwrap();
        let w = windows(corpus.ids(), &[0, 3, 9], 5).unwrap();
        (corpus, model, w)
    }

    #[test]
    fn gradients_match_finite_differences() {
        for layers in [1, 2] {
            let (_, model, w) = setup(layers);
            let (loss, grads) = model.loss_and_grad(&w).unwrap();
            assert!((loss - model.loss(&w).unwrap()).abs() < 1e-12);
            let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
            let gviews = grads.named_params();
            let eps = 1e-6;
            for (k, name) in names.iter().enumerate() {
                let len = gviews[k].1.len();
                for j in [0, len / 2, len - 1] {
                    let at = |d: f64| {
                        let mut m = model.clone();
                        let mut ps = m.named_params_mut();
                        let v = ps[k].1.iter_mut().nth(j).unwrap();
                        *v += d;
                        drop(ps);
                        m.loss(&w).unwrap()
                    };
                    let num = (at(eps) - at(-eps)) / (2.0 * eps);
                    let ana = *gviews[k].1.iter().nth(j).unwrap();
                    assert!(
                        (num - ana).abs() < 1e-7 * (1.0 + num.abs()),
                        "{name}[{j}]: {num} vs {ana}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_sampling_and_checkpoints() {
        let (corpus, model, _) = setup(1);
        let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.first().unwrap(), "rnn.weight_ih_l0");
        assert_eq!(
            &names[names.len() - 2..],
            &["head.weight".to_string(), "head.bias".to_string()]
        );
        let v = corpus.vocab_size();
        assert_eq!(model.num_scalars(), 4 * v + 4 * 4 + 4 + 4 + v * 4 + v);
        let prime = corpus.encode("\n").unwrap();
        let a = model.sample(&prime, 20, 0.8, &mut StdRng::seed_from_u64(1)).unwrap();
        let b = model.sample(&prime, 20, 0.8, &mut StdRng::seed_from_u64(1)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.iter().all(|&i| i < v));
        assert!(model.sample(&[], 3, 1.0, &mut StdRng::seed_from_u64(1)).is_err());
        assert!(model.sample(&[v], 3, 1.0, &mut StdRng::seed_from_u64(1)).is_err());

        let dir = std::env::temp_dir().join(format!("rnn-charmodel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        model.save(&path, &BTreeMap::new()).unwrap();
        let mut other = model.zeros_like();
        other.load_file(&path).unwrap();
        assert_eq!(other.head, model.head);
        for ((_, x), (_, y)) in other.named_params().iter().zip(model.named_params().iter()) {
            assert_eq!(x, y);
        }
        let mut file = model.to_tensor_file();
        file.tensors.pop();
        assert!(matches!(other.load_from(&file), Err(RnnError::Checkpoint { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
        let bad = TestDims {
            i: v + 1,
            h: 4,
            kind: Kind::Tanh,
        };
        assert!(Model::new(bad, 1, v, &mut StdRng::seed_from_u64(0)).is_err());
    }
}
