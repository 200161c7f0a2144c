//! The files a program writes, checked before the first training step:
//! never over one of its inputs, never two outputs to one file, never over
//! an existing file that is not a previous output of the same kind (unless
//! the user says `--force`), and only into directories it can write.
//!
//! ```
//! use rnn_examples::outputs::{Output, OutputKind, check_outputs};
//! use std::path::Path;
//! let dir = std::env::temp_dir().join(format!("rnn-outputs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let data = dir.join("corpus.txt");
//! std::fs::write(&data, "some text").unwrap();
//! let save = Output::new("--save", &data, OutputKind::Checkpoint);
//! let err = check_outputs(&[("--data", data.as_path())], &[save], false).unwrap_err();
//! assert!(err.to_string().contains("is the input of --data"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fmt;
use std::io::{BufRead, Read};
use std::path::{Component, Path, PathBuf};

/// What an output file holds, to recognise a previous output of the same
/// kind (which a new run may replace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// JSON lines, one object with a `step` per line.
    Metrics,
    /// An SVG drawing.
    Plot,
    /// A safetensors checkpoint of a `SeqModel` (its metadata names the cell).
    Checkpoint,
}

impl OutputKind {
    fn name(self) -> &'static str {
        match self {
            OutputKind::Metrics => "a metrics file (JSON lines with a \"step\")",
            OutputKind::Plot => "an SVG plot",
            OutputKind::Checkpoint => "a model checkpoint",
        }
    }

    /// Whether the existing file at `path` looks like an output of this kind.
    pub fn recognises(self, path: &Path) -> bool {
        match self {
            OutputKind::Metrics => first_line(path).is_some_and(|line| {
                line.trim().is_empty()
                    || serde_json::from_str::<serde_json::Value>(&line).is_ok_and(|v| v.get("step").is_some())
            }),
            OutputKind::Plot => {
                let mut head = [0u8; 512];
                let n = std::fs::File::open(path)
                    .and_then(|mut f| f.read(&mut head))
                    .unwrap_or(0);
                String::from_utf8_lossy(&head[..n]).contains("<svg")
            }
            OutputKind::Checkpoint => rnn::runtime::io::read_header(path)
                .is_ok_and(|h| h.metadata.contains_key(rnn::runtime::model::META_CELL)),
        }
    }
}

fn first_line(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).take(1 << 20).read_line(&mut line).ok()?;
    Some(line)
}

/// One output file: the option that named it, its path and its kind.
#[derive(Debug, Clone)]
pub struct Output<'a> {
    /// The command-line option (`--save`).
    pub option: &'a str,
    /// The path given.
    pub path: &'a Path,
    /// What it will hold.
    pub kind: OutputKind,
}

impl<'a> Output<'a> {
    /// The output `path` of `option`, holding `kind`.
    pub fn new(option: &'a str, path: &'a Path, kind: OutputKind) -> Self {
        Output { option, path, kind }
    }
}

/// Why the outputs were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError(pub String);

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OutputError {}

/// The file `path` names, as an absolute path with `.` and `..` resolved
/// and symbolic links followed as far as the path exists, so that two
/// spellings of one file compare equal.
pub fn identity(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
        // Follow links in the part that exists.
        if let Ok(p) = std::fs::canonicalize(&out) {
            out = p;
        }
    }
    out
}

