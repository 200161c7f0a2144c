//! Guards against divergence: detect NaN or infinity in a loss, a gradient
//! or a parameter, and keep the last good checkpoint on disk.
//!
//! [`check_value`] and [`check_tensors`] turn a non-finite scalar or tensor
//! into an [`RnnError::NonFinite`] naming the step and what was not finite
//! (`"training loss"`, `"gradient of head.bias (3 of 65 values)"`, ...).
//!
//! [`Checkpointer`] saves a model every `N` steps to one path through the
//! [`Checkpoint`] trait (or any closure), after checking that every
//! parameter is finite; it remembers the last step it saved. Writes go
//! through the atomic writer of [`crate::io`], and nothing is written once a
//! step has failed, so after a non-finite error the file at the path is the
//! complete checkpoint of [`Checkpointer::last_good`], untouched.
//!
//! ```
//! use rnn_runtime::train::guard::{check_tensors, check_value};
//! use rnn_runtime::RnnError;
//! let g = ndarray::arr1(&[0.5_f32, f32::NAN]).into_dyn();
//! let err = check_tensors(7, "gradient of", &[("head.bias".to_string(), g.view())]).unwrap_err();
//! assert_eq!(err.to_string(), "non-finite gradient of head.bias (1 of 2 values) at step 7");
//! assert!(matches!(check_value(3, "training loss", f64::INFINITY), Err(RnnError::NonFinite { step: 3, .. })));
//! assert!(check_value(3, "training loss", 2.5).is_ok());
//! ```

use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::model::SeqModel;
use crate::params::Params;
use ndarray::ArrayViewD;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `Ok` if `value` is finite, otherwise [`RnnError::NonFinite`] with `what`
/// and `step`.
pub fn check_value(step: usize, what: &str, value: f64) -> Result<(), RnnError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(RnnError::NonFinite {
            what: what.to_string(),
            step,
        })
    }
}

/// Number of NaN or infinite entries of `a`.
pub fn count_non_finite<F: Float>(a: &ArrayViewD<'_, F>) -> usize {
    match a.as_slice_memory_order() {
        Some(s) => s.iter().filter(|x| !x.is_finite()).count(),
        None => a.iter().filter(|x| !x.is_finite()).count(),
    }
}

