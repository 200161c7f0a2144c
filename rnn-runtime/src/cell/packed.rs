//! Variable-length batches in PyTorch's packed layout, and the helpers the
//! emitted code reads it with.
//!
//! A batch of `B` sequences of lengths `n_0 >= n_1 >= ..` (sorted, longest
//! first) runs `T = n_0` steps; step `t` runs the first `b_t` sequences,
//! those longer than `t`. Their rows are *packed*: the `b_t` rows of step
//! `t` start at row `off_t = b_0 + .. + b_{t-1}`, `N = b_0 + .. + b_{T-1}`
//! rows in all, as in PyTorch's `PackedSequence.data` with its
//! `batch_sizes`. A full batch (every sequence of length `T`) is the case
//! `b_t = B`, `off_t = t B`: exactly the time-major `[T, B, width]` layout,
//! so one emitted code path serves both ([`BatchSizes::full`]).
//!
//! Inside the emitted passes a step touches only its `b_t` rows: the
//! products run on `b_t` rows, the fused loops cover rows `0..b_t` of the
//! state, and the rows of sequences that have ended are left as they are.
//! A state history holds the initial states (`B` rows), then the `b_t`
//! rows of the state after step `t` at row `B + off_t`; the final state of
//! a sequence of length `n` is its row after step `n - 1`
//! ([`final_state`]), and products over all steps that read the state
//! before each step see it gathered into packed rows ([`PrevStates`]).

use super::input::{CellInput, gather_rows};
use super::records::{Trace, check_batch};
use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::{Workspace, array2};
use ndarray::{Array2, CowArray, Ix3};

/// How many sequences run at each step of a batch: the layout of its
/// packed rows (see the [module docs](self)).
///
/// ```
/// use rnn_runtime::cell::BatchSizes;
/// // Lengths 3, 2, 2, 0 (sorted): 3 sequences at steps 0 and 1, 1 at step 2.
/// let s = BatchSizes::new(&[3, 3, 1], 4).unwrap();
/// assert_eq!((s.len(), s.batch(), s.rows()), (3, 4, 7));
/// assert_eq!(s.size(2), 1);
/// // A full batch of 5 steps of 4 sequences.
/// let f = BatchSizes::full(5, 4);
/// assert_eq!((f.rows(), f.size(3)), (20, 4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSizes<'a> {
    /// `None`: every step runs the whole batch.
    sizes: Option<&'a [usize]>,
    len: usize,
    batch: usize,
    rows: usize,
}

impl<'a> BatchSizes<'a> {
    /// `len` steps of the whole batch of `batch` sequences (the time-major
    /// layout `[T, B, width]`).
    pub fn full(len: usize, batch: usize) -> BatchSizes<'static> {
        BatchSizes {
            sizes: None,
            len,
            batch,
            rows: len * batch,
        }
    }

    /// Steps of `sizes[t]` sequences each (PyTorch's `batch_sizes`) in a
    /// batch of `batch` sequences: sequences of length 0 are the rows past
    /// `sizes[0]`.
    ///
    /// Errors: [`RnnError::Invalid`] unless the sizes are non-increasing,
    /// each between 1 and `batch`.
    pub fn new(sizes: &'a [usize], batch: usize) -> Result<Self, RnnError> {
        let mut prev = batch;
        let mut rows = 0;
        for (t, &n) in sizes.iter().enumerate() {
            if n == 0 || n > prev {
                return Err(RnnError::Invalid(format!(
                    "batch sizes must be non-increasing, between 1 and the batch ({batch}); step {t} has {n} after {prev}"
                )));
            }
            prev = n;
            rows += n;
        }
        Ok(BatchSizes {
            sizes: Some(sizes),
            len: sizes.len(),
            batch,
            rows,
        })
    }

    /// Number of steps `T` (the longest length).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of sequences `B`.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Number of packed rows `N` (the sum of the sizes).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Sequences running at step `t < T`.
    #[inline]
    pub fn size(&self, t: usize) -> usize {
        match self.sizes {
            None => self.batch,
            Some(s) => s[t],
        }
    }

    /// Packed rows of the steps `t0..t1` (`t1` clamped to `T`).
    pub fn rows_in(&self, t0: usize, t1: usize) -> usize {
        let t1 = t1.min(self.len);
        if t0 >= t1 {
            return 0;
        }
        match self.sizes {
            None => (t1 - t0) * self.batch,
            Some(s) => s[t0..t1].iter().sum(),
        }
    }

    /// The sizes of a packed batch (`None` for [`BatchSizes::full`]).
    pub fn as_slice(&self) -> Option<&'a [usize]> {
        self.sizes
    }

    /// Whether the batch was given by its sizes ([`BatchSizes::new`]).
    pub fn is_packed(&self) -> bool {
        self.sizes.is_some()
    }

    /// The row of a state history (initial states, then `b_t` rows after
    /// each step `t` at `B + off_t`) where the state before step `t`
    /// starts, given `off = off_t`.
    #[inline]
    pub fn prev_state_row(&self, t: usize, off: usize) -> usize {
        if t == 0 { 0 } else { off + self.batch - self.size(t - 1) }
    }
}

