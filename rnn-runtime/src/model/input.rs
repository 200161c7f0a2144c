//! Inputs and targets of a batch of sequences, time-major: token ids
//! `[T*B]` or values `[T, B, width]` in, with the length of each sequence
//! when they differ; class ids or values as targets, per step or per
//! sequence; and time slices of both (for truncated BPTT).

use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array3, ArrayView2, ArrayView3, s};
use std::ops::Range;

/// The data of a batch of input sequences, time-major.
#[derive(Debug, Clone, Copy)]
pub enum SeqData<'a, F> {
    /// Token ids, `ids[t * batch + b]` (for [`Encoding::OneHot`](super::Encoding::OneHot) and
    /// [`Encoding::Embedding`](super::Encoding::Embedding)).
    Tokens {
        /// `[len * batch]` ids, time-major.
        ids: &'a [usize],
        /// Sequence length `T`.
        len: usize,
        /// Batch size `B`.
        batch: usize,
    },
    /// Real values `[T, B, width]` (for [`Encoding::Dense`](super::Encoding::Dense)).
    Values(ArrayView3<'a, F>),
}

/// A batch of input sequences, time-major, padded to `T` steps, with the
/// length of each sequence when they differ.
///
/// ```
/// use rnn_runtime::model::SeqInput;
/// let ids = [3, 1, 4, 1, 5, 9];
/// let input = SeqInput::<f32>::tokens(&ids, 3, 2).with_lengths(&[3, 2]);
/// assert_eq!((input.len(), input.batch()), (3, 2));
/// assert!(input.has_lengths() && input.length(1) == 2);
/// assert!(input.is_valid(1, 1) && !input.is_valid(2, 1));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SeqInput<'a, F> {
    data: SeqData<'a, F>,
    /// The lengths of the whole sequences this input was cut from.
    lengths: Option<&'a [usize]>,
    /// The first step of this input in those sequences ([`SeqInput::slice_time`]).
    start: usize,
    /// The number of steps of the input the lengths were given with.
    full: usize,
}

impl<'a, F: Float> SeqInput<'a, F> {
    /// Token ids `[len * batch]`, time-major.
    pub fn tokens(ids: &'a [usize], len: usize, batch: usize) -> Self {
        SeqInput {
            data: SeqData::Tokens { ids, len, batch },
            lengths: None,
            start: 0,
            full: 0,
        }
    }

    /// Values `[T, B, width]`.
    pub fn values(xs: ArrayView3<'a, F>) -> Self {
        SeqInput {
            data: SeqData::Values(xs),
            lengths: None,
            start: 0,
            full: 0,
        }
    }

    /// With the length of each sequence (`[B]`, any order, each at most
    /// `T`): sequence `b` is steps `0..lengths[b]`, the rest is padding
    /// (PyTorch's `pack_padded_sequence` with `enforce_sorted=False`).
    pub fn with_lengths(self, lengths: &'a [usize]) -> Self {
        SeqInput {
            lengths: Some(lengths),
            start: 0,
            full: self.len(),
            ..self
        }
    }

