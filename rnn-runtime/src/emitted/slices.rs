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
