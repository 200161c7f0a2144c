//! Parity with PyTorch: run a reference fixture through [`Layers`] and compare.
//!
//! [`run_shipped`] picks the shipped cell and float type from a fixture's
//! metadata; the `torch_parity` program and `tests/parity.rs` use it.
//!
//! A fixture (see `tests/fixtures/torch/README.md`) is a safetensors file
//! holding the parameters of a PyTorch `nn.LSTM` / `nn.GRU` / `nn.RNN` under
//! their `state_dict` names, the inputs `x`, `h0` (and `c0`), the upstream
//! gradients `G`, `Gh` (and `Gc`) of the loss
//! `L = Σ out·G + Σ h_n·Gh (+ Σ c_n·Gc)`, and what PyTorch computed: `out`,
//! `h_n` (`c_n`), `loss` and `grad_<name>` for every parameter and for `x`,
//! `h0` (`c0`).
//!
//! A fixture of a variable-length batch (`tests/fixtures/torch_packed/`)
//! also holds `lengths` (`[B]`, whole numbers stored as floats): PyTorch
//! ran it as a packed sequence (`pack_padded_sequence(...,
//! enforce_sorted=False)`), and so does this runner
//! ([`Layers::forward_train_with_lengths`]); the results have the same
//! names.
//!
//! [`run_fixture`] rebuilds the model from the metadata (`num_layers`,
//! `bidirectional`) for any cell type, loads the parameters, runs the
//! training forward and BPTT, and returns the same tensors computed here;
//! [`compare`] checks them against the fixture with the README's tolerance
//! `|a_i − b_i| <= rtol (|b_i| + max_j |b_j|)`. [`FixtureSpec::read`] reads
//! just the header, so a program can pick the cell type and float type first;
//! [`run_fixture_file`] does everything for one file.
//!
//! Cell states map to fixture names by position: state 0 is `h` (`h0`, `Gh`,
//! `h_n`), state 1 is `c` (`c0`, `Gc`, `c_n`); cells with more than two states
//! have no PyTorch counterpart and are rejected.

use ndarray::{Array1, Array3, ArrayViewD};
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnRelu, RnnReluDims, RnnTanh, RnnTanhDims};
use rnn::runtime::io::{TensorFile, read_header, read_tensors_exact};
use rnn::{Cell, Float, Layers, RnnError};
use std::fmt;
use std::path::Path;

#[cfg(test)]
mod tests;

/// Fixture names of one cell state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateNames {
    /// Initial state input (`h0`).
    pub init: &'static str,
    /// Upstream gradient of the final state (`Gh`).
    pub upstream: &'static str,
    /// Final state output (`h_n`).
    pub last: &'static str,
}

/// Fixture names of the states, by the cell's state position.
pub const STATE_NAMES: [StateNames; 2] = [
    StateNames {
        init: "h0",
        upstream: "Gh",
        last: "h_n",
    },
    StateNames {
        init: "c0",
        upstream: "Gc",
        last: "c_n",
    },
];

/// Tensor names in a fixture that are not parameters (besides `grad_*`).
pub const NON_PARAMETERS: [&str; 11] = ["x", "h0", "c0", "G", "Gh", "Gc", "out", "h_n", "c_n", "loss", "lengths"];

/// Whether a fixture tensor name is a model parameter.
pub fn is_parameter_name(name: &str) -> bool {
    !NON_PARAMETERS.contains(&name) && !name.starts_with("grad_")
}

/// The float type a fixture is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureDtype {
    /// `float32` (`*_f32.safetensors`): run the model in `f32`.
    F32,
    /// `float64`: run the model in `f64`.
    F64,
}

/// What a fixture describes, read from its header only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureSpec {
    /// The file.
    pub path: String,
    /// Metadata `cell`: `lstm`, `gru` or `rnn`.
    pub cell: String,
    /// Metadata `nonlinearity`: `tanh` or `relu` for `rnn`, `n/a` otherwise.
    pub nonlinearity: String,
    /// Metadata `num_layers`.
    pub num_layers: usize,
    /// Metadata `bidirectional`.
    pub bidirectional: bool,
    /// Metadata `dtype` (checked against the tensors' dtype).
    pub dtype: FixtureDtype,
    /// `T`, from the shape of `x`.
    pub seq_len: usize,
    /// `B`, from the shape of `x`.
    pub batch: usize,
    /// `I`, from the shape of `x`.
    pub input_size: usize,
    /// `H`, from the shape of `h0`.
    pub hidden_size: usize,
    /// Whether the fixture is a variable-length batch (it has `lengths`).
    pub packed: bool,
}