/// Checks that `input` holds the `sizes.rows()` packed rows of width
/// `width` (values `[N, 1, width]` or ids with `len = N`, `batch = 1`; a
/// full batch may also be `[T, B, width]`) and returns its first two axes,
/// which the pass's outputs keep.
///
/// Errors: [`RnnError::Shape`] for rows of another count or width,
/// [`RnnError::Invalid`] for a batch of 0 sequences (see
/// [`check_batch`]).
pub fn check_packed_input<F: Float>(
    what: &str,
    input: &CellInput<'_, F>,
    sizes: BatchSizes<'_>,
    width: usize,
) -> Result<(usize, usize), RnnError> {
    let (a0, a1) = input.check(what, width)?;
    check_batch(what, sizes.batch())?;
    let full = !sizes.is_packed() && (a0, a1) == (sizes.len(), sizes.batch());
    if (a0, a1) == (sizes.rows(), 1) || full {
        Ok((a0, a1))
    } else {
        Err(RnnError::shape(
            format!("{what} (packed rows [N, 1, width])"),
            &[sizes.rows(), 1, width],
            &[a0, a1, width],
        ))
    }
}

/// The final state of every sequence from a state history `hist` of rows
/// of `width` (see the [module docs](self)): the row after the sequence's
/// last step, or its initial state for a sequence of length 0; `[B,
/// width]` in a buffer from `ws`.
pub fn final_state<F: Float>(ws: &mut Workspace<F>, hist: &[F], width: usize, sizes: BatchSizes<'_>) -> Array2<F> {
    let (b, n) = (sizes.batch(), sizes.rows());
    if !sizes.is_packed() {
        return array2(ws.take_copy(&hist[n * width..(n + b) * width]), b, width);
    }
    let mut out = ws.take_dirty(b * width);
    // Rows that never ran keep their initial state.
    let first = if sizes.is_empty() { 0 } else { sizes.size(0) };
    out[first * width..].copy_from_slice(&hist[first * width..b * width]);
    // Rows size(t+1)..size(t) end at step t; after it they are at B + off_t.
    let mut off = n;
    for t in (0..sizes.len()).rev() {
        let here = sizes.size(t);
        off -= here;
        let next = if t + 1 < sizes.len() { sizes.size(t + 1) } else { 0 };
        let src = (b + off + next) * width;
        out[next * width..here * width].copy_from_slice(&hist[src..src + (here - next) * width]);
    }
    array2(out, b, width)
}

/// The state before each step, in packed rows: row `off_t + r` is row `r`
/// of the state before step `t`. For a full batch it is the state history
/// itself (its first `T B` rows, borrowed); for a packed one, a copy
/// gathered into a buffer from `ws` (give it back with [`PrevStates::give`]).
/// Products after the loop over all steps read it (the recurrent weight's
/// gradient, `dY^T h_{t-1}`).
#[derive(Debug)]
pub enum PrevStates<'a, F> {
    /// The history's first `N` rows.
    Borrowed(&'a [F]),
    /// Gathered rows.
    Gathered(Vec<F>),
}

impl<'a, F: Float> PrevStates<'a, F> {
    /// The states before each step from the history `hist` (rows of `width`).
    pub fn new(ws: &mut Workspace<F>, hist: &'a [F], width: usize, sizes: BatchSizes<'_>) -> Self {
        let n = sizes.rows();
        if !sizes.is_packed() {
            return PrevStates::Borrowed(&hist[..n * width]);
        }
        let mut v = ws.take_dirty(n * width);
        let mut off = 0;
        for t in 0..sizes.len() {
            let here = sizes.size(t);
            let src = sizes.prev_state_row(t, off) * width;
            v[off * width..(off + here) * width].copy_from_slice(&hist[src..src + here * width]);
            off += here;
        }
        PrevStates::Gathered(v)
    }

    /// The rows.
    pub fn as_slice(&self) -> &[F] {
        match self {
            PrevStates::Borrowed(s) => s,
            PrevStates::Gathered(v) => v,
        }
    }

