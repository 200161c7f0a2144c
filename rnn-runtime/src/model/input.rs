//! Inputs and targets of a batch of sequences, time-major: token ids
//! `[T*B]` or values `[T, B, width]` in, class ids `[T*B]` or values
//! `[T, B, O]` as targets, and time slices of both (for truncated BPTT).

use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array3, ArrayView3, s};
use std::ops::Range;

/// A batch of input sequences, time-major.
#[derive(Debug, Clone, Copy)]
pub enum SeqInput<'a, F> {
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

impl<'a, F: Float> SeqInput<'a, F> {
    /// Token ids `[len * batch]`, time-major.
    pub fn tokens(ids: &'a [usize], len: usize, batch: usize) -> Self {
        SeqInput::Tokens { ids, len, batch }
    }

    /// Values `[T, B, width]`.
    pub fn values(xs: ArrayView3<'a, F>) -> Self {
        SeqInput::Values(xs)
    }

    /// Sequence length `T`.
    pub fn len(&self) -> usize {
        match self {
            SeqInput::Tokens { len, .. } => *len,
            SeqInput::Values(xs) => xs.shape()[0],
        }
    }

    /// Whether `T == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batch size `B`.
    pub fn batch(&self) -> usize {
        match self {
            SeqInput::Tokens { batch, .. } => *batch,
            SeqInput::Values(xs) => xs.shape()[1],
        }
    }

    /// Steps `range` of every sequence (the batch is kept).
    ///
    /// Errors: [`RnnError::Invalid`] if the range runs past `T` or the ids
    /// are not `[T * B]`.
    pub fn slice_time(&self, range: Range<usize>) -> Result<SeqInput<'a, F>, RnnError> {
        check_range(&range, self.len())?;
        match *self {
            SeqInput::Tokens { ids, len, batch } => {
                if ids.len() != len * batch {
                    return Err(RnnError::shape("token ids [T*B]", &[len * batch], &[ids.len()]));
                }
                Ok(SeqInput::Tokens {
                    ids: &ids[range.start * batch..range.end * batch],
                    len: range.len(),
                    batch,
                })
            }
            SeqInput::Values(xs) => Ok(SeqInput::Values(xs.slice_move(s![range, .., ..]))),
        }
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
            SeqInputBuf::Tokens { ids, len, batch } => SeqInput::Tokens {
                ids,
                len: *len,
                batch: *batch,
            },
            SeqInputBuf::Values(xs) => SeqInput::Values(xs.view()),
        }
    }
}

/// Training targets for a batch, time-major.
#[derive(Debug, Clone, Copy)]
pub enum SeqTarget<'a, F> {
    /// Class ids `[T * B]` (for [`LossKind::CrossEntropy`](super::LossKind::CrossEntropy)).
    Classes(&'a [usize]),
    /// Values `[T, B, O]` (for [`LossKind::Mse`](super::LossKind::Mse)).
    Values(ArrayView3<'a, F>),
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