fn bad(path: &str, message: impl Into<String>) -> RnnError {
    RnnError::Checkpoint {
        path: path.to_string(),
        message: message.into(),
    }
}

fn parse_bool(path: &str, key: &str, v: &str) -> Result<bool, RnnError> {
    match v {
        "true" | "True" | "1" => Ok(true),
        "false" | "False" | "0" => Ok(false),
        _ => Err(bad(path, format!("metadata `{key}` = {v:?} is not true or false"))),
    }
}

/// `num_layers` and `bidirectional` from fixture metadata (lookup by key).
fn structure(path: &str, get: impl Fn(&str) -> Option<String>) -> Result<(usize, bool), RnnError> {
    let need = |k: &str| get(k).ok_or_else(|| bad(path, format!("missing metadata key `{k}`")));
    let layers_s = need("num_layers")?;
    let num_layers: usize = layers_s.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
        bad(
            path,
            format!("metadata `num_layers` = {layers_s:?} is not a positive integer"),
        )
    })?;
    let bidirectional = parse_bool(path, "bidirectional", &need("bidirectional")?)?;
    if let Some(d) = get("num_directions") {
        let want = if bidirectional { "2" } else { "1" };
        if d != want {
            return Err(bad(
                path,
                format!("metadata `num_directions` = {d:?} contradicts `bidirectional` = {bidirectional}"),
            ));
        }
    }
    Ok((num_layers, bidirectional))
}

impl FixtureSpec {
    /// Reads the header of the fixture at `path` (no tensor data is decoded).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, RnnError> {
        let path_s = path.as_ref().display().to_string();
        let header = read_header(&path)?;
        let meta = |k: &str| header.metadata.get(k).cloned();
        let need = |k: &str| meta(k).ok_or_else(|| bad(&path_s, format!("missing metadata key `{k}`")));
        let (num_layers, bidirectional) = structure(&path_s, meta)?;
        let stored = header
            .common_dtype()
            .ok_or_else(|| bad(&path_s, "tensors are missing or have mixed dtypes"))?;
        let dtype = match need("dtype")?.as_str() {
            "float64" | "F64" => FixtureDtype::F64,
            "float32" | "F32" => FixtureDtype::F32,
            other => {
                return Err(bad(
                    &path_s,
                    format!("metadata `dtype` = {other:?} is not float32 or float64"),
                ));
            }
        };
        let want = match dtype {
            FixtureDtype::F64 => "F64",
            FixtureDtype::F32 => "F32",
        };
        if stored != want {
            return Err(bad(
                &path_s,
                format!("metadata says {want} but the tensors are {stored}"),
            ));
        }
        let shape = |name: &str, rank: usize| -> Result<Vec<usize>, RnnError> {
            let t = header
                .tensor(name)
                .ok_or_else(|| bad(&path_s, format!("missing tensor `{name}`")))?;
            if t.shape.len() != rank {
                return Err(bad(
                    &path_s,
                    format!("tensor `{name}` has shape {:?}, expected rank {rank}", t.shape),
                ));
            }
            Ok(t.shape.clone())
        };
        let x = shape("x", 3)?;
        let h0 = shape("h0", 3)?;
        let rows = num_layers * if bidirectional { 2 } else { 1 };
        if h0[0] != rows || h0[1] != x[1] {
            return Err(RnnError::shape(
                format!("tensor `h0` in {path_s}"),
                &[rows, x[1], h0[2]],
                &h0,
            ));
        }
        Ok(FixtureSpec {
            cell: need("cell")?,
            nonlinearity: meta("nonlinearity").unwrap_or_else(|| "n/a".into()),
            num_layers,
            bidirectional,
            dtype,
            seq_len: x[0],
            batch: x[1],
            input_size: x[2],
            hidden_size: h0[2],
            packed: header.tensor("lengths").is_some(),
            path: path_s,
        })
    }
}

