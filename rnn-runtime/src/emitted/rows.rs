//! Splitting a fused elementwise loop's rows between two threads.
//!
//! An emitted kernel computes each row of the step's batch on its own,
//! writing only that row of every buffer it stores to (a state's next
//! block, saved gates, ...). [`RowBlocks::new`] names the blocks of a
//! written buffer the kernel reaches (each `rows` rows from a start row:
//! the step's rows of a buffer of all steps, the state before and after
//! the step, a buffer of one step), and checks that distinct blocks do not
//! overlap; [`RowBlocks::halves`] hands out two [`RowCursor`]s, one for the
//! rows before `mid` of every block and one for the rest, and a cursor
//! gives out the slices of one row at a time, checking that they lie in
//! that row of one of the blocks and that rows only move forward: the two
//! threads can never reach the same element, and one thread never holds
//! two slices of a row at once.
//!
//! Where the rows are split depends only on the number of rows and the
//! work per row ([`row_split`]), never on the thread count, so a kernel
//! that also sums rows into a gradient gives the same bits on one thread
//! or two.

use std::marker::PhantomData;

/// The most blocks of one buffer a kernel reaches (a state history: the
/// state before the step and after it).
pub const MAX_BLOCKS: usize = 2;

/// A written buffer seen as rows of `ld` values, and the blocks of `rows`
/// rows a kernel reaches in it.
pub struct RowBlocks<'a, F> {
    ptr: *mut F,
    len: usize,
    ld: usize,
    rows: usize,
    /// The first row of each block (a single block given twice).
    starts: [usize; MAX_BLOCKS],
    _buf: PhantomData<&'a mut [F]>,
}

impl<'a, F> RowBlocks<'a, F> {
    /// `buf` as rows of `ld` values, with blocks of `rows` rows starting at
    /// the rows `starts` (a start given twice is one block).
    ///
    /// Panics if two distinct blocks overlap: the emitted code never asks
    /// for that. (Whether a block fits in the buffer is checked region by
    /// region, by [`RowCursor::row`].)
    #[inline]
    pub fn new<const K: usize>(buf: &'a mut [F], ld: usize, rows: usize, starts: [usize; K]) -> Self {
        assert!(
            ld > 0 && K >= 1 && K <= MAX_BLOCKS,
            "RowBlocks: empty rows, or not 1 to {MAX_BLOCKS} blocks"
        );
        let mut kept = [starts[0]; MAX_BLOCKS];
        for (i, &s) in starts.iter().enumerate() {
            for &o in &starts[..i] {
                assert!(
                    o == s || o + rows <= s || s + rows <= o,
                    "RowBlocks: blocks at rows {o} and {s} overlap"
                );
            }
            kept[i] = s;
        }
        RowBlocks {
            ptr: buf.as_mut_ptr(),
            len: buf.len(),
            ld,
            rows,
            starts: kept,
            _buf: PhantomData,
        }
    }

    /// Cursors for the rows `0..mid` and `mid..rows` of every block.
    pub fn halves(self, mid: usize) -> [RowCursor<'a, F>; 2] {
        let cursor = |lo, hi| RowCursor {
            ptr: self.ptr,
            len: self.len,
            ld: self.ld,
            starts: self.starts,
            lo,
            hi,
            next: lo,
            _buf: PhantomData,
        };
        let mid = mid.min(self.rows);
        [cursor(0, mid), cursor(mid, self.rows)]
    }
}

/// The rows `lo..hi` of every block of a [`RowBlocks`], visited in order.
pub struct RowCursor<'a, F> {
    ptr: *mut F,
    len: usize,
    ld: usize,
    starts: [usize; MAX_BLOCKS],
    lo: usize,
    hi: usize,
    next: usize,
    _buf: PhantomData<&'a mut [F]>,
}

// SAFETY: a cursor only reaches rows no other cursor of the same buffer
// reaches (see `RowBlocks::halves`), like a `&mut` to those rows.
unsafe impl<F: Send> Send for RowCursor<'_, F> {}

impl<F> RowCursor<'_, F> {
    /// The regions `(offset, len)` of row `r` (of any of the blocks) as
    /// disjoint slices, in the order given. Rows must come in increasing
    /// order within `lo..hi`; the slices live until the next call.
    ///
    /// Panics if `r` is out of order or outside the cursor's rows, if a
    /// region is not in row `r` of a block or leaves the buffer, or if two
    /// regions overlap: the emitted code never asks for that.
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
            let in_row = |s: &usize| {
                let first = (s + r) * self.ld;
                off >= first && off + len <= first + self.ld
            };
            assert!(
                self.starts.iter().any(in_row) && off + len <= self.len,
                "region {off}+{len} is not in row {r} of a block"
            );
            assert!(off >= end, "kernel regions overlap");
            end = off + len;
        }
        // SAFETY: every region is inside the buffer, inside row r of one of
        // the blocks (distinct blocks do not overlap, see `RowBlocks::new`,
        // so no other cursor reaches that row, and this one only until the
        // next call, since the slices borrow `self`), and the regions are
        // disjoint.
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
        let [mut a, mut b] = RowBlocks::new(&mut buf, 3, 4, [0, 4]).halves(2);
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
        let [mut a, _] = RowBlocks::new(&mut buf, 3, 4, [0]).halves(2);
        a.row(0, [(6, 3)]);
    }

    #[test]
    fn blocks_of_packed_steps_may_start_anywhere() {
        // Rows of 2 values: a block of 3 rows at row 1, then one at row 4.
        let mut buf: Vec<u32> = (0..16).collect();
        let [mut a, mut b] = RowBlocks::new(&mut buf, 2, 3, [1, 4]).halves(1);
        let [x, y] = a.row(0, [(2, 2), (8, 2)]);
        x[0] += 100;
        y[0] += 100;
        let [z] = b.row(2, [(12, 2)]);
        z[1] += 100;
        assert_eq!(&buf[2..4], &[102, 3]);
        assert_eq!(&buf[8..10], &[108, 9]);
        assert_eq!(&buf[12..14], &[12, 113]);
    }

    #[test]
    #[should_panic(expected = "overlap")]
    fn overlapping_blocks_panic() {
        let mut buf = vec![0u8; 20];
        let _ = RowBlocks::new(&mut buf, 2, 3, [1, 3]);
    }

    #[test]
    #[should_panic(expected = "not in row")]
    fn a_row_past_the_end_panics() {
        let mut buf = vec![0u8; 12];
        let [mut a, _] = RowBlocks::new(&mut buf, 2, 3, [4]).halves(3);
        a.row(1, [(10, 2)]);
        a.row(2, [(12, 2)]);
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn revisiting_a_row_panics() {
        let mut buf = vec![0u8; 12];
        let [mut a, _] = RowBlocks::new(&mut buf, 3, 4, [0]).halves(2);
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