    /// The data.
    pub fn data(&self) -> SeqData<'a, F> {
        self.data
    }

    /// Whether the sequences have lengths (`false`: every sequence has `T`
    /// steps).
    pub fn has_lengths(&self) -> bool {
        self.lengths.is_some()
    }

    /// The length of sequence `b` within this input (`T` without lengths;
    /// in a time slice, the part of the sequence inside the slice).
    pub fn length(&self, b: usize) -> usize {
        self.lengths.map_or(self.len(), |l| {
            l[b].clamp(self.start, self.start + self.len()) - self.start
        })
    }

    /// Writes the length of every sequence into `out` (emptied first), or
    /// leaves it empty without lengths; returns whether there are lengths.
    pub fn lengths_into(&self, out: &mut Vec<usize>) -> bool {
        out.clear();
        match self.lengths {
            None => false,
            Some(l) => {
                out.extend((0..l.len()).map(|b| self.length(b)));
                true
            }
        }
    }

    /// Whether step `t` of sequence `b` is data, not padding.
    pub fn is_valid(&self, t: usize, b: usize) -> bool {
        t < self.length(b)
    }

    /// Checks the lengths: `[B]`, each at most `T`.
    ///
    /// Errors: [`RnnError::Shape`] for a count other than `B`,
    /// [`RnnError::Invalid`] for a length above `T`.
    pub fn check_lengths(&self) -> Result<(), RnnError> {
        if let Some(l) = self.lengths {
            if l.len() != self.batch() {
                return Err(RnnError::shape("sequence lengths [B]", &[self.batch()], &[l.len()]));
            }
            if let Some((b, &n)) = l.iter().enumerate().find(|&(_, &n)| n > self.full) {
                return Err(RnnError::Invalid(format!(
                    "sequence {b} has length {n}, longer than the {} steps of the batch",
                    self.full
                )));
            }
        }
        Ok(())
    }

    /// Sequence length `T`.
    pub fn len(&self) -> usize {
        match &self.data {
            SeqData::Tokens { len, .. } => *len,
            SeqData::Values(xs) => xs.shape()[0],
        }
    }

    /// Whether `T == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        match &self.data {
            SeqData::Tokens { batch, .. } => *batch,
            SeqData::Values(xs) => xs.shape()[1],
        }
    }

    /// Steps `range` of every sequence (the batch is kept; lengths become
    /// the part of each sequence inside the range).
    ///
    /// Errors: [`RnnError::Invalid`] if the range runs past `T` or the ids
    /// are not `[T * B]`.
    pub fn slice_time(&self, range: Range<usize>) -> Result<SeqInput<'a, F>, RnnError> {
        check_range(&range, self.len())?;
        let data = match self.data {
            SeqData::Tokens { ids, len, batch } => {
                if len.checked_mul(batch) != Some(ids.len()) {
                    return Err(RnnError::shape(
                        "token ids [T*B]",
                        &[len.saturating_mul(batch)],
                        &[ids.len()],
                    ));
                }
                SeqData::Tokens {
                    ids: &ids[range.start * batch..range.end * batch],
                    len: range.len(),
                    batch,
                }
            }
            SeqData::Values(xs) => SeqData::Values(xs.slice_move(s![range.clone(), .., ..])),
        };
        Ok(SeqInput {
            data,
            lengths: self.lengths,
            start: self.start + range.start,
            full: self.full,
        })
    }
}

/// An owned [`SeqInput`] (what [`crate::model::feedback`] builds and
/// [`crate::model::feedback::free_run`] returns).
#[derive(Debug, Clone, PartialEq)]
pub enum SeqInputBuf<F> {
    /// Token ids `[len * batch]`, time-major.
    Tokens {
        /// The ids.
        ids: Vec<usize>,
        /// Sequence length `T`.
        len: usize,
        /// Batch size `B`.
        batch: usize,
    },
    /// Values `[T, B, width]`.
    Values(Array3<F>),
}

impl<F: Float> SeqInputBuf<F> {
    /// A borrowed view.
    pub fn view(&self) -> SeqInput<'_, F> {
        match self {
            SeqInputBuf::Tokens { ids, len, batch } => SeqInput::tokens(ids, *len, *batch),
            SeqInputBuf::Values(xs) => SeqInput::values(xs.view()),
        }
    }
}

/// Training targets for a batch: one per step (time-major) or, for a
/// model whose head pools each sequence ([`Pooling`](super::Pooling)), one
/// per sequence.
#[derive(Debug, Clone, Copy)]
pub enum SeqTarget<'a, F> {
    /// Class ids (for [`LossKind::CrossEntropy`](super::LossKind::CrossEntropy)):
    /// `[T * B]` per step, `[B]` per sequence.
    Classes(&'a [usize]),
    /// Values per step `[T, B, O]` (for [`LossKind::Mse`](super::LossKind::Mse)
    /// and [`LossKind::BinaryCrossEntropy`](super::LossKind::BinaryCrossEntropy)).
    Values(ArrayView3<'a, F>),
    /// Values per sequence `[B, O]` (for a pooled head with MSE or binary
    /// cross-entropy).
    Sequences(ArrayView2<'a, F>),
}

impl<'a, F: Float> SeqTarget<'a, F> {
    /// Steps `range` of targets for sequences of `batch` (see [`SeqInput::slice_time`]).
    pub fn slice_time(&self, range: Range<usize>, batch: usize) -> Result<SeqTarget<'a, F>, RnnError> {
        match *self {
            SeqTarget::Classes(ids) => {
                let len = ids.len().checked_div(batch).unwrap_or(0);
                check_range(&range, len)?;
                Ok(SeqTarget::Classes(&ids[range.start * batch..range.end * batch]))
            }
            SeqTarget::Values(ys) => {
                check_range(&range, ys.shape()[0])?;
                Ok(SeqTarget::Values(ys.slice_move(s![range, .., ..])))
            }
            SeqTarget::Sequences(_) => Err(RnnError::Invalid(
                "targets per sequence have no time axis to slice".into(),
            )),
        }
    }
}

fn check_range(range: &Range<usize>, len: usize) -> Result<(), RnnError> {
    if range.start > range.end || range.end > len {
        return Err(RnnError::Invalid(format!(
            "time range {}..{} does not fit a sequence of {len} steps",
            range.start, range.end
        )));
    }
    Ok(())
}