/// The fixture's `lengths` (`[B]` whole numbers, each at most `T`), if it
/// has them.
fn fixture_lengths<F: Float>(
    fixture: &TensorFile<F>,
    t_len: usize,
    batch: usize,
) -> Result<Option<Vec<usize>>, RnnError> {
    if !fixture.contains("lengths") {
        return Ok(None);
    }
    let src = fixture.source.as_str();
    let l = fixture.get_shaped("lengths", &[batch])?;
    l.iter()
        .map(|v| {
            let v = v.to_f64c();
            if v >= 0.0 && v <= t_len as f64 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(bad(
                    src,
                    format!("`lengths` holds {v}, not a length between 0 and T = {t_len}"),
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Sum of `a·b` accumulated in `f64`.
fn dot<F: Float>(a: ArrayViewD<'_, F>, b: ArrayViewD<'_, F>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x.to_f64c() * y.to_f64c()).sum()
}

/// Runs the fixture's model: builds [`Layers`] of `C` with layer-0 `dims`
/// and the fixture's `num_layers` / `bidirectional`, loads every parameter
/// (all must be present with PyTorch shapes; unknown parameter-like names
/// are an error), runs the training forward from `h0` (`c0`), over the
/// fixture's `lengths` if it has them, and BPTT with `G`, `Gh` (`Gc`).
///
/// Returns a [`TensorFile`] with `out`, `h_n`, (`c_n`), `loss` (recomputed
/// as `Σ out·G + Σ h_n·Gh (+ Σ c_n·Gc)`, summed in `f64`), then `grad_<name>`
/// for every parameter in PyTorch order and `grad_x`, `grad_h0`, (`grad_c0`).
/// The metadata is the fixture's, with `format` = `rnn-parity-result-v1`
/// and `tensors` listing the result's tensors.
pub fn run_fixture<F: Float, C: Cell<F>>(fixture: &TensorFile<F>, dims: C::Dims) -> Result<TensorFile<F>, RnnError> {
    let src = fixture.source.as_str();
    let (num_layers, bidirectional) = structure(src, |k| fixture.metadata.get(k).cloned())?;
    let mut layers = Layers::<F, C>::zeros(dims, num_layers, bidirectional)?;
    let n_states = layers.state_sizes().len();
    if n_states == 0 || n_states > STATE_NAMES.len() {
        return Err(RnnError::Invalid(format!(
            "cell {} has {n_states} states; PyTorch fixtures describe one (h) or two (h, c)",
            C::NAME
        )));
    }
    for (k, names) in STATE_NAMES.iter().enumerate() {
        if k >= n_states && fixture.contains(names.init) {
            return Err(bad(
                src,
                format!(
                    "fixture has `{}` but cell {} has only {n_states} state(s)",
                    names.init,
                    C::NAME
                ),
            ));
        }
    }
    let params = fixture
        .tensors
        .iter()
        .filter(|(n, _)| is_parameter_name(n))
        .map(|(n, a)| (n.as_str(), a.view()));
    layers.load_named_from(params, src)?;

    let rows = layers.cells().len();
    let x = fixture.get_array3("x")?;
    let (t_len, batch) = (x.shape()[0], x.shape()[1]);
    let state = |name: &str, k: usize| -> Result<Array3<F>, RnnError> {
        let want = [rows, batch, layers.state_sizes()[k]];
        Ok(fixture
            .get_shaped(name, &want)?
            .into_dimensionality()
            .expect("rank checked")
            .to_owned())
    };
    let init = (0..n_states)
        .map(|k| state(STATE_NAMES[k].init, k))
        .collect::<Result<Vec<_>, _>>()?;
    let upstream = (0..n_states)
        .map(|k| state(STATE_NAMES[k].upstream, k))
        .collect::<Result<Vec<_>, _>>()?;
    let g = fixture.get_shaped("G", &[t_len, batch, layers.output_size()])?;
    let g = g.into_dimensionality().expect("rank checked");

    let lengths = fixture_lengths(fixture, t_len, batch)?;
    let trace = layers.forward_train_with_lengths(x, lengths.as_deref(), &init)?;
    let (grads, d_xs, d_init) = layers.backward(&trace, g, &upstream)?;

    let mut loss = dot(trace.out.view().into_dyn(), g.into_dyn());
    for (s, u) in trace.states.iter().zip(&upstream) {
        loss += dot(s.view().into_dyn(), u.view().into_dyn());
    }

    let mut out = TensorFile::new();
    out.source = format!("results for {src}");
    out.insert("out", trace.out.clone().into_dyn());
    for (k, s) in trace.states.iter().enumerate() {
        out.insert(STATE_NAMES[k].last, s.clone().into_dyn());
    }
    out.insert("loss", Array1::from_elem(1, F::from_f64c(loss)).into_dyn());
    for (name, g) in grads.named_params() {
        out.insert(format!("grad_{name}"), g.to_owned());
    }
    out.insert("grad_x", d_xs.into_dyn());
    for (k, d) in d_init.into_iter().enumerate() {
        out.insert(format!("grad_{}", STATE_NAMES[k].init), d.into_dyn());
    }
    out.metadata = fixture.metadata.clone();
    out.metadata.retain(|k, _| !k.starts_with("f32_"));
    out.metadata.insert("format".into(), "rnn-parity-result-v1".into());
    out.metadata.insert("fixture".into(), src.to_string());
    out.metadata.insert(
        "dtype".into(),
        if F::DTYPE == "F64" { "float64" } else { "float32" }.into(),
    );
    let names: Vec<&str> = out.names().collect();
    let list = names.join(",");
    out.metadata.insert("tensors".into(), list);
    Ok(out)
}

/// The README's tolerance for `F`: `1e-9` for `f64`, `1e-4` for `f32`.
pub fn default_rtol<F: Float>() -> f64 {
    if F::DTYPE == "F64" { 1e-9 } else { 1e-4 }
}

/// How one tensor compares with the fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorComparison {
    /// Tensor name.
    pub name: String,
    /// `max_i |a_i − b_i| / (|b_i| + max_j |b_j|)` (for `loss`:
    /// `|a − b| / max(1, |b|)`): passes when `<= rtol`.
    pub worst: f64,
    /// `max_i |a_i − b_i| / max_j |b_j|`, the README's "scaled error".
    pub scaled: f64,
    /// `max_i |a_i − b_i|`.
    pub max_abs_diff: f64,
    /// Whether `worst <= rtol`.
    pub passed: bool,
}

/// The comparison of every result tensor with the fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityReport {
    /// The fixture.
    pub fixture: String,
    /// Relative tolerance used.
    pub rtol: f64,
    /// One entry per result tensor, in result order.
    pub tensors: Vec<TensorComparison>,
}

impl ParityReport {
    /// Whether every tensor is within tolerance.
    pub fn passed(&self) -> bool {
        self.tensors.iter().all(|t| t.passed)
    }

    /// The tensors outside tolerance.
    pub fn failures(&self) -> Vec<&TensorComparison> {
        self.tensors.iter().filter(|t| !t.passed).collect()
    }
}

impl fmt::Display for ParityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "parity with {} (rtol {:e})", self.fixture, self.rtol)?;
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>12}  result",
            "tensor", "worst/rtol", "scaled err", "max |diff|"
        )?;
        for t in &self.tensors {
            writeln!(
                f,
                "{:<28} {:>12.3e} {:>12.3e} {:>12.3e}  {}",
                t.name,
                t.worst / self.rtol,
                t.scaled,
                t.max_abs_diff,
                if t.passed { "ok" } else { "FAIL" }
            )?;
        }
        let n_fail = self.failures().len();
        if n_fail == 0 {
            write!(f, "all {} tensors within tolerance", self.tensors.len())
        } else {
            write!(f, "{n_fail} of {} tensors outside tolerance", self.tensors.len())
        }
    }
}

