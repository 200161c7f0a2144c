//! How [`Layers`](super::Layers) runs a batch of sequences of different
//! lengths: sorted once by length (longest first, ties in the caller's
//! order), packed as PyTorch packs it ([`crate::cell::packed`]), every
//! layer and direction run on the packed rows, and unpacked at the end.
//!
//! [`Packing`] holds the order, the batch sizes, the first packed row of
//! each step and, for the reverse direction, where each packed row goes
//! when every sequence is reversed within its own length (row `r` of step
//! `t` is row `r` of step `n_r - 1 - t`; reversing twice is the identity).
//! Its lists keep their memory from one call to the next.

use crate::cell::BatchSizes;
use crate::error::RnnError;
use crate::float::Float;
use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

/// The sorting and packing of one batch (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub(super) struct Packing {
    /// Whether lengths were given.
    pub given: bool,
    /// Whether the batch is packed at all (lengths given, not all `T`).
    pub active: bool,
    /// The lengths as given, in the caller's order.
    pub lengths: Vec<usize>,
    /// Sorted position -> the caller's index.
    order: Vec<usize>,
    /// Sequences running at each step (`n_0` steps).
    sizes: Vec<usize>,
    /// First packed row of each step, and the number of rows last.
    offsets: Vec<usize>,
    /// Packed row -> packed row of the same sequence reversed.
    reversed: Vec<usize>,
    /// Packed row -> its row `t * B + b` of the padded input.
    padded: Vec<usize>,
    /// Packed row of the reversed sequences -> its row of the padded input.
    padded_reversed: Vec<usize>,
    /// The batch `B`.
    batch: usize,
}

impl Packing {
    /// Sets the packing for `lengths` (the caller's order) of a padded
    /// batch of `t_len` steps; `None`, or every length `t_len`, leaves it
    /// inactive (the full-batch path).
    ///
    /// Errors: [`RnnError::Shape`] if there is not one length per
    /// sequence, [`RnnError::Invalid`] for a length over `t_len`.
    pub fn set(&mut self, lengths: Option<&[usize]>, t_len: usize, batch: usize) -> Result<(), RnnError> {
        self.active = false;
        self.given = false;
        self.lengths.clear();
        let Some(lengths) = lengths else { return Ok(()) };
        if lengths.len() != batch {
            return Err(RnnError::shape(
                "lengths (one per sequence) [B]",
                &[batch],
                &[lengths.len()],
            ));
        }
        if let Some((b, &l)) = lengths.iter().enumerate().find(|(_, l)| **l > t_len) {
            return Err(RnnError::Invalid(format!(
                "lengths[{b}] = {l} is longer than the sequences (T = {t_len})"
            )));
        }
        self.lengths.extend_from_slice(lengths);
        self.given = true;
        if lengths.iter().all(|&l| l == t_len) {
            return Ok(());
        }
        self.active = true;
        self.batch = batch;
        // Longest first, ties in the caller's order (an unstable sort on
        // unique keys: it allocates nothing).
        self.order.clear();
        self.order.extend(0..batch);
        self.order.sort_unstable_by_key(|&b| (std::cmp::Reverse(lengths[b]), b));
        let steps = lengths[self.order[0]];
        self.sizes.clear();
        self.offsets.clear();
        let mut off = 0;
        for t in 0..steps {
            let n = self.order.iter().take_while(|&&b| lengths[b] > t).count();
            self.sizes.push(n);
            self.offsets.push(off);
            off += n;
        }
        self.offsets.push(off);
        self.reversed.clear();
        self.reversed.resize(off, 0);
        self.padded.clear();
        for t in 0..steps {
            for r in 0..self.sizes[t] {
                let len = lengths[self.order[r]];
                self.reversed[self.offsets[t] + r] = self.offsets[len - 1 - t] + r;
            }
            self.padded
                .extend(self.order[..self.sizes[t]].iter().map(|&b| t * batch + b));
        }
        self.padded_reversed.clear();
        self.padded_reversed
            .extend(self.reversed.iter().map(|&q| self.padded[q]));
        Ok(())
    }

