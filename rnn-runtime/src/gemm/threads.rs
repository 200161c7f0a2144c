//! How many threads matrix products use: rayon's global pool, whose size
//! [`set_threads`] fixes once. Products split their rows between the pool's
//! threads (`driver.rs`), and so do the fused loops of emitted code.

use crate::error::RnnError;

/// Sets how many threads matrix products may use (rayon's global pool).
/// Call it once, before the first product; without it rayon uses one
/// thread per core.
///
/// Errors: [`RnnError::Invalid`] for 0 threads or if the pool was already
/// built with another size.
pub fn set_threads(n: usize) -> Result<(), RnnError> {
    if n == 0 {
        return Err(RnnError::Invalid("the thread count must be at least 1".into()));
    }
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(RnnError::Invalid(format!(
            "cannot use {n} threads: {e} (the pool already has {})",
            rayon::current_num_threads()
        ))),
    }
}

/// Runs `f` on one of the pool's threads when there are several, so the
/// products inside split their rows without handing each one over from
/// outside the pool (which wakes a sleeping thread per product).
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_num_threads() > 1 && rayon::current_thread_index().is_none() {
        rayon::scope(|_| f())
    } else {
        f()
    }
}

/// The number of threads matrix products use.
pub fn threads() -> usize {
    rayon::current_num_threads()
}
