//! Small helpers the emitted code calls.

use crate::float::Float;
use rand::Rng;

/// Copies `src` (`rows×cols`, row-major) into `dst` at row `row0` of a
/// packed matrix with `cols` columns: lays stacked weights out once per call.
pub fn pack_rows<F: Float>(dst: &mut [F], row0: usize, cols: usize, src: &[F]) {
    dst[row0 * cols..row0 * cols + src.len()].copy_from_slice(src);
}

/// Splits `buf` into disjoint mutable regions `(offset, len)`, returned in
/// the order given (the emitted kernels bind the locations they read and
/// write in one buffer this way, e.g. a state's block t and block t+1).
///
/// Panics if two regions overlap or one runs past the end: the scheduler
/// never asks for that, so it would be a compiler bug.
///
/// ```
/// let mut v = [0, 1, 2, 3, 4, 5];
/// let [a, b] = rnn_runtime::kernels::split_ranges_mut(&mut v, [(4, 2), (0, 3)]);
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
/// let [a, b] = rnn_runtime::kernels::chunks_mut::<2, _>(&mut v, 2);
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

/// Runs `f` compiled for the widest vector unit the CPU has.
///
/// The emitted elementwise loops are plain Rust, compiled for the baseline
/// target (SSE2 on x86-64). Called through this function they are inlined
/// into a copy compiled with AVX-512 (or AVX2), chosen at run time, so the
/// same binary uses 16-wide vectors where the CPU has them. Only vector
/// width changes: no fused multiply-add is formed (Rust does not contract
/// `a * b + c`), so results are identical on every path.
#[inline(always)]
pub fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
        fn wide512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        fn wide256<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has every feature `wide512` is compiled for.
            return unsafe { wide512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has every feature `wide256` is compiled for.
            return unsafe { wide256(f) };
        }
    }
    f()
}

/// A zero-filled buffer of `n` values (allocated before a time loop, never inside).
pub fn zeros<F: Float>(n: usize) -> Vec<F> {
    vec![F::zero(); n]
}

/// Fills `out` with draws from `U(-bound, bound)`, drawn in `f64` and rounded once.
pub fn uniform_fill<F: Float, R: Rng + ?Sized>(out: &mut [F], bound: f64, rng: &mut R) {
    for v in out.iter_mut() {
        let u: f64 = rng.random::<f64>();
        *v = F::from_f64c((2.0 * u - 1.0) * bound);
    }
}
