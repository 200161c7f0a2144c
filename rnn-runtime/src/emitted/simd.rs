//! Vector width chosen at run time for the emitted elementwise loops.

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
