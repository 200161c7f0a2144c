//! Reading and writing named tensors in the safetensors format.
//!
//! Checkpoints and the PyTorch parity fixtures are safetensors files: an
//! 8-byte little-endian header length, a JSON header (tensor names, dtypes,
//! shapes, byte offsets and a string→string `__metadata__` map), then the raw
//! little-endian tensor bytes. [`read_tensors`] loads a whole file into a
//! [`TensorFile`] (owned `ndarray` arrays, in file order, plus the metadata);
//! [`write_tensors`] writes one atomically (temporary file in the same
//! directory, `fsync`, rename), so a crash never leaves a half-written file at
//! the destination. [`read_header`] reads only the header, which is enough to
//! decide which model and float type to load a file into.
//!
//! Only `F32` and `F64` tensors are supported. A file whose dtype differs from
//! the requested float type is converted on read (`f32 → f64` is exact,
//! `f64 → f32` rounds to nearest); use [`read_tensors_exact`] to refuse the
//! conversion instead.
//!
//! ```
//! use rnn_runtime::io::{read_tensors, write_tensors};
//! use std::collections::BTreeMap;
//! let dir = std::env::temp_dir().join(format!("rnn-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("w.safetensors");
//! let w = ndarray::Array2::<f32>::eye(3).into_dyn();
//! let meta = BTreeMap::from([("step".to_string(), "10".to_string())]);
//! write_tensors(&path, &[("w".to_string(), w.view())], &meta).unwrap();
//! let file = read_tensors::<f32>(&path).unwrap();
//! assert_eq!(file.get_array2("w").unwrap(), ndarray::Array2::<f32>::eye(3));
//! assert_eq!(file.meta("step").unwrap(), "10");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView1, ArrayView2, ArrayView3, ArrayViewD, Ix1, Ix2, Ix3, IxDyn};
use safetensors::tensor::{Dtype, Metadata, SafeTensorError, SafeTensors};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[cfg(test)]
mod tests;

/// A set of named tensors and string metadata, as stored in one safetensors file.
///
/// Tensors keep the order they had in the file (or were inserted in); names
/// are unique.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorFile<F> {
    /// The tensors, in file order.
    pub tensors: Vec<(String, ArrayD<F>)>,
    /// The header's `__metadata__` map (empty if the file has none).
    pub metadata: BTreeMap<String, String>,
    /// Where the tensors came from (a path, or `<memory>`); used in error messages.
    pub source: String,
}

impl<F> Default for TensorFile<F> {
    fn default() -> Self {
        TensorFile {
            tensors: Vec::new(),
            metadata: BTreeMap::new(),
            source: "<memory>".to_string(),
        }
    }
}

impl<F: Float> TensorFile<F> {
    /// An empty set of tensors, not tied to a file.
    pub fn new() -> Self {
        Self::default()
    }

    fn err(&self, message: String) -> RnnError {
        RnnError::Checkpoint {
            path: self.source.clone(),
            message,
        }
    }

