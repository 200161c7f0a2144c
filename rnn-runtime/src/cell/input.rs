//! A cell's input sequence: real values, or token ids standing for one-hot
//! vectors, and the kernels that read either form.
//!
//! A one-hot input `x_t` (a 1 at the token's id, zeros elsewhere) times a
//! weight `W^T` is column `id` of `W`, and the weight gradient `dY^T X` adds
//! each row of `dY` into one column: a lookup and a scatter instead of two
//! dense matrix products with a mostly-zero operand, and no input gradient
//! at all (a token has none). Emitted cells that read their input only
//! through products ([`Cell::forward_train_input_ws`](crate::Cell::forward_train_input_ws))
//! take this path; the others see the one-hot vectors written out.

use super::records::{Trace, check_input};
use crate::emitted::simd::simd;
use crate::error::RnnError;
use crate::float::Float;
use crate::gemm::{PackedB, Strided, gemm_nt, gemm_packed, gemm_packed_picked, gemm_tn};
use crate::workspace::Workspace;
use ndarray::{ArrayView2, ArrayView3, CowArray, Ix3};

/// A batch of input sequences for a cell, time-major.
#[derive(Debug, Clone, Copy)]
pub enum CellInput<'a, F> {
    /// Values `[T, B, I]`.
    Values(ArrayView3<'a, F>),
    /// One-hot vectors of width `I` given by their ids, `ids[t * batch + b]`.
    OneHot {
        /// `[len * batch]` ids, each below the cell's input width.
        ids: &'a [usize],
        /// Sequence length `T`.
        len: usize,
        /// Batch size `B`.
        batch: usize,
    },
    /// Packed rows picked from a matrix without copying them: row `r` is
    /// row `rows[r]` of `xs` (`[R, I]`, standard layout), and the input is
    /// `[rows.len(), 1, I]` (`T = rows.len()`, `B = 1`), as a packed batch's
    /// input is. [`crate::Layers`] passes its padded input `[T*B, I]` to the
    /// cells this way for a batch of different lengths.
    Picked {
        /// The matrix the rows come from, `[R, I]`.
        xs: ArrayView2<'a, F>,
        /// Which row of `xs` each input row is, each below `R`.
        rows: &'a [usize],
    },
}

impl<'a, F: Float> CellInput<'a, F> {
    /// Checks the input against the cell's input width `width` and returns
    /// `(T, B)`. Errors: [`RnnError::Shape`] for values of the wrong width
    /// or ids of the wrong count, [`RnnError::Invalid`] for an id `>= width`.
    pub fn check(&self, what: &str, width: usize) -> Result<(usize, usize), RnnError> {
        match *self {
            CellInput::Values(ref xs) => check_input(what, xs, width),
            CellInput::OneHot { ids, len, batch } => {
                if len.checked_mul(batch) != Some(ids.len()) {
                    return Err(RnnError::shape(
                        format!("{what} (one-hot ids [T*B])"),
                        &[len.saturating_mul(batch)],
                        &[ids.len()],
                    ));
                }
                if let Some(&bad) = ids.iter().find(|&&i| i >= width) {
                    return Err(RnnError::Invalid(format!(
                        "{what}: id {bad} out of range for one-hot vectors of width {width}"
                    )));
                }
                Ok((len, batch))
            }
            CellInput::Picked { ref xs, rows } => {
                if xs.ncols() != width {
                    return Err(RnnError::shape(
                        format!("{what} (picked rows [R, I])"),
                        &[xs.nrows(), width],
                        xs.shape(),
                    ));
                }
                if !xs.is_standard_layout() {
                    return Err(RnnError::Invalid(format!(
                        "{what}: the matrix rows are picked from must be in standard layout"
                    )));
                }
                if let Some(&bad) = rows.iter().find(|&&r| r >= xs.nrows()) {
                    return Err(RnnError::Invalid(format!(
                        "{what}: picked row {bad} out of range for a matrix of {} rows",
                        xs.nrows()
                    )));
                }
                Ok((rows.len(), 1))
            }
        }
    }