    /// Gives a gathered copy back to `ws`.
    pub fn give(self, ws: &mut Workspace<F>) {
        if let PrevStates::Gathered(v) = self {
            ws.give(v);
        }
    }
}

/// A cell's input as dense row-major values, for cells that read their
/// input other than through products: values are borrowed (copied only
/// if not in standard layout), one-hot ids written out as vectors in a
/// buffer from `ws` (give it back with [`DenseInput::give`]).
#[derive(Debug)]
pub enum DenseInput<'a, F> {
    /// The values.
    Values(CowArray<'a, F, Ix3>),
    /// One-hot vectors written out.
    Written(Vec<F>),
}

impl<'a, F: Float> DenseInput<'a, F> {
    /// `input` as values of width `width` (checked by the caller).
    pub fn new(ws: &mut Workspace<F>, input: CellInput<'a, F>, width: usize) -> Self {
        match input {
            CellInput::Values(xs) => DenseInput::Values(if xs.is_standard_layout() {
                CowArray::from(xs)
            } else {
                CowArray::from(xs.as_standard_layout().into_owned())
            }),
            CellInput::OneHot { ids, .. } => {
                let mut v = ws.take(ids.len() * width);
                for (row, &id) in v.chunks_exact_mut(width.max(1)).zip(ids) {
                    row[id] = F::one();
                }
                DenseInput::Written(v)
            }
            CellInput::Picked { xs, rows } => DenseInput::Written(gather_rows(ws, xs, rows)),
        }
    }

    /// The rows.
    pub fn as_slice(&self) -> &[F] {
        match self {
            DenseInput::Values(v) => v.as_slice().expect("standard layout"),
            DenseInput::Written(v) => v,
        }
    }

    /// Gives written-out vectors back to `ws`.
    pub fn give(self, ws: &mut Workspace<F>) {
        if let DenseInput::Written(v) = self {
            ws.give(v);
        }
    }
}

impl<F> Trace<F> {
    /// The layout of the steps this trace ran (see [`BatchSizes`]).
    pub fn layout(&self) -> BatchSizes<'_> {
        if self.batch_sizes.is_empty() {
            BatchSizes::full(self.len, self.batch)
        } else {
            BatchSizes {
                sizes: Some(&self.batch_sizes),
                len: self.batch_sizes.len(),
                batch: self.batch,
                rows: self.batch_sizes.iter().sum(),
            }
        }
    }

    /// Records the layout of the steps a training pass ran (emitted code
    /// calls it; the memory of the size list is reused).
    #[doc(hidden)]
    pub fn set_batch_sizes(&mut self, sizes: BatchSizes<'_>) {
        self.len = sizes.len();
        self.batch = sizes.batch();
        self.batch_sizes.clear();
        if let Some(s) = sizes.as_slice() {
            self.batch_sizes.extend_from_slice(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert!(BatchSizes::new(&[3, 3, 1], 3).is_ok());
        assert!(BatchSizes::new(&[3, 3, 1], 2).is_err());
        assert!(BatchSizes::new(&[2, 3], 3).is_err());
        assert!(BatchSizes::new(&[2, 0], 3).is_err());
        let s = BatchSizes::new(&[3, 2, 2, 1], 4).unwrap();
        assert_eq!((s.rows(), s.rows_in(1, 3), s.rows_in(2, 9)), (8, 4, 3));
        assert_eq!(BatchSizes::full(4, 3).rows_in(1, 9), 9);
    }

    #[test]
    fn final_and_previous_states_of_a_packed_history() {
        // B = 3, lengths 3, 1, 0: sizes [2, 1, 1]; width 1.
        let s = BatchSizes::new(&[2, 1, 1], 3).unwrap();
        // init rows 10, 11, 12; after step 0: 20, 21; after 1: 30; after 2: 40.
        let hist = [10.0, 11.0, 12.0, 20.0, 21.0, 30.0, 40.0];
        let mut ws = Workspace::<f64>::new();
        let f = final_state(&mut ws, &hist, 1, s);
        assert_eq!(f.as_slice().unwrap(), &[40.0, 21.0, 12.0]);
        let p = PrevStates::new(&mut ws, &hist, 1, s);
        assert_eq!(p.as_slice(), &[10.0, 11.0, 20.0, 30.0]);
        p.give(&mut ws);
        // A full batch: the history as it is.
        let full = BatchSizes::full(2, 2);
        let hist = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(final_state(&mut ws, &hist, 1, full).as_slice().unwrap(), &[5.0, 6.0]);
        assert_eq!(
            PrevStates::new(&mut ws, &hist, 1, full).as_slice(),
            &[1.0, 2.0, 3.0, 4.0]
        );
    }
}