/// Checks `outputs` before a run writes anything:
///
/// - none is one of the `inputs` (`(option, path)`), nor a directory;
/// - no two name the same file;
/// - an existing file is a previous output of the same kind, or `force`;
/// - each one's directory exists or can be created, and can be written.
///
/// Errors name the option and the file, and say what to do.
pub fn check_outputs(inputs: &[(&str, &Path)], outputs: &[Output<'_>], force: bool) -> Result<(), OutputError> {
    let ids: Vec<PathBuf> = outputs.iter().map(|o| identity(o.path)).collect();
    for (k, (o, id)) in outputs.iter().zip(&ids).enumerate() {
        if let Some((opt, _)) = inputs.iter().find(|(_, p)| identity(p) == *id) {
            return Err(OutputError(format!(
                "{} {}: this file is the input of {opt}; writing it would destroy the input, choose another path",
                o.option,
                o.path.display()
            )));
        }
        if let Some(j) = (0..k).find(|&j| ids[j] == *id) {
            return Err(OutputError(format!(
                "{} and {} both name {}: each output needs its own file",
                outputs[j].option,
                o.option,
                o.path.display()
            )));
        }
        if o.path.is_dir() {
            return Err(OutputError(format!(
                "{} {}: is a directory; give a file path",
                o.option,
                o.path.display()
            )));
        }
        if o.path.exists() && !force && !o.kind.recognises(o.path) {
            return Err(OutputError(format!(
                "{} {}: the file exists and is not {} written by a previous run; pass --force to overwrite it",
                o.option,
                o.path.display(),
                o.kind.name()
            )));
        }
        check_writable(o)?;
    }
    Ok(())
}

/// Creates the output's directory if needed and checks a file can be
/// created in it (by creating and removing an empty one).
fn check_writable(o: &Output<'_>) -> Result<(), OutputError> {
    let dir = match o.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let fail = |what: String| OutputError(format!("{} {}: {what}", o.option, o.path.display()));
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("cannot create directory {}: {e}", dir.display())))?;
    let probe = dir.join(format!(".rnn-write-check-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| fail(format!("cannot write in directory {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `path` if no file is there, else the first free `stem-2.ext`,
/// `stem-3.ext`, ...: a default output never replaces an earlier one.
pub fn fresh_path(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|k| path.with_file_name(format!("{stem}-{k}{ext}")))
        .find(|p| !p.exists())
        .expect("some free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rnn-outputs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn refuses_inputs_shared_paths_and_foreign_files() {
        let d = tmp("refuse");
        let data = d.join("data.txt");
        std::fs::write(&data, "text").unwrap();
        // The same file through another spelling is still the input.
        let other = d.join("sub").join("..").join("data.txt");
        let e = check_outputs(
            &[("--data", &data)],
            &[Output::new("--metrics", &other, OutputKind::Metrics)],
            false,
        )
        .unwrap_err();
        assert!(e.0.contains("--metrics") && e.0.contains("input of --data"), "{e}");
        let a = d.join("a.jsonl");
        let e = check_outputs(
            &[],
            &[
                Output::new("--metrics", &a, OutputKind::Metrics),
                Output::new("--step-metrics", &a, OutputKind::Metrics),
            ],
            false,
        )
        .unwrap_err();
        assert!(e.0.contains("--metrics and --step-metrics"), "{e}");
        // An existing file of another kind needs --force.
        let notes = d.join("notes.txt");
        std::fs::write(&notes, "my notes").unwrap();
        let out = [Output::new("--save", &notes, OutputKind::Checkpoint)];
        let e = check_outputs(&[], &out, false).unwrap_err();
        assert!(e.0.contains("--force"), "{e}");
        assert!(check_outputs(&[], &out, true).is_ok());
        assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
        // A previous metrics file may be replaced; so may a new path.
        std::fs::write(&a, "{\"step\":0,\"val_loss\":4.1}\n").unwrap();
        let fresh = d.join("new").join("m.jsonl");
        assert!(
            check_outputs(
                &[],
                &[
                    Output::new("--metrics", &a, OutputKind::Metrics),
                    Output::new("--step-metrics", &fresh, OutputKind::Metrics),
                ],
                false
            )
            .is_ok()
        );
        let svg = d.join("p.svg");
        std::fs::write(&svg, "<svg width=\"1\"></svg>").unwrap();
        assert!(check_outputs(&[], &[Output::new("--plot", &svg, OutputKind::Plot)], false).is_ok());
        assert!(check_outputs(&[], &[Output::new("--plot", &d, OutputKind::Plot)], true).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn fresh_paths_never_replace_a_file() {
        let d = tmp("fresh");
        let p = d.join("run.safetensors");
        assert_eq!(fresh_path(&p), p);
        std::fs::write(&p, "x").unwrap();
        assert_eq!(fresh_path(&p), d.join("run-2.safetensors"));
        std::fs::write(d.join("run-2.safetensors"), "x").unwrap();
        assert_eq!(fresh_path(&p), d.join("run-3.safetensors"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