    /// Whether this is [`CellInput::OneHot`].
    pub fn is_one_hot(&self) -> bool {
        matches!(self, CellInput::OneHot { .. })
    }
}

/// The input as the emitted code reads it: a row-major `[T*B, I]` slice or the ids.
#[derive(Debug, Clone, Copy)]
pub enum InputRef<'a, F> {
    /// Row-major values, `I` per row.
    Dense(&'a [F]),
    /// One id per row.
    OneHot(&'a [usize]),
    /// Row `r` is row `rows[r]` of the row-major `data`.
    Picked {
        /// The rows picked from.
        data: &'a [F],
        /// Values per row, `I`.
        width: usize,
        /// Which row of `data` each input row is.
        rows: &'a [usize],
    },
}

impl<'a, F> InputRef<'a, F> {
    /// The values.
    ///
    /// Panics for one-hot ids (the emitted code asks only after checking).
    pub fn dense(self) -> &'a [F] {
        match self {
            InputRef::Dense(x) => x,
            InputRef::OneHot(_) => panic!("a one-hot input has no values"),
            InputRef::Picked { .. } => panic!("picked rows are read through a product or copied first"),
        }
    }

    /// Rows `r0..r0 + n` (of width `width` for values).
    pub fn rows(self, r0: usize, n: usize, width: usize) -> InputRef<'a, F> {
        match self {
            InputRef::Dense(x) => InputRef::Dense(&x[r0 * width..(r0 + n) * width]),
            InputRef::OneHot(ids) => InputRef::OneHot(&ids[r0..r0 + n]),
            InputRef::Picked { data, width, rows } => InputRef::Picked {
                data,
                width,
                rows: &rows[r0..r0 + n],
            },
        }
    }
}

/// Rows `rows` of `width` values of the row-major `data`, copied in order
/// into a buffer from `ws`.
fn gather<F: Float>(ws: &mut Workspace<F>, data: &[F], width: usize, rows: &[usize]) -> Vec<F> {
    let mut v = ws.take_dirty(rows.len() * width);
    for (dst, &r) in v.chunks_exact_mut(width.max(1)).zip(rows) {
        dst.copy_from_slice(&data[r * width..][..width]);
    }
    v
}

/// The rows `rows` of `xs` (`[R, I]`, standard layout, as
/// [`CellInput::Picked`] holds them), copied in order into a buffer from
/// `ws`: `rows.len()` rows of `I`.
pub fn gather_rows<F: Float>(ws: &mut Workspace<F>, xs: ArrayView2<'_, F>, rows: &[usize]) -> Vec<F> {
    let data = xs.as_slice().expect("picked rows come from a standard-layout matrix");
    gather(ws, data, xs.ncols(), rows)
}

/// Steps per chunk of an input projection computed inside the loop: about
/// 128 rows (a chunk of a wide projection stays in L2), at most `t_len`.
pub fn chunk_steps(batch: usize, t_len: usize) -> usize {
    (128 / batch.max(1)).clamp(1, t_len.max(1))
}

/// `C[m×n] = beta·C + X · W^T` for the `m` rows of `x` and `W^T` packed in
/// `w` (`K x n`): a product for values, a lookup of rows of the packed
/// `W^T` for one-hot ids (the same numbers, see [`input_product`]).
pub fn input_product_packed<F: Float>(x: InputRef<'_, F>, m: usize, w: &PackedB<F>, beta: F, c: &mut [F], ldc: usize) {
    match x {
        InputRef::Dense(x) => gemm_packed(m, Strided::rows(x, w.k()), w, beta, c, ldc),
        InputRef::Picked { data, width, rows } => gemm_packed_picked(data, width, &rows[..m], w, beta, c, ldc),
        InputRef::OneHot(ids) => {
            for (r, &id) in ids[..m].iter().enumerate() {
                w.copy_row(id, beta, &mut c[r * ldc..][..w.n()]);
            }
        }
    }
}

