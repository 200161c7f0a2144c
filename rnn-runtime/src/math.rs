//! Branch-free `exp`, `expm1`, `sigmoid` and `tanh` that the compiler can
//! vectorise.
//!
//! The emitted elementwise loops call these instead of libm: a libm call is
//! opaque to LLVM, so a loop holding one runs one element at a time, while
//! these are straight-line arithmetic (Cody–Waite range reduction, a Taylor
//! polynomial evaluated with fused multiply-adds, the power of two built
//! from the exponent bits) and become SIMD code. Accuracy, checked against
//! the standard library over a sweep in the tests: within 4 ulp for `f32`
//! and `f64` (relative error below `5e-7` and `1e-15`).
//!
//! Fused multiply-adds (`mul_add`) round once, on every target, so results
//! are the same bits whether the loop runs with AVX-512, AVX2 or the
//! baseline instruction set; on a CPU without FMA the baseline path is much
//! slower (a software `fma`), and every x86-64 CPU since 2013 has it.
//!
//! Edge cases follow IEEE: NaN in gives NaN out (the clamps are written so
//! that a NaN passes through them), `exp` overflows to infinity and
//! underflows to zero, `sigmoid` and `tanh` saturate to their limits
//! (`sigmoid` returns zero where its value would be subnormal, below
//! `-87` in `f32` and `-708` in `f64`).
//!
//! PyTorch's piecewise-linear [`hard_sigmoid`] and its derivative live here
//! too. Every function is generic over what it uses ([`FastMath`], or
//! `num_traits::Float`), not over [`crate::Float`], which is built on top.

/// The per-type constants and bit tricks behind [`exp`], [`sigmoid`] and [`tanh`].
pub trait FastMath: Copy {
    /// `e^x`.
    fn exp_fast(self) -> Self;
    /// `e^x - 1`, accurate near zero.
    fn expm1_fast(self) -> Self;
    /// `1 / (1 + e^-x)`.
    fn sigmoid_fast(self) -> Self;
    /// `tanh x`.
    fn tanh_fast(self) -> Self;
}

/// `x - k ln 2` for the nearest integer `k`, and `k` (as a float), for the
/// two widths. `round` is the add-and-subtract of 1.5 * 2^mantissa_bits,
/// which rounds to nearest in any SIMD lane.
macro_rules! fast_math_impl {
    (
        $f:ty, $mant:expr, $bias:expr, $lo:expr, $hi:expr, $ln2_hi:expr, $ln2_lo:expr,
        sigmoid_zero_below: $sig_lo:expr, tanh_one_above: $tanh_hi:expr, [$($c:expr),*]
    ) => {
        impl FastMath for $f {
            #[inline(always)]
            fn exp_fast(self) -> Self {
                let (r, k) = reduce(clamp(self, $lo, $hi));
                let p = poly(r) + 1.0;
                // 2^k as two factors so that each is a normal number over the
                // whole clamped range (overflow to inf, underflow to 0).
                let k1 = round(k * 0.5);
                let k2 = k - k1;
                p * pow2(k1) * pow2(k2)
            }

            #[inline(always)]
            fn expm1_fast(self) -> Self {
                let (r, k) = reduce(clamp(self, $lo, $hi));
                let q = poly(r);
                let k1 = round(k * 0.5);
                let k2 = k - k1;
                let s = pow2(k1) * pow2(k2);
                // e^x - 1 = s (1 + q) - 1 = s q + (s - 1); exact (q) when k = 0.
                s.mul_add(q, s - 1.0)
            }

            #[inline(always)]
            fn sigmoid_fast(self) -> Self {
                // e^-x with -x clamped to [sig_lo, -sig_lo], where 2^k is one
                // normal number; above the range sigmoid rounds to 1, below it
                // the value is subnormal and returned as zero.
                let (r, k) = reduce(clamp(-self, $sig_lo, -$sig_lo));
                let e = (poly(r) + 1.0) * pow2(k);
                let s = 1.0 / (1.0 + e);
                if self < $sig_lo { 0.0 } else { s }
            }

            #[inline(always)]
            fn tanh_fast(self) -> Self {
                // -m / (m + 2) with m = e^(-2|x|) - 1; |x| is clamped where
                // tanh rounds to 1, so one normal 2^k suffices.
                let a = clamp(self.abs(), 0.0, $tanh_hi);
                let (r, k) = reduce(-2.0 * a);
                let q = poly(r);
                let s = pow2(k);
                let m = s.mul_add(q, s - 1.0);
                (-m / (m + 2.0)).copysign(self)
            }
        }

        const MAGIC: $f = 1.5 * ((1u64 << $mant) as $f);

        #[inline(always)]
        fn round(x: $f) -> $f {
            (x + MAGIC) - MAGIC
        }

        /// `x` limited to `[lo, hi]`; comparisons are false for NaN, so NaN
        /// passes through unchanged.
        #[inline(always)]
        fn clamp(x: $f, lo: $f, hi: $f) -> $f {
            let x = if x < lo { lo } else { x };
            if x > hi { hi } else { x }
        }

        /// 2^k for an integer-valued `k` in the normal exponent range.
        #[inline(always)]
        fn pow2(k: $f) -> $f {
            // After adding MAGIC the low mantissa bits hold k (two's
            // complement); adding the bias and shifting into the exponent
            // field drops everything above it.
            let bits = (k + MAGIC).to_bits();
            <$f>::from_bits(bits.wrapping_add($bias) << $mant)
        }

        #[inline(always)]
        fn reduce(x: $f) -> ($f, $f) {
            let k = round(x * core::f64::consts::LOG2_E as $f);
            ((-k).mul_add($ln2_lo, (-k).mul_add($ln2_hi, x)), k)
        }

        /// `e^r - 1` by its Taylor series, for `|r| <= ln(2)/2`, evaluated
        /// by Estrin's scheme (pairs of terms combined with r^2, r^4, ...):
        /// a chain of about log2(n) fused multiply-adds instead of Horner's
        /// n, so the several functions of a loop iteration overlap.
        #[inline(always)]
        fn poly(r: $f) -> $f {
            let mut t: [$f; _] = [$($c),*];
            let mut len = t.len();
            let mut x = r;
            while len > 1 {
                let half = len.div_ceil(2);
                for i in 0..half {
                    t[i] = if 2 * i + 1 < len { t[2 * i + 1].mul_add(x, t[2 * i]) } else { t[2 * i] };
                }
                len = half;
                x = x * x;
            }
            t[0] * r
        }
    };
}

