//! Stacked and bidirectional sequence layers over any [`Cell`].
//!
//! [`Layers`] is PyTorch's `nn.LSTM` / `nn.GRU` / `nn.RNN` for any cell the
//! compiler emits: `num_layers` layers, each with one or two directions
//! (`D = 2` when bidirectional), time-major `[T, B, width]` sequences.
//!
//! * The cell of layer `l`, direction `d` has index `l*D + d`; state tensors
//!   are `[L*D, B, width]` and row `l*D + d` belongs to that cell.
//! * Layer 0 reads the input `xs[T, B, I]`; layer `l > 0` reads
//!   `concat(fwd_{l-1}[t], rev_{l-1}[t])`, width `D*O` (`O` being the cell's
//!   output width).
//! * The reverse direction processes `t = T-1 .. 0` and writes its output at
//!   the same `t`; its final state is the state after processing `t = 0`.
//! * Sequences of different lengths (the `_with_lengths` methods, PyTorch's
//!   `pack_padded_sequence(..., enforce_sorted=False)`): sequence `b` runs
//!   steps `0..n_b`, its outputs after them are zero, its final states are
//!   those after step `n_b - 1`, and its reverse direction starts at step
//!   `n_b - 1`. Inside, the batch is sorted and packed once, so a step
//!   costs only the sequences still running (`layers/packing.rs`).
//! * Parameters are named as in PyTorch's `state_dict`: `{param}_l{l}` and
//!   `{param}_l{l}_reverse`, `param` running over the cell's
//!   [`Cell::PARAM_NAMES`], so checkpoints move between this library and
//!   PyTorch unchanged (see [`Layers::named_params`] and [`Layers::load_from`]).
//!
//! Gradients have the type of the layers themselves ([`Layers::zeros_like`]),
//! as every cell's gradient has the cell's own type.

use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::io::{TensorFile, read_tensors, write_tensors};
use crate::params::Params;
use ndarray::{ArrayViewD, ArrayViewMutD};
use rand::Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::marker::PhantomData;
use std::path::Path;

mod packing;
mod run;
#[cfg(test)]
mod tests;

pub use run::{LayersInputGrads, LayersOutput, LayersTrace, RunOptions};

/// A stack of `num_layers` recurrent layers, each unidirectional or
/// bidirectional, over the cell type `C` (see the [module docs](self)).
pub struct Layers<F: Float, C: Cell<F>> {
    /// Cells in order `l*D + d`.
    cells: Vec<C>,
    /// Width of each state (the cells' [`Cell::state_sizes`], kept so that
    /// a run does not ask for them again).
    state_widths: Vec<usize>,
    num_layers: usize,
    bidirectional: bool,
    _float: PhantomData<fn() -> F>,
}

impl<F: Float, C: Cell<F>> Clone for Layers<F, C> {
    fn clone(&self) -> Self {
        Layers {
            cells: self.cells.clone(),
            state_widths: self.state_widths.clone(),
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
            _float: PhantomData,
        }
    }
}

impl<F: Float, C: Cell<F>> std::fmt::Debug for Layers<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers")
            .field("cell", &C::NAME)
            .field("num_layers", &self.num_layers)
            .field("bidirectional", &self.bidirectional)
            .field("dims", &self.cells.iter().map(|c| c.dims()).collect::<Vec<_>>())
            .finish()
    }
}

/// The PyTorch `state_dict` name of parameter `param` of layer `layer`,
/// direction `direction` (0 forward, 1 reverse): `weight_ih_l1_reverse`, ...
pub fn param_name(param: &str, layer: usize, direction: usize) -> String {
    if direction == 0 {
        format!("{param}_l{layer}")
    } else {
        format!("{param}_l{layer}_reverse")
    }
}

