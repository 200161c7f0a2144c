//! The element types of matrix products: `f32` and `f64` implement
//! [`GemmElem`], running the AVX-512 block kernels (`avx512.rs`) where the
//! CPU has AVX-512F, detected at run time, and the portable one otherwise;
//! each keeps one packing buffer per thread.

#[cfg(target_arch = "x86_64")]
use super::avx512;
use super::kernel::{Block, GemmElem, kernel_portable};

/// This thread's packing buffer for one float type.
macro_rules! pack_buffer {
    ($t:ty, $len:expr, $f:expr) => {{
        thread_local! {
            static BUF: core::cell::RefCell<Vec<$t>> = const { core::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() < $len {
                buf.resize($len, 0.0);
            }
            $f(&mut buf[..$len])
        })
    }};
}

impl GemmElem for f64 {
    fn kernel(block: &Block<'_, f64>, c: &mut [f64], ldc: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { avx512::kernel_f64(block, c, ldc) };
            return;
        }
        kernel_portable(block, c, ldc);
    }

    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
        pack_buffer!(f64, len, f)
    }
}

impl GemmElem for f32 {
    fn kernel(block: &Block<'_, f32>, c: &mut [f32], ldc: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            unsafe { avx512::kernel_f32(block, c, ldc) };
            return;
        }
        kernel_portable(block, c, ldc);
    }

    fn with_pack_buffer<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        pack_buffer!(f32, len, f)
    }
}