mod f32_impl {
    use super::FastMath;
    // Taylor coefficients 1/1! .. 1/7!: truncation below 6e-9 for |r| <= 0.347,
    // a tenth of an f32 ulp.
    fast_math_impl!(
        f32,
        23,
        127,
        -104.0,
        89.0,
        0.693_359_4,
        -2.121_944_4e-4,
        sigmoid_zero_below: -87.0,
        tanh_one_above: 10.0,
        [
            1.0,
            0.5,
            0.166_666_67,
            0.041_666_668,
            0.008_333_334,
            0.001_388_888_9,
            0.000_198_412_7
        ]
    );
}

mod f64_impl {
    use super::FastMath;
    // Taylor coefficients 1/1! .. 1/14!: truncation below 5e-18 for |r| <= 0.347.
    fast_math_impl!(
        f64,
        52,
        1023,
        -746.0,
        710.0,
        6.931_471_803_691_238e-1,
        1.908_214_929_270_587_7e-10,
        sigmoid_zero_below: -708.0,
        tanh_one_above: 20.0,
        [
            1.0,
            0.5,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
            1.0 / 40320.0,
            1.0 / 362880.0,
            1.0 / 3628800.0,
            1.0 / 39916800.0,
            1.0 / 479001600.0,
            1.0 / 6227020800.0,
            1.0 / 87178291200.0
        ]
    );
}

/// `e^x`, vectorisable (see the [module docs](self)).
///
/// ```
/// let y = rnn_runtime::math::exp(1.0_f64);
/// assert!((y - std::f64::consts::E).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn exp<F: FastMath>(x: F) -> F {
    x.exp_fast()
}

/// The logistic function `1 / (1 + e^-x)`, vectorisable.
///
/// ```
/// assert_eq!(rnn_runtime::math::sigmoid(0.0_f32), 0.5);
/// ```
#[inline(always)]
pub fn sigmoid<F: FastMath>(x: F) -> F {
    x.sigmoid_fast()
}

/// `tanh x`, vectorisable: `-m / (m + 2)` with `m = expm1(-2|x|)`, sign restored.
///
/// ```
/// let y = rnn_runtime::math::tanh(0.5_f64);
/// assert!((y - 0.5_f64.tanh()).abs() < 1e-16);
/// ```
#[inline(always)]
pub fn tanh<F: FastMath>(x: F) -> F {
    x.tanh_fast()
}

/// An exactly representable constant in any float type.
#[inline(always)]
fn constant<F: num_traits::Float>(x: f64) -> F {
    F::from(x).expect("a small constant converts to every float type")
}

/// PyTorch's `Hardsigmoid`: `clamp(x / 6 + 1/2, 0, 1)`.
///
/// ```
/// use rnn_runtime::math::hard_sigmoid;
/// assert_eq!(hard_sigmoid(0.0_f32), 0.5);
/// assert_eq!(hard_sigmoid(4.0_f64), 1.0);
/// ```
#[inline(always)]
pub fn hard_sigmoid<F: num_traits::Float>(x: F) -> F {
    let three = constant::<F>(3.0);
    if x <= -three {
        F::zero()
    } else if x >= three {
        F::one()
    } else {
        x / constant::<F>(6.0) + constant::<F>(0.5)
    }
}