impl<F: Float, C: Cell<F>> Layers<F, C> {
    fn build(
        dims: C::Dims,
        num_layers: usize,
        bidirectional: bool,
        mut make: impl FnMut(C::Dims) -> C,
    ) -> Result<Self, RnnError> {
        if num_layers == 0 {
            return Err(RnnError::Invalid("num_layers must be at least 1".into()));
        }
        let dirs = if bidirectional { 2 } else { 1 };
        let mut cells = Vec::with_capacity(num_layers * dirs);
        for _ in 0..dirs {
            cells.push(make(dims));
        }
        if num_layers > 1 {
            let upper = C::with_input_size(dims, dirs * cells[0].output_size())?;
            for _ in dirs..num_layers * dirs {
                cells.push(make(upper));
            }
        }
        Self::from_cells(cells, num_layers, bidirectional)
    }

    /// New layers with parameters drawn by [`Cell::new`], in PyTorch's order
    /// (`l0`, `l0_reverse`, `l1`, ...). Layer 0 has `dims`; layers above take
    /// input width `D * output_size` through [`Cell::with_input_size`].
    pub fn new<R: Rng + ?Sized>(
        dims: C::Dims,
        num_layers: usize,
        bidirectional: bool,
        rng: &mut R,
    ) -> Result<Self, RnnError> {
        Self::build(dims, num_layers, bidirectional, |d| C::new(d, rng))
    }

    /// Like [`Layers::new`] with every parameter zero (a gradient accumulator,
    /// or a model about to be loaded from a file).
    pub fn zeros(dims: C::Dims, num_layers: usize, bidirectional: bool) -> Result<Self, RnnError> {
        Self::build(dims, num_layers, bidirectional, C::zeros)
    }

    /// Layers from existing cells in order `l*D + d`.
    ///
    /// Every cell must have the same output and state widths; the cells of
    /// layer 0 the same input width; cells above layer 0 input width
    /// `D * output_size`; every width at least 1. Violations are
    /// [`RnnError::Dimension`].
    pub fn from_cells(cells: Vec<C>, num_layers: usize, bidirectional: bool) -> Result<Self, RnnError> {
        if num_layers == 0 {
            return Err(RnnError::Invalid("num_layers must be at least 1".into()));
        }
        let dirs = if bidirectional { 2 } else { 1 };
        if cells.len() != num_layers * dirs {
            return Err(RnnError::Dimension(format!(
                "{} layers x {dirs} directions need {} cells, got {}",
                num_layers,
                num_layers * dirs,
                cells.len()
            )));
        }
        let out = cells[0].output_size();
        let states = cells[0].state_sizes();
        let input = cells[0].input_size();
        if input == 0 || out == 0 || states.contains(&0) {
            return Err(RnnError::Dimension(format!(
                "{} cells of input width {input}, output width {out} and state widths {states:?}: every width must be at least 1",
                C::NAME
            )));
        }
        for (k, c) in cells.iter().enumerate() {
            let (l, d) = (k / dirs, k % dirs);
            if c.output_size() != out || c.state_sizes() != states {
                return Err(RnnError::Dimension(format!(
                    "cell l{l} d{d} has output width {} and state widths {:?}; cell l0 d0 has {out} and {states:?}",
                    c.output_size(),
                    c.state_sizes()
                )));
            }
            let want = if l == 0 { input } else { dirs * out };
            if c.input_size() != want {
                return Err(RnnError::Dimension(format!(
                    "cell l{l} d{d} has input width {}, expected {want}",
                    c.input_size()
                )));
            }
        }
        Ok(Layers {
            cells,
            state_widths: states,
            num_layers,
            bidirectional,
            _float: PhantomData,
        })
    }

    /// Layers of the same shape with every parameter zero (for gradients).
    pub fn zeros_like(&self) -> Self {
        Layers {
            cells: self.cells.iter().map(|c| C::zeros(c.dims())).collect(),
            state_widths: self.state_widths.clone(),
            num_layers: self.num_layers,
            bidirectional: self.bidirectional,
            _float: PhantomData,
        }
    }

    /// Sets every parameter to zero without allocating (each cell's
    /// [`Cell::fill_zero`]): how a gradient is reset between steps.
    pub fn fill_zero(&mut self) {
        for c in &mut self.cells {
            c.fill_zero();
        }
    }

    /// Number of stacked layers `L`.
    pub fn num_layers(&self) -> usize {
        self.num_layers
    }