fn compare_one<F: Float>(name: &str, a: ArrayViewD<'_, F>, b: ArrayViewD<'_, F>, rtol: f64) -> TensorComparison {
    let max_b = b.iter().fold(0.0_f64, |m, v| m.max(v.to_f64c().abs()));
    let (mut worst, mut max_abs) = (0.0_f64, 0.0_f64);
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (x.to_f64c(), y.to_f64c());
        let diff = (x - y).abs();
        let denom = if name == "loss" {
            y.abs().max(1.0)
        } else {
            y.abs() + max_b
        };
        let r = if diff == 0.0 {
            0.0
        } else if denom == 0.0 || diff.is_nan() {
            f64::INFINITY
        } else {
            diff / denom
        };
        worst = worst.max(r);
        max_abs = max_abs.max(if diff.is_nan() { f64::INFINITY } else { diff });
    }
    let scaled = if max_abs == 0.0 { 0.0 } else { max_abs / max_b };
    TensorComparison {
        name: name.to_string(),
        worst,
        scaled,
        max_abs_diff: max_abs,
        passed: worst <= rtol,
    }
}

/// Compares every tensor of `results` with the tensor of the same name in
/// `fixture` (which must exist with the same shape), with the README's
/// tolerance `|a_i − b_i| <= rtol (|b_i| + max_j |b_j|)`, and
/// `|a − b| <= rtol max(1, |b|)` for `loss`.
pub fn compare<F: Float>(
    results: &TensorFile<F>,
    fixture: &TensorFile<F>,
    rtol: f64,
) -> Result<ParityReport, RnnError> {
    let mut tensors = Vec::with_capacity(results.len());
    for (name, a) in &results.tensors {
        let b = fixture.get_shaped(name, a.shape())?;
        tensors.push(compare_one(name, a.view(), b, rtol));
    }
    Ok(ParityReport {
        fixture: fixture.source.clone(),
        rtol,
        tensors,
    })
}