/// Derivative of [`hard_sigmoid`] (PyTorch's: `1/6` strictly inside `(-3, 3)`, else 0).
#[inline(always)]
pub fn hard_sigmoid_grad<F: num_traits::Float>(x: F) -> F {
    let three = constant::<F>(3.0);
    if x > -three && x < three {
        F::one() / constant::<F>(6.0)
    } else {
        F::zero()
    }
}

/// PyTorch's `Softplus` (beta 1, threshold 20): `ln(1 + e^x)`, and `x`
/// itself above 20, where the two agree to the last bit of an `f32`.
///
/// ```
/// use rnn_runtime::math::softplus;
/// assert!((softplus(0.0_f64) - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(softplus(30.0_f32), 30.0);
/// ```
#[inline(always)]
pub fn softplus<F: num_traits::Float>(x: F) -> F {
    if x > constant::<F>(20.0) { x } else { x.exp().ln_1p() }
}

/// Derivative of [`softplus`] (PyTorch's: `sigmoid(x)`, and 1 above the
/// threshold).
#[inline(always)]
pub fn softplus_grad<F: num_traits::Float>(x: F) -> F {
    if x > constant::<F>(20.0) {
        F::one()
    } else {
        let z = x.exp();
        z / (z + F::one())
    }
}

/// The sign of `x`: -1, 0 or 1 (the derivative of `abs`, 0 at 0 as in PyTorch).
#[inline(always)]
pub fn sign<F: num_traits::Float>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// The larger of `a` and `b`, NaN if either is (PyTorch's `maximum`).
///
/// ```
/// use rnn_runtime::math::maximum;
/// assert_eq!(maximum(1.0_f32, -2.0), 1.0);
/// assert!(maximum(f64::NAN, 0.0).is_nan() && maximum(0.0, f64::NAN).is_nan());
/// ```
#[inline(always)]
pub fn maximum<F: num_traits::Float>(a: F, b: F) -> F {
    // A NaN `b` fails `a > b` and is returned.
    if a > b || a.is_nan() { a } else { b }
}

/// The smaller of `a` and `b`, NaN if either is (PyTorch's `minimum`).
#[inline(always)]
pub fn minimum<F: num_traits::Float>(a: F, b: F) -> F {
    if a < b || a.is_nan() { a } else { b }
}

/// The derivative of `maximum(a, b)` in `a` from `x = a - b`: 1 above 0,
/// 0 below, and a half at a tie (PyTorch splits a tie's gradient evenly).
#[inline(always)]
pub fn tie_step<F: num_traits::Float>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        F::zero()
    } else {
        constant::<F>(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f64 / n as f64)
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
        }
    }

    #[test]
    fn exp_matches_std_f64() {
        let worst = sweep(-700.0, 700.0, 200_001)
            .map(|x| rel(exp(x), x.exp()))
            .fold(0.0, f64::max);
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0_f64), 1.0);
        assert_eq!(exp(1000.0_f64), f64::INFINITY);
        assert_eq!(exp(-1000.0_f64), 0.0);
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn exp_matches_std_f32() {
        let worst = sweep(-87.0, 88.0, 200_001)
            .map(|x| x as f32)
            .map(|x| rel(exp(x) as f64, (x as f64).exp()))
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "worst relative error {worst:e}");
        assert_eq!(exp(100.0_f32), f32::INFINITY);
        assert_eq!(exp(-200.0_f32), 0.0);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_match_std_f64() {
        let mut ws = 0.0_f64;
        let mut wt = 0.0_f64;
        for x in sweep(-40.0, 40.0, 100_001).chain(sweep(-1e-3, 1e-3, 10_001)) {
            ws = ws.max(rel(sigmoid(x), 1.0 / (1.0 + (-x).exp())));
            wt = wt.max(rel(tanh(x), x.tanh()));
        }
        assert!(ws < 1e-15, "sigmoid worst {ws:e}");
        assert!(wt < 1e-15, "tanh worst {wt:e}");
        assert_eq!(tanh(1e-300_f64), 1e-300);
        assert_eq!(tanh(-0.0_f64).to_bits(), (-0.0_f64).to_bits());
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert!(tanh(f64::NAN).is_nan() && sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_match_std_f32() {
        let mut ws = 0.0_f64;
        let mut wt = 0.0_f64;
        for x in sweep(-30.0, 30.0, 100_001).chain(sweep(-1e-3, 1e-3, 10_001)) {
            let x = x as f32;
            let xd = x as f64;
            ws = ws.max(rel(sigmoid(x) as f64, 1.0 / (1.0 + (-xd).exp())));
            wt = wt.max(rel(tanh(x) as f64, xd.tanh()));
        }
        assert!(ws < 5e-7, "sigmoid worst {ws:e}");
        assert!(wt < 5e-7, "tanh worst {wt:e}");
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }
}