    /// Whether each layer also runs in reverse.
    pub fn bidirectional(&self) -> bool {
        self.bidirectional
    }

    /// `D`: 2 if bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// The cells, in order `l*D + d`.
    pub fn cells(&self) -> &[C] {
        &self.cells
    }

    /// The cell of layer `layer`, direction `direction`, if it exists.
    pub fn cell(&self, layer: usize, direction: usize) -> Option<&C> {
        if direction >= self.num_directions() {
            return None;
        }
        self.cells.get(layer * self.num_directions() + direction)
    }

    /// Mutable access to one cell. Replacing it by a cell of other widths
    /// makes later calls return shape errors.
    pub fn cell_mut(&mut self, layer: usize, direction: usize) -> Option<&mut C> {
        if direction >= self.num_directions() {
            return None;
        }
        let d = self.num_directions();
        self.cells.get_mut(layer * d + direction)
    }

    /// The dims of layer 0 (the ones the layers were built from).
    pub fn dims(&self) -> C::Dims {
        self.cells[0].dims()
    }

    /// Width `I` of one input step.
    pub fn input_size(&self) -> usize {
        self.cells[0].input_size()
    }

    /// Width `O` of one direction's output.
    pub fn cell_output_size(&self) -> usize {
        self.cells[0].output_size()
    }

    /// Width `D*O` of one output step.
    pub fn output_size(&self) -> usize {
        self.num_directions() * self.cell_output_size()
    }

    /// Width of each state, in the cell's declaration order.
    pub fn state_sizes(&self) -> &[usize] {
        &self.state_widths
    }

    /// Zero initial states: one `[L*D, batch, width]` per cell state.
    pub fn zero_state(&self, batch: usize) -> Vec<ndarray::Array3<F>> {
        self.state_widths
            .iter()
            .map(|&w| ndarray::Array3::zeros((self.cells.len(), batch, w)))
            .collect()
    }

    /// Every parameter with its PyTorch `state_dict` name, in PyTorch's order
    /// (all of `l0`, then `l0_reverse`, then `l1`, ...).
    pub fn named_params(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let dirs = self.num_directions();
        let mut out = Vec::new();
        for (k, c) in self.cells.iter().enumerate() {
            for (name, view) in c.params() {
                out.push((param_name(name, k / dirs, k % dirs), view));
            }
        }
        out
    }