    /// The tensor `name`, or a [`RnnError::Checkpoint`] naming it.
    pub fn get(&self, name: &str) -> Result<ArrayViewD<'_, F>, RnnError> {
        self.tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.view())
            .ok_or_else(|| self.err(format!("missing tensor `{name}`")))
    }

    /// Whether a tensor called `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.iter().any(|(n, _)| n == name)
    }

    /// The tensor names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|(n, _)| n.as_str())
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    fn get_rank<D: ndarray::Dimension>(&self, name: &str) -> Result<ArrayViewD<'_, F>, RnnError> {
        let a = self.get(name)?;
        let rank = D::NDIM.unwrap_or(a.ndim());
        if a.ndim() != rank {
            return Err(self.err(format!(
                "tensor `{name}` has shape {:?} (rank {}), expected rank {rank}",
                a.shape(),
                a.ndim()
            )));
        }
        Ok(a)
    }

    /// The tensor `name` as a vector; an error names the tensor and its shape
    /// if it is missing or not of rank 1.
    pub fn get_array1(&self, name: &str) -> Result<ArrayView1<'_, F>, RnnError> {
        Ok(self
            .get_rank::<Ix1>(name)?
            .into_dimensionality::<Ix1>()
            .expect("rank checked"))
    }

    /// The tensor `name` as a matrix (rank checked, see [`TensorFile::get_array1`]).
    pub fn get_array2(&self, name: &str) -> Result<ArrayView2<'_, F>, RnnError> {
        Ok(self
            .get_rank::<Ix2>(name)?
            .into_dimensionality::<Ix2>()
            .expect("rank checked"))
    }

    /// The tensor `name` as a rank-3 array (rank checked, see [`TensorFile::get_array1`]).
    pub fn get_array3(&self, name: &str) -> Result<ArrayView3<'_, F>, RnnError> {
        Ok(self
            .get_rank::<Ix3>(name)?
            .into_dimensionality::<Ix3>()
            .expect("rank checked"))
    }

    /// The tensor `name`, which must have exactly the shape `shape`; the
    /// error names the tensor and both shapes.
    pub fn get_shaped(&self, name: &str, shape: &[usize]) -> Result<ArrayViewD<'_, F>, RnnError> {
        let a = self.get(name)?;
        if a.shape() != shape {
            return Err(RnnError::shape(
                format!("tensor `{name}` in {}", self.source),
                shape,
                a.shape(),
            ));
        }
        Ok(a)
    }

    /// Owned copies of [`TensorFile::get_array2`]'s result.
    pub fn to_array2(&self, name: &str) -> Result<Array2<F>, RnnError> {
        Ok(self.get_array2(name)?.to_owned())
    }

    /// Owned copy of [`TensorFile::get_array3`]'s result.
    pub fn to_array3(&self, name: &str) -> Result<Array3<F>, RnnError> {
        Ok(self.get_array3(name)?.to_owned())
    }

    /// Owned copy of [`TensorFile::get_array1`]'s result.
    pub fn to_array1(&self, name: &str) -> Result<Array1<F>, RnnError> {
        Ok(self.get_array1(name)?.to_owned())
    }

    /// Adds a tensor, replacing any tensor of the same name in place.
    pub fn insert(&mut self, name: impl Into<String>, array: ArrayD<F>) {
        let name = name.into();
        match self.tensors.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = array,
            None => self.tensors.push((name, array)),
        }
    }

    /// Removes and returns the tensor `name`, if present.
    pub fn remove(&mut self, name: &str) -> Option<ArrayD<F>> {
        let pos = self.tensors.iter().position(|(n, _)| n == name)?;
        Some(self.tensors.remove(pos).1)
    }

    /// The metadata value `key`, or a [`RnnError::Checkpoint`] naming the key.
    pub fn meta(&self, key: &str) -> Result<&str, RnnError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.err(format!("missing metadata key `{key}`")))
    }

    /// The metadata value `key` parsed as `T`; the error names the key and the value.
    pub fn meta_parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, RnnError> {
        let v = self.meta(key)?;
        v.parse().map_err(|_| {
            self.err(format!(
                "metadata `{key}` = {v:?} is not a valid {}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// Views of every tensor, in order, in the form [`write_tensors`] takes.
    pub fn views(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        self.tensors.iter().map(|(n, a)| (n.clone(), a.view())).collect()
    }

    /// Writes every tensor and the metadata to `path` (see [`write_tensors`]).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), RnnError> {
        write_tensors(path, &self.views(), &self.metadata)
    }
}

/// Name, dtype and shape of one tensor in a file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// The safetensors dtype name (`F32`, `F64`, `I64`, ...).
    pub dtype: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
}

/// What a safetensors header says: the metadata and every tensor's dtype and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's `__metadata__` map.
    pub metadata: BTreeMap<String, String>,
    /// The tensors, in file order.
    pub tensors: Vec<TensorInfo>,
}

impl Header {
    /// The entry for tensor `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The dtype shared by every tensor, or `None` if the file is empty or mixes dtypes.
    pub fn common_dtype(&self) -> Option<&str> {
        let first = self.tensors.first()?.dtype.as_str();
        self.tensors.iter().all(|t| t.dtype == first).then_some(first)
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, RnnError> {
    std::fs::read(path).map_err(|source| RnnError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn describe(e: &SafeTensorError, len: usize) -> String {
    let what = match e {
        SafeTensorError::HeaderTooSmall => format!("file is {len} bytes, too short for a safetensors header"),
        SafeTensorError::InvalidHeaderLength => {
            "the header length in the first 8 bytes runs past the end of the file".to_string()
        }
        SafeTensorError::HeaderTooLarge => "the header length in the first 8 bytes is implausibly large".to_string(),
        SafeTensorError::InvalidHeader(_) => "the header is not valid UTF-8".to_string(),
        SafeTensorError::InvalidHeaderDeserialization(e) => format!("the header is not valid safetensors JSON ({e})"),
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensor data does not match the file size (the file is truncated or has trailing bytes)".to_string()
        }
        SafeTensorError::InvalidOffset(name) => format!("tensor `{name}` has invalid data offsets"),
        SafeTensorError::TensorInvalidInfo => "a tensor's byte range does not match its shape and dtype".to_string(),
        other => format!("{other:?}"),
    };
    format!("not a valid safetensors file: {what}")
}

fn parse_header(bytes: &[u8], source: &str) -> Result<(usize, Metadata), RnnError> {
    SafeTensors::read_metadata(bytes).map_err(|e| RnnError::Checkpoint {
        path: source.to_string(),
        message: describe(&e, bytes.len()),
    })
}

fn header_of(meta: &Metadata) -> Header {
    let metadata = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let tensors = meta
        .offset_keys()
        .into_iter()
        .map(|name| {
            let info = meta.info(&name).expect("key from the same header");
            TensorInfo {
                dtype: info.dtype.to_string(),
                shape: info.shape.clone(),
                name,
            }
        })
        .collect();
    Header { metadata, tensors }
}

/// Reads only the header of the safetensors file at `path`.
///
/// Errors: [`RnnError::Io`] if the file cannot be read, [`RnnError::Checkpoint`]
/// if it is not a well-formed safetensors file.
pub fn read_header(path: impl AsRef<Path>) -> Result<Header, RnnError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let (_, meta) = parse_header(&bytes, &path.display().to_string())?;
    Ok(header_of(&meta))
}

fn decode<F: Float, const N: usize>(data: &[u8], conv: impl Fn([u8; N]) -> F) -> Vec<F> {
    data.chunks_exact(N)
        .map(|c| conv(c.try_into().expect("chunks_exact yields N bytes")))
        .collect()
}

/// Decodes a safetensors file already in memory; `source` names it in errors.
///
/// With `exact`, a tensor whose dtype is not `F::DTYPE` is an error;
/// otherwise `F32`/`F64` tensors are converted to `F`.
pub fn parse_tensors<F: Float>(bytes: &[u8], source: &str, exact: bool) -> Result<TensorFile<F>, RnnError> {
    let (n, meta) = parse_header(bytes, source)?;
    let data = &bytes[8 + n..];
    let header = header_of(&meta);
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for t in header.tensors {
        let info = meta.info(&t.name).expect("key from the same header");
        let raw = &data[info.data_offsets.0..info.data_offsets.1];
        let err = |message: String| RnnError::Checkpoint {
            path: source.to_string(),
            message,
        };
        if exact && t.dtype != F::DTYPE {
            return Err(err(format!(
                "tensor `{}` has dtype {}, expected {} (no conversion requested)",
                t.name,
                t.dtype,
                F::DTYPE
            )));
        }
        let values: Vec<F> = match info.dtype {
            Dtype::F64 => decode::<F, 8>(raw, |b| F::from_f64c(f64::from_le_bytes(b))),
            Dtype::F32 => decode::<F, 4>(raw, |b| F::from_f64c(f32::from_le_bytes(b) as f64)),
            other => {
                return Err(err(format!(
                    "tensor `{}` has unsupported dtype {other} (only F32 and F64 are supported)",
                    t.name
                )));
            }
        };
        let array = ArrayD::from_shape_vec(IxDyn(&t.shape), values).map_err(|e| {
            err(format!(
                "tensor `{}`: shape {:?} does not fit its data: {e}",
                t.name, t.shape
            ))
        })?;
        tensors.push((t.name, array));
    }
    Ok(TensorFile {
        tensors,
        metadata: header.metadata,
        source: source.to_string(),
    })
}

/// Reads every tensor of the safetensors file at `path` as `F`.
///
/// `F32` and `F64` files are accepted whatever `F` is: `f32 → f64` is exact,
/// `f64 → f32` rounds to nearest. Data is decoded bytewise (no alignment is
/// assumed). Errors: [`RnnError::Io`] (with the path) if the file cannot be
/// read; [`RnnError::Checkpoint`] if it is truncated or not a safetensors file,
/// or if a tensor has another dtype (the message names the tensor).
pub fn read_tensors<F: Float>(path: impl AsRef<Path>) -> Result<TensorFile<F>, RnnError> {
    let path = path.as_ref();
    parse_tensors(&read_bytes(path)?, &path.display().to_string(), false)
}

/// Like [`read_tensors`], but every tensor must already have dtype `F::DTYPE`.
pub fn read_tensors_exact<F: Float>(path: impl AsRef<Path>) -> Result<TensorFile<F>, RnnError> {
    let path = path.as_ref();
    parse_tensors(&read_bytes(path)?, &path.display().to_string(), true)
}

/// Encodes tensors and metadata as safetensors bytes.
///
/// Tensors are stored in the order given (any memory layout is accepted and
/// written row-major); the header is deterministic (metadata sorted by key),
/// so equal inputs give byte-identical files. Duplicate names are an
/// [`RnnError::Invalid`].
pub fn serialize_tensors<F: Float>(
    tensors: &[(String, ArrayViewD<'_, F>)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, RnnError> {
    let size = std::mem::size_of::<F>();
    let mut seen = std::collections::HashSet::new();
    let mut entries: Vec<(String, serde_json::Value)> = Vec::with_capacity(tensors.len() + 1);
    if !metadata.is_empty() {
        let m: serde_json::Map<String, serde_json::Value> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        entries.push(("__metadata__".to_string(), serde_json::Value::Object(m)));
    }
    let mut offset = 0usize;
    for (name, a) in tensors {
        if name == "__metadata__" {
            return Err(RnnError::Invalid("a tensor cannot be called `__metadata__`".into()));
        }
        if !seen.insert(name.as_str()) {
            return Err(RnnError::Invalid(format!("tensor `{name}` given twice")));
        }
        let end = offset + a.len() * size;
        let info = serde_json::json!({
            "dtype": F::DTYPE,
            "shape": a.shape(),
            "data_offsets": [offset, end],
        });
        entries.push((name.clone(), info));
        offset = end;
    }
    // Written by hand so the key order is the order above, whatever serde_json's map is.
    let mut json = String::from("{");
    for (k, (key, value)) in entries.iter().enumerate() {
        if k > 0 {
            json.push(',');
        }
        json.push_str(&serde_json::to_string(key).expect("a string serialises"));
        json.push(':');
        json.push_str(&serde_json::to_string(value).expect("a value serialises"));
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    for (_, a) in tensors {
        for &v in a.iter() {
            if size == 8 {
                out.extend_from_slice(&v.to_f64c().to_le_bytes());
            } else {
                // F is f32 here: the cast is exact.
                out.extend_from_slice(&(v.to_f64c() as f32).to_le_bytes());
            }
        }
    }
    Ok(out)
}

/// Writes tensors and metadata to `path` as a safetensors file, atomically.
///
/// The bytes go to a temporary file in the same directory, which is flushed
/// to disk (`fsync`) and then renamed over `path`; on any error the temporary
/// file is removed, so `path` holds either its old contents or the complete
/// new file, never a partial one. The dtype is `F::DTYPE`. See
/// [`serialize_tensors`] for ordering and duplicate names.
pub fn write_tensors<F: Float>(
    path: impl AsRef<Path>,
    tensors: &[(String, ArrayViewD<'_, F>)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), RnnError> {
    let bytes = serialize_tensors(tensors, metadata)?;
    write_atomic(path.as_ref(), &bytes)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RnnError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    let io_err = |p: &Path, source: std::io::Error| RnnError::Io {
        path: p.display().to_string(),
        source,
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| RnnError::Invalid(format!("cannot write to {}: not a file path", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let nonce = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{nonce}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