/// Holds a [`CellInput`] in the form [`InputRef`] borrows from (values in
/// standard layout, copied only if they were not).
pub struct InputHold<'a, F> {
    held: Held<'a, F>,
}

/// What an [`InputHold`] holds.
#[derive(Debug)]
enum Held<'a, F> {
    Values(CowArray<'a, F, Ix3>),
    OneHot(&'a [usize]),
    Picked(ArrayView2<'a, F>, &'a [usize]),
}

impl<'a, F: Float> InputHold<'a, F> {
    /// Borrows (or, for a non-standard layout, copies) `input`.
    pub fn new(input: CellInput<'a, F>) -> Self {
        let held = match input {
            CellInput::Values(xs) => Held::Values(if xs.is_standard_layout() {
                CowArray::from(xs)
            } else {
                CowArray::from(xs.as_standard_layout().into_owned())
            }),
            CellInput::OneHot { ids, .. } => Held::OneHot(ids),
            CellInput::Picked { xs, rows } => Held::Picked(xs, rows),
        };
        InputHold { held }
    }

    /// The input for the emitted kernels.
    pub fn as_ref(&self) -> InputRef<'_, F> {
        match &self.held {
            Held::Values(v) => InputRef::Dense(v.as_slice().expect("standard layout")),
            Held::OneHot(ids) => InputRef::OneHot(ids),
            Held::Picked(xs, rows) => InputRef::Picked {
                data: xs.as_slice().expect("checked standard layout"),
                width: xs.ncols(),
                rows,
            },
        }
    }
}

/// Writes `input` out as dense rows `[T*B, width]` into a buffer from `ws`
/// (one-hot ids become vectors with a single 1), for cells that read their
/// input other than through products. Give the buffer back with `ws.give`.
pub fn dense_input<F: Float>(ws: &mut Workspace<F>, input: InputRef<'_, F>, width: usize) -> Vec<F> {
    match input {
        InputRef::Dense(x) => ws.take_copy(x),
        InputRef::Picked { data, width, rows } => gather(ws, data, width, rows),
        InputRef::OneHot(ids) => {
            let mut v = ws.take(ids.len() * width);
            for (row, &id) in v.chunks_exact_mut(width).zip(ids) {
                row[id] = F::one();
            }
            v
        }
    }
}

/// `C[m×n] = beta·C + X · W^T` for the input `X` (`m` rows of width `k`)
/// and `W[n×k]` (row stride `ldw`): a product for values, a lookup of
/// columns of `W` for one-hot rows (the same numbers: every other term of
/// the product is an exact zero).
#[allow(clippy::too_many_arguments)]
pub fn input_product<F: Float>(
    ws: &mut Workspace<F>,
    x: InputRef<'_, F>,
    m: usize,
    n: usize,
    k: usize,
    w: &[F],
    ldw: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    match x {
        InputRef::Dense(x) => gemm_nt(ws, m, n, k, x, k, w, ldw, beta, c, ldc),
        InputRef::Picked { data, width, rows } => {
            let x = gather(ws, data, width, rows);
            gemm_nt(ws, m, n, k, &x, k, w, ldw, beta, c, ldc);
            ws.give(x);
        }
        InputRef::OneHot(_) => {
            // W^T packed once: each row's lookup is a copy from its panels.
            let wt = PackedB::nt_in(ws, w, n, k, ldw);
            input_product_packed(x, m, &wt, beta, c, ldc);
            ws.give(wt.into_vec());
        }
    }
}