/// Reads the fixture at `fixture` (its dtype must be `F`'s), runs it with
/// [`run_fixture`], writes the results to `out` if given (safetensors, dtype
/// of `F`, atomically) and compares them with the fixture at
/// [`default_rtol`].
///
/// `dims` builds layer 0's dims from the fixture's spec, for example
/// `|s| LstmDims { i: s.input_size, h: s.hidden_size }`.
pub fn run_fixture_file<F: Float, C: Cell<F>>(
    fixture: impl AsRef<Path>,
    out: Option<&Path>,
    dims: impl FnOnce(&FixtureSpec) -> C::Dims,
) -> Result<ParityReport, RnnError> {
    let spec = FixtureSpec::read(&fixture)?;
    let file = read_tensors_exact::<F>(&fixture)?;
    let results = run_fixture::<F, C>(&file, dims(&spec))?;
    if let Some(path) = out {
        results.write(path)?;
    }
    compare(&results, &file, default_rtol::<F>())
}

/// Runs a fixture (`cell`, `nonlinearity`, layers, direction and dtype from
/// its metadata) with the matching shipped cell in the fixture's float type,
/// optionally writes every result to `out`, and compares with PyTorch's.
pub fn run_shipped(fixture: &Path, out: Option<&Path>) -> Result<ParityReport, RnnError> {
    let spec = FixtureSpec::read(fixture)?;
    fn go<F: Float, C: Cell<F>>(
        fixture: &Path,
        out: Option<&Path>,
        dims: impl FnOnce(&FixtureSpec) -> C::Dims,
    ) -> Result<ParityReport, RnnError> {
        run_fixture_file::<F, C>(fixture, out, dims)
    }
    macro_rules! dispatch {
        ($cell:ident, $dims:ident) => {
            match spec.dtype {
                FixtureDtype::F64 => go::<f64, $cell<f64>>(fixture, out, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
                FixtureDtype::F32 => go::<f32, $cell<f32>>(fixture, out, |s| $dims {
                    i: s.input_size,
                    h: s.hidden_size,
                }),
            }
        };
    }
    match (spec.cell.as_str(), spec.nonlinearity.as_str()) {
        ("lstm", _) => dispatch!(Lstm, LstmDims),
        ("gru", _) => dispatch!(Gru, GruDims),
        ("rnn", "tanh") => dispatch!(RnnTanh, RnnTanhDims),
        ("rnn", "relu") => dispatch!(RnnRelu, RnnReluDims),
        (cell, nonlinearity) => Err(RnnError::Invalid(format!(
            "{}: no shipped cell for cell = {cell:?}, nonlinearity = {nonlinearity:?}",
            spec.path
        ))),
    }
}
