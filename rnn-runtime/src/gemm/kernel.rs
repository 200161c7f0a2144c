//! The register-block kernel: what one block of a product computes
//! ([`Block`]: `C[mr x w] = beta C + A[mr x kc] panel[kc x NR]`), the
//! portable loop that computes it, and the element trait [`GemmElem`]
//! through which the loops above reach each type's kernel.
//!
//! This file is the bottom of the matrix products: it imports nothing from
//! the crate. `avx512.rs` holds the AVX-512 versions of the block kernel,
//! and `dispatch.rs` implements [`GemmElem`] for `f32` and `f64`, choosing
//! between the two at run time.

use std::ops::AddAssign;

/// Columns of `C` per panel (two AVX-512 vectors of `f32`).
pub const NR: usize = 32;
/// Rows of `C` per register block.
pub const MR: usize = 8;

/// One register block: `C[mr x w] = beta C + A[mr x kc] panel[kc x NR]`.
///
/// Row `i` of the block's `A` starts at `a[r * row]` with `r = i`, or
/// `r = picked[i]` when the rows are picked from a larger matrix (then
/// `col` is 1); its `k`-th value is `col` further on.
pub struct Block<'a, F> {
    pub(super) a: &'a [F],
    pub(super) row: usize,
    pub(super) col: usize,
    pub(super) picked: Option<&'a [usize]>,
    pub(super) panel: &'a [F],
    pub(super) kc: usize,
    pub(super) mr: usize,
    pub(super) w: usize,
    pub(super) beta: F,
}

/// An element type of matrix products (`f32`, `f64`): the arithmetic the
/// loops need, its register-block kernel and its packing buffer. The
/// products are bounded by this trait alone; [`crate::Float`] builds on it.
pub trait GemmElem: num_traits::Float + AddAssign + Send + Sync {
    /// Computes `block` into `c` (row stride `ldc`).
    fn kernel(block: &Block<'_, Self>, c: &mut [Self], ldc: usize);

    /// Runs `f` on this thread's packing buffer of at least `len` values
    /// (allocated on a thread's first product, then reused).
    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

/// Calls `$f::<R>` for the block's row count `R` (1..=MR), so every
/// kernel's accumulator array has a constant size and lives in registers.
macro_rules! by_rows {
    ($f:ident [$($g:tt)*], $blk:expr, $c:expr, $ldc:expr) => {
        match $blk.mr {
            8 => $f::<$($g)* 8>($blk, $c, $ldc),
            7 => $f::<$($g)* 7>($blk, $c, $ldc),
            6 => $f::<$($g)* 6>($blk, $c, $ldc),
            5 => $f::<$($g)* 5>($blk, $c, $ldc),
            4 => $f::<$($g)* 4>($blk, $c, $ldc),
            3 => $f::<$($g)* 3>($blk, $c, $ldc),
            2 => $f::<$($g)* 2>($blk, $c, $ldc),
            _ => $f::<$($g)* 1>($blk, $c, $ldc),
        }
    };
}
pub(super) use by_rows;

/// The portable kernel: fixed-size accumulators the compiler vectorises.
pub(super) fn kernel_portable<F: GemmElem>(blk: &Block<'_, F>, c: &mut [F], ldc: usize) {
    by_rows!(portable_rows[F,], blk, c, ldc)
}

impl<F> Block<'_, F> {
    /// Where row `i` of the block's `A` starts in `a`.
    #[inline(always)]
    pub(super) fn row_start(&self, i: usize) -> usize {
        self.picked.map_or(i, |p| p[i]) * self.row
    }
}

fn portable_rows<F: GemmElem, const R: usize>(blk: &Block<'_, F>, c: &mut [F], ldc: usize) {
    let mut acc = [[F::zero(); NR]; R];
    let starts: [usize; R] = core::array::from_fn(|i| blk.row_start(i));
    for kk in 0..blk.kc {
        let bv: &[F; NR] = blk.panel[kk * NR..][..NR].try_into().expect("panel row");
        for (i, row) in acc.iter_mut().enumerate() {
            let av = blk.a[starts[i] + kk * blk.col];
            for (r, &b) in row.iter_mut().zip(bv) {
                *r += av * b;
            }
        }
    }
    store(blk, &acc, c, ldc);
}

pub(super) fn store<F: GemmElem, const W: usize, const R: usize>(
    blk: &Block<'_, F>,
    acc: &[[F; W]; R],
    c: &mut [F],
    ldc: usize,
) {
    for (i, row) in acc.iter().enumerate() {
        let out = &mut c[i * ldc..][..blk.w];
        if blk.beta == F::zero() {
            out.copy_from_slice(&row[..blk.w]);
        } else {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = blk.beta * *o + v;
            }
        }
    }
}

/// Hints that `data` will be read soon (one request per cache line).
#[inline(always)]
pub(super) fn prefetch<F>(data: &[F]) {
    #[cfg(target_arch = "x86_64")]
    prefetch_lines::<F, { core::arch::x86_64::_MM_HINT_T0 }>(data);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Hints that `data` will be written soon: its cache lines are fetched for
/// writing, so the stores that follow do not wait for them one by one.
#[inline(always)]
pub(super) fn prefetch_write<F>(data: &[F]) {
    #[cfg(target_arch = "x86_64")]
    prefetch_lines::<F, { core::arch::x86_64::_MM_HINT_ET0 }>(data);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// One prefetch with hint `HINT` per cache line of `data`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_lines<F, const HINT: i32>(data: &[F]) {
    let bytes = core::mem::size_of_val(data);
    let p = data.as_ptr().cast::<i8>();
    for off in (0..bytes).step_by(64) {
        // SAFETY: a prefetch never faults, and `off` is inside `data`.
        unsafe { core::arch::x86_64::_mm_prefetch::<HINT>(p.add(off)) };
    }
}