/// `G[m×n] += dY^T · X` for `dY` (`k` rows of width `m`, row stride `lda`)
/// and the input `X` (`k` rows of width `n`): a product for values; for
/// one-hot rows each row of `dY` is added into the column of its id.
#[allow(clippy::too_many_arguments)]
pub fn input_weight_grad<F: Float>(
    ws: &mut Workspace<F>,
    x: InputRef<'_, F>,
    m: usize,
    n: usize,
    k: usize,
    dy: &[F],
    lda: usize,
    g: &mut [F],
    ldg: usize,
) {
    match x {
        InputRef::Dense(x) => gemm_tn(ws, m, n, k, dy, lda, x, n, F::one(), g, ldg),
        InputRef::Picked { data, width, rows } => {
            let x = gather(ws, data, width, rows);
            gemm_tn(ws, m, n, k, dy, lda, &x, n, F::one(), g, ldg);
            ws.give(x);
        }
        InputRef::OneHot(_) => {
            let mut sums = OneHotSums::new_in(ws, x, n, m);
            sums.add_rows(x, 0, dy, lda, k);
            sums.add_into(ws, g, ldg);
        }
    }
}

/// The weight gradient of one-hot inputs as it builds up: for each id, the
/// sum of the `dY` rows of that id (`G^T`, `n` ids by `m`). A backward loop
/// adds each step's rows with [`OneHotSums::add_rows`] while they are still
/// in cache (contiguous vector adds), instead of reading every row again
/// after the loop; [`OneHotSums::add_into`] then adds `G^T`'s transpose
/// into the gradient. For dense inputs it holds nothing and does nothing.
///
/// ```
/// use rnn_runtime::cell::input::{InputRef, OneHotSums};
/// use rnn_runtime::Workspace;
/// let mut ws = Workspace::<f32>::new();
/// let ids = [1, 0, 1];
/// let x = InputRef::OneHot(&ids);
/// // dY: 3 rows of m = 2; G is m x n = 2 x 2 (n = 2 ids).
/// let mut sums = OneHotSums::new_in(&mut ws, x, 2, 2);
/// sums.add_rows(x, 0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
/// sums.add_rows(x, 2, &[5.0, 6.0], 2, 1);
/// let mut g = [0.0_f32; 4];
/// sums.add_into(&mut ws, &mut g, 2);
/// assert_eq!(g, [3.0, 6.0, 4.0, 8.0]);
/// ```
#[derive(Debug)]
pub struct OneHotSums<F> {
    sums: Vec<F>,
    n: usize,
    m: usize,
}

impl<F: Float> OneHotSums<F> {
    /// Zeroed sums for `n` ids of `m` values, from `ws`, if `x` is one-hot.
    pub fn new_in(ws: &mut Workspace<F>, x: InputRef<'_, F>, n: usize, m: usize) -> Self {
        let len = if matches!(x, InputRef::OneHot(_)) { n * m } else { 0 };
        OneHotSums {
            sums: ws.take(len),
            n,
            m,
        }
    }

    /// Adds rows `r0..r0 + rows` of `dY` (the first `m` values of each row
    /// of `dy`, row stride `ld`) into the sums of their ids `ids[r0 + r]`.
    pub fn add_rows(&mut self, x: InputRef<'_, F>, r0: usize, dy: &[F], ld: usize, rows: usize) {
        let InputRef::OneHot(ids) = x else { return };
        if self.sums.is_empty() {
            return;
        }
        let m = self.m;
        simd(
            #[inline(always)]
            || {
                for (r, &id) in ids[r0..r0 + rows].iter().enumerate() {
                    let src = &dy[r * ld..][..m];
                    for (d, &s) in self.sums[id * m..][..m].iter_mut().zip(src) {
                        *d += s;
                    }
                }
            },
        );
    }

    /// `G[m x n] += (G^T)^T` (row stride `ldg`), giving the memory back to
    /// `ws`.
    pub fn add_into(self, ws: &mut Workspace<F>, g: &mut [F], ldg: usize) {
        if !self.sums.is_empty() {
            let (n, m) = (self.n, self.m);
            for (i, row) in g.chunks_mut(ldg).take(m).enumerate() {
                for (c, v) in row[..n].iter_mut().enumerate() {
                    *v += self.sums[c * m + i];
                }
            }
        }
        ws.give(self.sums);
    }
}

