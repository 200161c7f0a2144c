//! Splitting a fused elementwise loop's rows between two threads.
//!
//! An emitted kernel computes each row of the batch on its own, writing only
//! that row of every buffer it stores to (a state's next block, saved
//! gates, ...). [`RowBlocks::halves`] hands out two [`RowCursor`]s over a
//! written buffer, one for the rows before `mid` and one for the rest, and
//! a cursor gives out the slices of one row at a time, checking that they
//! lie in that row and that rows only move forward: the two threads can
//! never reach the same element, and one thread never holds two slices of
//! a row at once.
//!
//! Where the rows are split depends only on the batch and the work per row
//! ([`row_split`]), never on the thread count, so a kernel that also sums
//! rows into a gradient gives the same bits on one thread or two.

use std::marker::PhantomData;

/// A written buffer seen as rows of `ld` values grouped in blocks of
/// `batch` rows (one block per time step, or a single block).
pub struct RowBlocks<'a, F> {
    ptr: *mut F,
    len: usize,
    ld: usize,
    batch: usize,
    _buf: PhantomData<&'a mut [F]>,
}

impl<'a, F> RowBlocks<'a, F> {
    /// `buf` as rows of `ld` values, `batch` rows per block.
    pub fn new(buf: &'a mut [F], ld: usize, batch: usize) -> Self {
        assert!(ld > 0 && batch > 0, "RowBlocks: empty rows");
        RowBlocks {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            ld,
            batch,
            _buf: PhantomData,
        }
    }

    /// Cursors for the rows `0..mid` and `mid..batch` of every block.
    pub fn halves(self, mid: usize) -> [RowCursor<'a, F>; 2] {
        let cursor = |lo, hi| RowCursor {
            ptr: self.ptr,
            len: self.len,
            ld: self.ld,
            batch: self.batch,
            lo,
            hi,
            next: lo,
            _buf: PhantomData,
        };
        [cursor(0, mid.min(self.batch)), cursor(mid.min(self.batch), self.batch)]
    }
}

/// The rows `lo..hi` of every block of a [`RowBlocks`], visited in order.
pub struct RowCursor<'a, F> {
    ptr: *mut F,
    len: usize,
    ld: usize,
    batch: usize,
    lo: usize,
    hi: usize,
    next: usize,
    _buf: PhantomData<&'a mut [F]>,
}

// SAFETY: a cursor only reaches rows no other cursor of the same buffer
// reaches (see `RowBlocks::halves`), like a `&mut` to those rows.
unsafe impl<F: Send> Send for RowCursor<'_, F> {}

impl<F> RowCursor<'_, F> {
    /// The regions `(offset, len)` of row `r` (in any of its blocks) as
    /// disjoint slices, in the order given. Rows must come in increasing
    /// order within `lo..hi`; the slices live until the next call.
    ///
    /// Panics if `r` is out of order or outside the cursor's rows, if a
    /// region leaves row `r` of its block or the buffer, or if two regions
    /// overlap: the emitted code never asks for that.
    pub fn row<const N: usize>(&mut self, r: usize, ranges: [(usize, usize); N]) -> [&mut [F]; N] {
        assert!(
            r >= self.next && r >= self.lo && r < self.hi,
            "row {r} out of order or outside {}..{}",
            self.lo,
            self.hi
        );
        self.next = r + 1;
        let mut order: [usize; N] = core::array::from_fn(|i| i);
        order.sort_unstable_by_key(|&i| ranges[i].0);
        let mut end = 0;
        for &i in &order {
            let (off, len) = ranges[i];
            let row = off / self.ld;
            assert!(
                row % self.batch == r && off + len <= (row + 1) * self.ld && off + len <= self.len,
                "region {off}+{len} is not in row {r}"
            );
            assert!(off >= end, "kernel regions overlap");
            end = off + len;
        }
        // SAFETY: every region is inside the buffer, inside row r of its
        // block (which only this cursor reaches, and only until the next
        // call, since the slices borrow `self`), and the regions are disjoint.
        ranges.map(|(off, len)| unsafe { core::slice::from_raw_parts_mut(self.ptr.add(off), len) })
    }
}

/// Values of work below which a kernel is not split: a few µs of loop, so
/// that the medium workload's per-step kernels (24K values) split too; that
/// made its 2-thread training steps 9-12 % faster than a 32K threshold.
const SPLIT_MIN: usize = 1 << 13;

/// Where a kernel over `rows` rows of `width` values each splits its rows
/// (`rows` itself: not at all), from the shape alone.
pub fn row_split(rows: usize, width: usize) -> usize {
    if rows >= 2 && rows * width >= SPLIT_MIN {
        rows / 2
    } else {
        rows
    }
}

/// Runs `a` then `b`, or both at once on two threads when `split` and the
/// pool has them (`split` false: `b` has no rows, only `a` runs).
pub fn join<A: FnOnce() + Send, B: FnOnce() + Send>(split: bool, a: A, b: B) {
    if !split {
        a();
    } else if rayon::current_num_threads() > 1 {
        rayon::join(a, b);
    } else {
        a();
        b();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_reach_their_own_rows_of_every_block() {
        // Two blocks of 4 rows of 3 values.
        let mut buf: Vec<u32> = (0..24).collect();
        let [mut a, mut b] = RowBlocks::new(&mut buf, 3, 4).halves(2);
        join(
            true,
            || {
                for r in 0..2 {
                    let [x, y] = a.row(r, [(r * 3, 3), (12 + r * 3 + 1, 2)]);
                    x.iter_mut().chain(y.iter_mut()).for_each(|v| *v += 100);
                }
            },
            || {
                for r in 2..4 {
                    let [x] = b.row(r, [(12 + r * 3, 3)]);
                    x.iter_mut().for_each(|v| *v += 1000);
                }
            },
        );
        assert_eq!(&buf[..6], &[100, 101, 102, 103, 104, 105]);
        assert_eq!(&buf[6..12], &[6, 7, 8, 9, 10, 11]);
        assert_eq!(&buf[12..15], &[12, 113, 114]);
        assert_eq!(&buf[18..], &[1018, 1019, 1020, 1021, 1022, 1023]);
    }

    #[test]
    #[should_panic(expected = "not in row")]
    fn a_region_of_another_row_panics() {
        let mut buf = vec![0u8; 12];
        let [mut a, _] = RowBlocks::new(&mut buf, 3, 4).halves(2);
        a.row(0, [(6, 3)]);
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn revisiting_a_row_panics() {
        let mut buf = vec![0u8; 12];
        let [mut a, _] = RowBlocks::new(&mut buf, 3, 4).halves(2);
        a.row(1, [(3, 3)]);
        a.row(1, [(3, 3)]);
    }

    #[test]
    fn splits_only_real_work() {
        assert_eq!(row_split(1, 1 << 20), 1);
        assert_eq!(row_split(32, 16), 32);
        assert_eq!(row_split(32, 1024), 16);
    }
}
