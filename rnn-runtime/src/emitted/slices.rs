//! Slices of the emitted code's buffers: several disjoint regions of one
//! buffer borrowed mutably at once, consecutive chunks, and stacked weights
//! copied into a packed matrix.

/// Splits `buf` into disjoint mutable regions `(offset, len)`, returned in
/// the order given (the emitted kernels bind the locations they read and
/// write in one buffer this way, e.g. a state's block t and block t+1).
///
/// Panics if two regions overlap or one runs past the end: the scheduler
/// never asks for that, so it would be a compiler bug.
///
/// ```
/// let mut v = [0, 1, 2, 3, 4, 5];
/// let [a, b] = rnn_runtime::emitted::slices::split_ranges_mut(&mut v, [(4, 2), (0, 3)]);
/// assert_eq!((&a[..], &b[..]), (&[4, 5][..], &[0, 1, 2][..]));
/// ```
#[inline]
pub fn split_ranges_mut<T, const N: usize>(buf: &mut [T], ranges: [(usize, usize); N]) -> [&mut [T]; N] {
    let mut order: [usize; N] = core::array::from_fn(|i| i);
    order.sort_unstable_by_key(|&i| ranges[i].0);
    let mut out: [Option<&mut [T]>; N] = [const { None }; N];
    let mut rest = buf;
    let mut at = 0;
    for &i in &order {
        let (off, len) = ranges[i];
        assert!(off >= at, "kernel regions overlap");
        let tail = core::mem::take(&mut rest).split_at_mut(off - at).1;
        let (mid, tail) = tail.split_at_mut(len);
        out[i] = Some(mid);
        rest = tail;
        at = off + len;
    }
    out.map(|r| r.expect("every region is assigned"))
}

/// The first `N` consecutive chunks of `len` elements of `s`, mutably.
///
/// ```
/// let mut v = [0, 1, 2, 3, 4];
/// let [a, b] = rnn_runtime::emitted::slices::chunks_mut::<2, _>(&mut v, 2);
/// assert_eq!((&a[..], &b[..]), (&[0, 1][..], &[2, 3][..]));
/// ```
#[inline]
pub fn chunks_mut<const N: usize, T>(s: &mut [T], len: usize) -> [&mut [T]; N] {
    let mut rest = s;
    [(); N].map(|_| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        head
    })
}

/// Copies `src` (`rows×cols`, row-major) into `dst` at row `row0` of a
/// packed matrix with `cols` columns: lays stacked weights out once per call.
pub fn pack_rows<F: Copy>(dst: &mut [F], row0: usize, cols: usize, src: &[F]) {
    dst[row0 * cols..row0 * cols + src.len()].copy_from_slice(src);
}

/// Copies columns `col0..col0 + cols` of `src` (rows of `ld` values) into
/// `dst` (rows of `cols` values, as many rows as `dst` holds): the block of
/// a matrix declared `[G, I + H]` that one product of `w @ concat(x, h)`
/// reads.
///
/// ```
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2, 3]
/// let mut right = [0.0; 4];
/// rnn_runtime::emitted::slices::copy_cols(&mut right, &w, 3, 1, 2);
/// assert_eq!(right, [2.0, 3.0, 5.0, 6.0]);
/// ```
pub fn copy_cols<F: Copy>(dst: &mut [F], src: &[F], ld: usize, col0: usize, cols: usize) {
    for (r, row) in dst.chunks_exact_mut(cols.max(1)).enumerate() {
        row.copy_from_slice(&src[r * ld + col0..][..cols]);
    }
}

/// Adds `src` (rows of `cols` values) into columns `col0..col0 + cols` of
/// `dst` (rows of `ld` values): a column block's gradient into its
/// matrix's (see [`copy_cols`]).
///
/// ```
/// let mut dw = [1.0; 6]; // [2, 3]
/// rnn_runtime::emitted::slices::add_cols(&mut dw, 3, 1, &[1.0, 2.0, 3.0, 4.0], 2);
/// assert_eq!(dw, [1.0, 2.0, 3.0, 1.0, 4.0, 5.0]);
/// ```
pub fn add_cols<F: Copy + core::ops::AddAssign>(dst: &mut [F], ld: usize, col0: usize, src: &[F], cols: usize) {
    for (r, row) in src.chunks_exact(cols.max(1)).enumerate() {
        for (d, &s) in dst[r * ld + col0..][..cols].iter_mut().zip(row) {
            *d += s;
        }
    }
}

/// Writes `src` (`rows x cols`, row-major) transposed into `dst` (`cols x
/// rows`): the weight of `w.T @ v`, laid out once per call.
///
/// ```
/// let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2, 3]
/// let mut wt = [0.0; 6];
/// rnn_runtime::emitted::slices::copy_transposed(&mut wt, &w, 2, 3);
/// assert_eq!(wt, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn copy_transposed<F: Copy>(dst: &mut [F], src: &[F], rows: usize, cols: usize) {
    assert!(
        dst.len() >= rows * cols && src.len() >= rows * cols,
        "copy_transposed: too short"
    );
    for (r, row) in src.chunks_exact(cols.max(1)).take(rows).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// Adds `src` (`cols x rows`) transposed into `dst` (`rows x cols`): the
/// gradient of `w.T @ v`'s weight into `w`'s (see [`copy_transposed`]).
///
/// ```
/// let mut dw = [0.0; 6]; // [2, 3]
/// rnn_runtime::emitted::slices::add_transposed(&mut dw, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], 2, 3);
/// assert_eq!(dw, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// ```
pub fn add_transposed<F: Copy + core::ops::AddAssign>(dst: &mut [F], src: &[F], rows: usize, cols: usize) {
    assert!(
        dst.len() >= rows * cols && src.len() >= rows * cols,
        "add_transposed: too short"
    );
    for (r, row) in dst.chunks_exact_mut(cols.max(1)).take(rows).enumerate() {
        for (c, d) in row.iter_mut().enumerate() {
            *d += src[c * rows + r];
        }
    }
}

/// `&s[off..]`, or the empty end of `s` when `off` is past it (a block of
/// columns of a buffer with no rows).
pub fn tail<F>(s: &[F], off: usize) -> &[F] {
    &s[off.min(s.len())..]
}

/// `&mut s[off..]`, or the empty end of `s` when `off` is past it.
pub fn tail_mut<F>(s: &mut [F], off: usize) -> &mut [F] {
    let off = off.min(s.len());
    &mut s[off..]
}