/// Keeps the input in `trace` for the backward pass: a copy of the values
/// (as `saved[0]`), or the ids (`saved[0]` then stays empty).
pub fn save_input<F: Float>(ws: &mut Workspace<F>, trace: &mut Trace<F>, x: InputRef<'_, F>) {
    match x {
        InputRef::Dense(x) => {
            trace.saved.push(ws.take_copy(x));
            trace.one_hot = false;
        }
        InputRef::Picked { data, width, rows } => {
            // The gather the packing would have done, once, for the backward pass.
            trace.saved.push(gather(ws, data, width, rows));
            trace.one_hot = false;
        }
        InputRef::OneHot(ids) => {
            trace.saved.push(Vec::new());
            trace.tokens.clear();
            trace.tokens.extend_from_slice(ids);
            trace.one_hot = true;
        }
    }
}

/// The input [`save_input`] kept in `trace`.
pub fn saved_input<F>(trace: &Trace<F>) -> InputRef<'_, F> {
    if trace.one_hot {
        InputRef::OneHot(&trace.tokens)
    } else {
        InputRef::Dense(&trace.saved[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_lookup_and_scatter_match_the_dense_products() {
        let (m, n, k) = (5, 7, 4); // rows, output width, vocabulary
        let ids = [3usize, 0, 3, 1, 2];
        let dense: Vec<f64> = ids
            .iter()
            .flat_map(|&id| (0..k).map(move |j| if j == id { 1.0 } else { 0.0 }))
            .collect();
        let w: Vec<f64> = (0..n * k).map(|v| (v as f64 * 0.37).sin()).collect();
        let mut ws = Workspace::new();
        let (mut c1, mut c2) = (vec![0.5; m * n], vec![0.5; m * n]);
        input_product(&mut ws, InputRef::Dense(&dense), m, n, k, &w, k, 2.0, &mut c1, n);
        input_product(&mut ws, InputRef::OneHot(&ids), m, n, k, &w, k, 2.0, &mut c2, n);
        assert_eq!(c1, c2);
        let dy: Vec<f64> = (0..m * n).map(|v| (v as f64 * 0.11).cos()).collect();
        let (mut g1, mut g2) = (vec![1.0; n * k], vec![1.0; n * k]);
        input_weight_grad(&mut ws, InputRef::Dense(&dense), n, k, m, &dy, n, &mut g1, k);
        input_weight_grad(&mut ws, InputRef::OneHot(&ids), n, k, m, &dy, n, &mut g2, k);
        // As a backward loop builds it: the last rows first, a few at a time.
        let x = InputRef::OneHot(&ids);
        let mut sums = OneHotSums::new_in(&mut ws, x, k, n);
        for (r0, rows) in [(3, 2), (1, 2), (0, 1)] {
            sums.add_rows(x, r0, &dy[r0 * n..], n, rows);
        }
        let mut g3 = vec![1.0; n * k];
        sums.add_into(&mut ws, &mut g3, k);
        for (a, b) in g2.iter().zip(&g3) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
        for (a, b) in g1.iter().zip(&g2) {
            assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        }
    }

    #[test]
    fn checks_ids() {
        let ids = [0usize, 4];
        let input: CellInput<'_, f32> = CellInput::OneHot {
            ids: &ids,
            len: 1,
            batch: 2,
        };
        assert_eq!(input.check("xs", 5).unwrap(), (1, 2));
        assert!(matches!(input.check("xs", 4), Err(RnnError::Invalid(_))));
        let short: CellInput<'_, f32> = CellInput::OneHot {
            ids: &ids,
            len: 2,
            batch: 2,
        };
        assert!(matches!(short.check("xs", 5), Err(RnnError::Shape { .. })));
    }
}