/// `Ok` if every entry of every tensor is finite; otherwise
/// [`RnnError::NonFinite`] at `step` naming the first offending tensor as
/// `"{kind} {name} ({bad} of {len} values)"`, e.g. `kind = "gradient of"`.
pub fn check_tensors<F: Float>(
    step: usize,
    kind: &str,
    tensors: &[(String, ArrayViewD<'_, F>)],
) -> Result<(), RnnError> {
    for (name, t) in tensors {
        let bad = count_non_finite(t);
        if bad > 0 {
            return Err(RnnError::NonFinite {
                what: format!("{kind} {name} ({bad} of {} values)", t.len()),
                step,
            });
        }
    }
    Ok(())
}

/// `Ok` if every entry of every tensor of `params` is finite; otherwise
/// [`RnnError::NonFinite`] as [`check_tensors`] reports it. Tensors are read
/// by index and the name is built only for the error, so the check
/// allocates nothing.
pub fn check_params<F: Float, P: Params<F> + ?Sized>(step: usize, kind: &str, params: &P) -> Result<(), RnnError> {
    for k in 0..params.param_count() {
        let t = params.param(k);
        let bad = count_non_finite(&t);
        if bad > 0 {
            return Err(RnnError::NonFinite {
                what: format!("{kind} {} ({bad} of {} values)", params.param_name(k), t.len()),
                step,
            });
        }
    }
    Ok(())
}

/// A model that [`Checkpointer`] can save.
pub trait Checkpoint {
    /// `Ok` if every parameter is finite, otherwise [`RnnError::NonFinite`]
    /// at `step` naming the parameter.
    fn check_finite(&self, step: usize) -> Result<(), RnnError>;

    /// Writes a complete checkpoint to `path` with `metadata`, atomically
    /// (the old file stays whole if this fails).
    fn save_checkpoint(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), RnnError>;
}

impl<F: Float, C: Cell<F>> Checkpoint for SeqModel<F, C> {
    fn check_finite(&self, step: usize) -> Result<(), RnnError> {
        check_params(step, "parameter", self)
    }

    fn save_checkpoint(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), RnnError> {
        self.save(path, None, metadata)
    }
}

/// Saves checkpoints every `N` steps to one path and remembers the last
/// good one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpointer {
    path: PathBuf,
    every: usize,
    last_good: Option<usize>,
}

impl Checkpointer {
    /// Saves to `path` at every step that is a multiple of `every`
    /// (0: only when [`Checkpointer::save`] is called).
    pub fn new(path: impl Into<PathBuf>, every: usize) -> Self {
        Checkpointer {
            path: path.into(),
            every,
            last_good: None,
        }
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The interval in steps (0: none).
    pub fn every(&self) -> usize {
        self.every
    }

    /// The step of the last checkpoint written by this checkpointer, if any.
    pub fn last_good(&self) -> Option<usize> {
        self.last_good
    }

    /// Whether `step` is a multiple of the interval (never with interval 0).
    pub fn is_due(&self, step: usize) -> bool {
        self.every > 0 && step.is_multiple_of(self.every)
    }

    /// Checks that `model` is finite, then saves it with `metadata` plus
    /// `step` (unless `metadata` has that key) and records `step` as the
    /// last good one.
    ///
    /// Errors: [`RnnError::NonFinite`] (nothing is written), and any error
    /// of the save (the previous file stays whole).
    pub fn save<M: Checkpoint + ?Sized>(
        &mut self,
        step: usize,
        model: &M,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), RnnError> {
        model.check_finite(step)?;
        let mut meta = metadata.clone();
        meta.entry("step".into()).or_insert_with(|| step.to_string());
        self.save_with(step, |path| model.save_checkpoint(path, &meta))
    }

    /// [`Checkpointer::save`] if `step` [is due](Checkpointer::is_due);
    /// returns whether it saved.
    pub fn save_if_due<M: Checkpoint + ?Sized>(
        &mut self,
        step: usize,
        model: &M,
        metadata: &BTreeMap<String, String>,
    ) -> Result<bool, RnnError> {
        if !self.is_due(step) {
            return Ok(false);
        }
        self.save(step, model, metadata)?;
        Ok(true)
    }

    /// Saves through `save`, which is given the path and must write it
    /// atomically (as [`crate::io::write_tensors`] does) and only what is
    /// known to be good; records `step` as the last good one on success.
    /// Missing parent directories of the path are created first.
    pub fn save_with(&mut self, step: usize, save: impl FnOnce(&Path) -> Result<(), RnnError>) -> Result<(), RnnError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| RnnError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        save(&self.path)?;
        self.last_good = Some(step);
        Ok(())
    }

    /// A sentence for error messages: where the last good checkpoint is, or
    /// that none was written.
    pub fn describe(&self) -> String {
        match self.last_good {
            Some(step) => format!("the last good checkpoint (step {step}) is {}", self.path.display()),
            None => format!("no checkpoint was written to {}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_tensors;
    use crate::model::{Encoding, SeqModelConfig};
    use crate::testing::{Kind, TestDims, TestRnn};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn names_the_step_and_what() {
        assert!(check_value(1, "training loss", 0.0).is_ok());
        match check_value(12, "training loss", f64::NAN) {
            Err(RnnError::NonFinite { what, step }) => assert_eq!((what.as_str(), step), ("training loss", 12)),
            other => panic!("{other:?}"),
        }
        let ok = ndarray::Array2::<f64>::ones((2, 3)).into_dyn();
        let mut bad = ok.clone();
        bad[[1, 2]] = f64::NEG_INFINITY;
        bad[[0, 0]] = f64::NAN;
        let ts = vec![("a".to_string(), ok.view()), ("b".to_string(), bad.view())];
        assert_eq!(count_non_finite(&ts[1].1), 2);
        assert_eq!(count_non_finite(&bad.t().into_dyn()), 2);
        match check_tensors(5, "gradient of", &ts) {
            Err(RnnError::NonFinite { what, step }) => {
                assert_eq!(step, 5);
                assert_eq!(what, "gradient of b (2 of 6 values)");
            }
            other => panic!("{other:?}"),
        }
        assert!(check_tensors(5, "gradient of", &ts[..1]).is_ok());
    }

    #[test]
    fn keeps_the_last_good_checkpoint() {
        let dir = std::env::temp_dir().join(format!("rnn-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sub").join("ck.safetensors");
        let dims = TestDims {
            i: 3,
            h: 2,
            kind: Kind::Tanh,
        };
        let config = SeqModelConfig::language_model(Encoding::OneHot { vocab: 3 }, 3);
        let mut model = SeqModel::<f64, TestRnn<f64>>::new(dims, config, &mut StdRng::seed_from_u64(1)).unwrap();
        let mut ck = Checkpointer::new(&path, 2);
        assert!(ck.describe().starts_with("no checkpoint"));
        let meta = BTreeMap::new();
        assert!(!ck.save_if_due(1, &model, &meta).unwrap());
        assert!(ck.save_if_due(2, &model, &meta).unwrap());
        assert_eq!(ck.last_good(), Some(2));
        let good = model.to_tensor_file();
        model.head_mut().bias[1] = f64::INFINITY;
        match ck.save_if_due(4, &model, &meta) {
            Err(RnnError::NonFinite { what, step: 4 }) => assert!(what.contains("head.bias"), "{what}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(ck.last_good(), Some(2));
        assert!(ck.describe().contains("step 2"));
        let back = read_tensors::<f64>(&path).unwrap();
        assert_eq!(back.tensors, good.tensors);
        assert_eq!(back.meta("step").unwrap(), "2");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
