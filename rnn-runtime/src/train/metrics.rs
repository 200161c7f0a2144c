//! Training metrics as JSON lines: one JSON object per line, each line
//! flushed as soon as it is written, so a run that stops (or is stopped)
//! leaves every record it reported on disk, and `tail -f` follows it.
//!
//! [`MetricsWriter`] creates the file (and its parent directories) and
//! writes records given as ordered fields ([`MetricsWriter::write_fields`]),
//! as a `serde_json` object ([`MetricsWriter::write`]) or as an already
//! formatted line ([`MetricsWriter::write_line`], checked to be one JSON
//! object). [`read_metrics`] parses such a file back. Every I/O error is an
//! [`RnnError::Io`] naming the file.
//!
//! JSON has no NaN or infinity: `serde_json` turns a non-finite `f64` into
//! `null`, so a diverged value shows up as `null` rather than breaking the
//! file.
//!
//! ```
//! use rnn_runtime::train::{MetricsWriter, read_metrics};
//! use serde_json::json;
//! let dir = std::env::temp_dir().join(format!("rnn-metrics-doc-{}", std::process::id()));
//! let path = dir.join("run").join("steps.jsonl");
//! let mut m = MetricsWriter::create(&path).unwrap();
//! m.write_fields(&[("step", json!(1)), ("loss", json!(4.17)), ("grad_norm", json!(0.9))]).unwrap();
//! m.write(&json!({"step": 2, "loss": 3.9})).unwrap();
//! m.write_line(r#"{"step":2,"val_loss":4.0}"#).unwrap();
//! drop(m);
//! assert_eq!(
//!     std::fs::read_to_string(&path).unwrap().lines().next().unwrap(),
//!     r#"{"step":1,"loss":4.17,"grad_norm":0.9}"#
//! );
//! let records = read_metrics(&path).unwrap();
//! assert_eq!(records.len(), 3);
//! assert_eq!(records[2]["val_loss"], json!(4.0));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::error::RnnError;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

fn io_err(path: &Path, source: std::io::Error) -> RnnError {
    RnnError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Appends JSON-lines metric records to a file, flushing after every line.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    file: File,
}

impl MetricsWriter {
    /// Creates (or truncates) the file at `path`, creating missing parent
    /// directories.
    ///
    /// Errors: [`RnnError::Io`] naming the directory or the file.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        Self::open(path.as_ref(), false)
    }

    /// Opens the file at `path` for appending (creating it and its parent
    /// directories if missing), to continue a run's metrics.
    ///
    /// Errors: [`RnnError::Io`] naming the directory or the file.
    pub fn append(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        Self::open(path.as_ref(), true)
    }

    fn open(path: &Path, append: bool) -> Result<Self, RnnError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        if append {
            options.append(true).create(true);
        } else {
            options.write(true).create(true).truncate(true);
        }
        let file = options.open(path).map_err(|e| io_err(path, e))?;
        Ok(MetricsWriter {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one record whose keys keep the order given (a key given twice
    /// is written twice; avoid it).
    ///
    /// Errors: [`RnnError::Io`] naming the file.
    pub fn write_fields(&mut self, fields: &[(&str, Value)]) -> Result<(), RnnError> {
        let mut line = String::from("{");
        for (k, (key, value)) in fields.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            line.push_str(&Value::from(*key).to_string());
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push('}');
        self.put(&line)
    }

    /// Writes one record, which must be a JSON object (keys in `serde_json`'s
    /// map order).
    ///
    /// Errors: [`RnnError::Invalid`] if `record` is not an object,
    /// [`RnnError::Io`] naming the file.
    pub fn write(&mut self, record: &Value) -> Result<(), RnnError> {
        if !record.is_object() {
            return Err(RnnError::Invalid(format!(
                "a metrics record for {} must be a JSON object, got {record}",
                self.path.display()
            )));
        }
        self.put(&record.to_string())
    }

    /// Writes an already formatted record (without the newline), after
    /// checking that it is one JSON object on one line.
    ///
    /// Errors: [`RnnError::Invalid`] if `line` is not a single-line JSON
    /// object, [`RnnError::Io`] naming the file.
    pub fn write_line(&mut self, line: &str) -> Result<(), RnnError> {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        if line.contains('\n') || !matches!(parsed, Ok(Value::Object(_))) {
            return Err(RnnError::Invalid(format!(
                "a metrics line for {} must be one JSON object on one line, got {line:?}",
                self.path.display()
            )));
        }
        self.put(line)
    }

    fn put(&mut self, line: &str) -> Result<(), RnnError> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| io_err(&self.path, e))
    }
}

/// Reads a JSON-lines metrics file back: one object per non-empty line.
///
/// Errors: [`RnnError::Io`] if the file cannot be read,
/// [`RnnError::Invalid`] naming the file and the 1-based line number for a
/// line that is not a JSON object.
pub fn read_metrics(path: impl AsRef<Path>) -> Result<Vec<Map<String, Value>>, RnnError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => out.push(map),
            Ok(other) => {
                return Err(RnnError::Invalid(format!(
                    "{} line {}: expected a JSON object, got {other}",
                    path.display(),
                    k + 1
                )));
            }
            Err(e) => {
                return Err(RnnError::Invalid(format!("{} line {}: {e}", path.display(), k + 1)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rnn-metrics-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn lines_parse_back_in_order() {
        let dir = temp_dir("parse");
        let path = dir.join("a/b/m.jsonl");
        let mut m = MetricsWriter::create(&path).unwrap();
        assert_eq!(m.path(), path.as_path());
        for step in 1..=3 {
            m.write_fields(&[
                ("step", json!(step)),
                ("loss", json!(1.0 / step as f64)),
                ("grad_norm", json!(f64::NAN)),
                ("lr", json!(2e-3)),
            ])
            .unwrap();
        }
        // Every line is on disk before the writer is dropped.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.starts_with(r#"{"step":1,"loss":1.0,"grad_norm":null,"lr":0.002}"#));
        let records = read_metrics(&path).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2]["step"], json!(3));
        assert_eq!(records[1]["loss"].as_f64(), Some(0.5));
        let keys: Vec<&str> = records[0].keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4);

        // Appending keeps the old lines; creating truncates.
        let mut m = MetricsWriter::append(&path).unwrap();
        m.write(&json!({"step": 4})).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 4);
        let mut m = MetricsWriter::create(&path).unwrap();
        m.write_line(r#"{"step":0,"val_loss":4.1}"#).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_non_objects_and_names_the_path() {
        let dir = temp_dir("reject");
        let path = dir.join("m.jsonl");
        let mut m = MetricsWriter::create(&path).unwrap();
        assert!(matches!(m.write(&json!([1, 2])), Err(RnnError::Invalid(_))));
        assert!(matches!(m.write_line("{\"a\":1}\n{}"), Err(RnnError::Invalid(_))));
        assert!(matches!(m.write_line("not json"), Err(RnnError::Invalid(_))));
        std::fs::write(&path, "{\"a\":1}\n[2]\n").unwrap();
        let e = read_metrics(&path).unwrap_err().to_string();
        assert!(e.contains("m.jsonl line 2"), "{e}");

        // A parent that is a regular file cannot become a directory.
        let blocked = path.join("sub").join("x.jsonl");
        match MetricsWriter::create(&blocked) {
            Err(RnnError::Io { path: p, .. }) => assert!(p.contains("m.jsonl"), "{p}"),
            other => panic!("expected an i/o error, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