    /// The batch sizes of the packed rows.
    pub fn batch_sizes(&self) -> BatchSizes<'_> {
        BatchSizes::new(&self.sizes, self.batch).expect("sizes built non-increasing")
    }

    /// Number of packed rows `N`.
    pub fn rows(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The row of the padded input `[T*B, w]` each packed row is, or, when
    /// `reversed`, each packed row of the sequences reversed within their
    /// lengths (for [`crate::CellInput::Picked`]).
    pub fn padded_rows(&self, reversed: bool) -> &[usize] {
        if reversed { &self.padded_reversed } else { &self.padded }
    }

    /// The packed row of the same sequence reversed, for each packed row.
    pub fn reversed_rows(&self) -> &[usize] {
        &self.reversed
    }

    /// The padded `src[T, B, w]` packed into `dst` (`N` rows of `w`).
    pub fn pack<F: Float>(&self, src: ArrayView3<'_, F>, dst: &mut [F]) {
        let w = src.shape()[2];
        if let Some(all) = src.as_slice() {
            // Standard layout: each row is a slice, copied whole.
            for (t, &n) in self.sizes.iter().enumerate() {
                for (r, &b) in self.order[..n].iter().enumerate() {
                    let from = (t * self.batch + b) * w;
                    dst[(self.offsets[t] + r) * w..][..w].copy_from_slice(&all[from..from + w]);
                }
            }
            return;
        }
        for (t, &n) in self.sizes.iter().enumerate() {
            let step = src.index_axis(Axis(0), t);
            for r in 0..n {
                let row = &mut dst[(self.offsets[t] + r) * w..][..w];
                for (d, s) in row.iter_mut().zip(step.row(self.order[r])) {
                    *d = *s;
                }
            }
        }
    }

    /// The ids `ids[t * B + b]` of a padded one-hot input, packed into `dst`.
    pub fn pack_ids(&self, ids: &[usize], dst: &mut Vec<usize>) {
        dst.clear();
        for (t, &n) in self.sizes.iter().enumerate() {
            dst.extend(self.order[..n].iter().map(|&b| ids[t * self.batch + b]));
        }
    }

    /// The packed rows `src` (`N` rows of `w`) written into the padded
    /// `dst[T, B, w]` (standard layout), and zeros into its padding rows:
    /// every value of `dst` is written.
    pub fn unpack<F: Float>(&self, src: &[F], mut dst: ArrayViewMut3<'_, F>) {
        let w = dst.shape()[2];
        let all = dst.as_slice_mut().expect("the padded result is in standard layout");
        for (t, &n) in self.sizes.iter().enumerate() {
            for (r, &b) in self.order.iter().enumerate() {
                let row = &mut all[(t * self.batch + b) * w..][..w];
                if r < n {
                    row.copy_from_slice(&src[(self.offsets[t] + r) * w..][..w]);
                } else {
                    row.fill(F::zero());
                }
            }
        }
        // Steps past the longest sequence are padding for everyone.
        all[self.sizes.len() * self.batch * w..].fill(F::zero());
    }

    /// Copies `w` values of each of the `N` packed rows of `src` (rows of
    /// `src_ld` values, from column `src_col`) into `dst` (rows of `dst_ld`,
    /// from column `dst_col`), every sequence reversed within its length.
    pub fn reverse<F: Float>(
        &self,
        src: &[F],
        (src_ld, src_col): (usize, usize),
        dst: &mut [F],
        (dst_ld, dst_col): (usize, usize),
        w: usize,
    ) {
        for (p, &q) in self.reversed.iter().enumerate() {
            dst[p * dst_ld + dst_col..][..w].copy_from_slice(&src[q * src_ld + src_col..][..w]);
        }
    }

    /// Packed ids with every sequence reversed within its length.
    pub fn reverse_ids(&self, ids: &[usize], dst: &mut Vec<usize>) {
        dst.clear();
        dst.extend(self.reversed.iter().map(|&q| ids[q]));
    }

    /// `dst += src` with every sequence of `src` reversed within its length.
    pub fn add_reversed<F: Float>(&self, src: &[F], dst: &mut [F], w: usize) {
        for (p, &q) in self.reversed.iter().enumerate() {
            for (d, s) in dst[p * w..(p + 1) * w].iter_mut().zip(&src[q * w..(q + 1) * w]) {
                *d += *s;
            }
        }
    }

    /// `dst[i] = src[order[i]]`: rows of a `[B, w]` state in sorted order.
    pub fn sort_rows<F: Float>(&self, src: ArrayView2<'_, F>, mut dst: ArrayViewMut2<'_, F>) {
        for (i, &b) in self.order.iter().enumerate() {
            dst.row_mut(i).assign(&src.row(b));
        }
    }

    /// `dst[order[i]] = src[i]`: rows of a sorted `[B, w]` state back in
    /// the caller's order.
    pub fn unsort_rows<F: Float>(&self, src: ArrayView2<'_, F>, mut dst: ArrayViewMut2<'_, F>) {
        for (i, &b) in self.order.iter().enumerate() {
            dst.row_mut(b).assign(&src.row(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn packs_sorted_by_length_and_reverses_within_each_length() {
        let mut p = Packing::default();
        // B = 4, T = 3; lengths 1, 3, 0, 2 -> order 1, 3, 0, 2; sizes 3, 2, 1.
        p.set(Some(&[1, 3, 0, 2]), 3, 4).unwrap();
        assert!(p.active);
        assert_eq!(p.order, [1, 3, 0, 2]);
        assert_eq!(p.sizes, [3, 2, 1]);
        assert_eq!(p.rows(), 6);
        // Row (t, b) holds 10 t + b.
        let x = Array3::from_shape_fn((3, 4, 1), |(t, b, _)| (10 * t + b) as f64);
        let mut packed = vec![0.0; 6];
        p.pack(x.view(), &mut packed);
        assert_eq!(packed, [1.0, 3.0, 0.0, 11.0, 13.0, 21.0]);
        let mut rev = vec![0.0; 6];
        p.reverse(&packed, (1, 0), &mut rev, (1, 0), 1);
        // Sequence 1 (length 3) reversed: 21, 11, 1; sequence 3 (2): 13, 3; 0: 0.
        assert_eq!(rev, [21.0, 13.0, 0.0, 11.0, 3.0, 1.0]);
        let mut back = Array3::from_elem((3, 4, 1), f64::NAN);
        p.unpack(&packed, back.view_mut());
        let want = Array3::from_shape_fn(
            (3, 4, 1),
            |(t, b, _)| {
                if t < [1, 3, 0, 2][b] { (10 * t + b) as f64 } else { 0.0 }
            },
        );
        assert_eq!(back, want);
        // Steps past the longest sequence are zero too.
        let mut q = Packing::default();
        q.set(Some(&[1, 2]), 4, 2).unwrap();
        let mut back = Array3::from_elem((4, 2, 1), f64::NAN);
        q.unpack(&[5.0, 6.0, 7.0], back.view_mut());
        assert_eq!(
            back.iter().copied().collect::<Vec<_>>(),
            [6.0, 5.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0]
        );
        let mut ids = Vec::new();
        p.pack_ids(&(0..12).collect::<Vec<_>>(), &mut ids);
        assert_eq!(ids, [1, 3, 0, 5, 7, 9]);
        let mut rev_ids = Vec::new();
        p.reverse_ids(&ids, &mut rev_ids);
        assert_eq!(rev_ids, [9, 7, 0, 5, 3, 1]);
        // The padded rows the packed rows pick are the packed ids of 0..T*B.
        assert_eq!(p.padded_rows(false), &ids[..]);
        assert_eq!(p.padded_rows(true), &rev_ids[..]);
    }

    #[test]
    fn full_lengths_stay_unpacked_and_bad_ones_are_errors() {
        let mut p = Packing::default();
        p.set(Some(&[3, 3]), 3, 2).unwrap();
        assert!(!p.active);
        p.set(None, 3, 2).unwrap();
        assert!(!p.active);
        assert!(matches!(p.set(Some(&[3]), 3, 2), Err(RnnError::Shape { .. })));
        assert!(matches!(p.set(Some(&[4, 1]), 3, 2), Err(RnnError::Invalid(_))));
    }
}