    /// Every parameter, mutably, with its name (see [`Layers::named_params`]).
    pub fn named_params_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let dirs = self.num_directions();
        let mut out = Vec::new();
        for (k, c) in self.cells.iter_mut().enumerate() {
            for (name, view) in c.params_mut() {
                out.push((param_name(name, k / dirs, k % dirs), view));
            }
        }
        out
    }

    /// Total number of scalar parameters.
    pub fn num_scalars(&self) -> usize {
        self.named_params().iter().map(|(_, v)| v.len()).sum()
    }

    /// [`Layers::load_named`] with `source` naming where the tensors came from in errors.
    pub fn load_named_from<'a>(
        &mut self,
        tensors: impl IntoIterator<Item = (&'a str, ArrayViewD<'a, F>)>,
        source: &str,
    ) -> Result<(), RnnError> {
        let mut given: HashMap<&str, ArrayViewD<'a, F>> = HashMap::new();
        let mut order = Vec::new();
        for (name, view) in tensors {
            if given.insert(name, view).is_some() {
                return Err(RnnError::Checkpoint {
                    path: source.to_string(),
                    message: format!("tensor `{name}` given twice"),
                });
            }
            order.push(name);
        }
        let mut missing = Vec::new();
        let mut expected = HashSet::new();
        for (name, view) in self.named_params() {
            match given.get(name.as_str()) {
                None => missing.push(name.clone()),
                Some(t) if t.shape() != view.shape() => {
                    return Err(RnnError::shape(
                        format!("parameter `{name}` in {source}"),
                        view.shape(),
                        t.shape(),
                    ));
                }
                Some(_) => {}
            }
            expected.insert(name);
        }
        let unexpected: Vec<&str> = order.into_iter().filter(|n| !expected.contains(*n)).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing parameters: {}", missing.join(", ")));
            }
            if !unexpected.is_empty() {
                parts.push(format!(
                    "unexpected tensors (not parameters of {} layers of {}{}): {}",
                    self.num_layers,
                    C::NAME,
                    if self.bidirectional { ", bidirectional" } else { "" },
                    unexpected.join(", ")
                ));
            }
            return Err(RnnError::Checkpoint {
                path: source.to_string(),
                message: parts.join("; "),
            });
        }
        for (name, mut view) in self.named_params_mut() {
            view.assign(&given[name.as_str()]);
        }
        Ok(())
    }

    /// Sets every parameter from named tensors (PyTorch names, see
    /// [`Layers::named_params`]).
    ///
    /// All-or-nothing: every parameter must be given with its exact shape
    /// (else [`RnnError::Shape`] naming the tensor with both shapes), and
    /// every name given must be a parameter (else [`RnnError::Checkpoint`]
    /// listing the missing and the unexpected names). Nothing is changed
    /// on error.
    pub fn load_named<'a>(
        &mut self,
        tensors: impl IntoIterator<Item = (&'a str, ArrayViewD<'a, F>)>,
    ) -> Result<(), RnnError> {
        self.load_named_from(tensors, "<memory>")
    }

    /// [`Layers::load_named`] from every tensor of `file`; errors name the file.
    pub fn load_from(&mut self, file: &TensorFile<F>) -> Result<(), RnnError> {
        let views = file.tensors.iter().map(|(n, a)| (n.as_str(), a.view()));
        self.load_named_from(views, &file.source)
    }

    /// Reads the safetensors file at `path` (converting `F32`/`F64` to `F`)
    /// and loads it with [`Layers::load_from`].
    pub fn load_file(&mut self, path: impl AsRef<Path>) -> Result<(), RnnError> {
        self.load_from(&read_tensors(path)?)
    }

    /// The parameters as an owned [`TensorFile`] (PyTorch names).
    pub fn to_tensor_file(&self) -> TensorFile<F> {
        let mut file = TensorFile::new();
        for (name, view) in self.named_params() {
            file.insert(name, view.to_owned());
        }
        file
    }

    /// Writes the parameters to `path` (atomically, see [`write_tensors`]).
    ///
    /// The file holds `metadata` plus, unless `metadata` sets them, `cell`
    /// ([`Cell::NAME`]), `num_layers` and `bidirectional`.
    pub fn save(&self, path: impl AsRef<Path>, metadata: &BTreeMap<String, String>) -> Result<(), RnnError> {
        let mut meta = metadata.clone();
        meta.entry("cell".into()).or_insert_with(|| C::NAME.to_string());
        meta.entry("num_layers".into())
            .or_insert_with(|| self.num_layers.to_string());
        meta.entry("bidirectional".into())
            .or_insert_with(|| self.bidirectional.to_string());
        write_tensors(path, &self.named_params(), &meta)
    }

    pub(crate) fn check_grads(&self, grads: &Self) -> Result<(), RnnError> {
        let same = grads.num_layers == self.num_layers
            && grads.bidirectional == self.bidirectional
            && grads.cells.iter().zip(&self.cells).all(|(g, c)| g.dims() == c.dims());
        if same {
            Ok(())
        } else {
            Err(RnnError::Invalid(format!(
                "gradient layers {grads:?} do not have the shape of the model {self:?}"
            )))
        }
    }
}

impl<F: Float, C: Cell<F>> Params<F> for Layers<F, C> {
    fn param_count(&self) -> usize {
        self.cells.len() * C::PARAM_NAMES.len()
    }

    fn param(&self, k: usize) -> ArrayViewD<'_, F> {
        let n = C::PARAM_NAMES.len();
        self.cells[k / n].param(k % n)
    }

    fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, F> {
        let n = C::PARAM_NAMES.len();
        self.cells[k / n].param_mut(k % n)
    }

    fn param_name(&self, k: usize) -> String {
        let (n, dirs) = (C::PARAM_NAMES.len(), self.num_directions());
        let cell = k / n;
        param_name(C::PARAM_NAMES[k % n], cell / dirs, cell % dirs)
    }
}
