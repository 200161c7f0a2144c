//! Reusable memory for the emitted forward and backward passes.
//!
//! A training step needs the same buffers every time: state histories,
//! saved gate values, packed weights, gradient buffers. A [`Workspace`]
//! keeps the buffers a call is done with and hands them to the next call,
//! so after the first step a training loop that passes the same workspace,
//! [`Trace`](crate::Trace) and [`InputGrads`](crate::InputGrads) around
//! ([`crate::Scratch`] keeps them together) allocates nothing (the test
//! `tests/no_alloc.rs` counts allocations to prove it). The plain
//! [`crate::Cell::forward_train`] and friends use a fresh workspace per call.
//!
//! A workspace holds plain buffers of any float (zero and NaN are all it
//! needs) and knows nothing of cells: the records give their buffers back
//! through methods defined beside them (`cell/records.rs`).

use ndarray::{Array2, Array3};

/// A pool of buffers handed out zero-filled and taken back after use.
///
/// ```
/// use rnn_runtime::Workspace;
/// let mut ws = Workspace::<f32>::new();
/// let v = ws.take(100);
/// let p = v.as_ptr();
/// ws.give(v);
/// assert_eq!(ws.take(80).as_ptr(), p); // the same memory, no allocation
/// ```
#[derive(Debug, Default)]
pub struct Workspace<F> {
    free: Vec<Vec<F>>,
    /// Buffers this workspace has created; the free list keeps room for all
    /// of them, so giving one back never grows it.
    created: usize,
}

impl<F: num_traits::Float> Workspace<F> {
    /// An empty workspace.
    pub fn new() -> Self {
        Workspace {
            free: Vec::new(),
            created: 0,
        }
    }

    /// A zero-filled buffer of `n` values: the smallest free buffer that is
    /// large enough, or a new one.
    pub fn take(&mut self, n: usize) -> Vec<F> {
        if n == 0 {
            // Nothing to hand out (and an empty `Vec` never allocates).
            return Vec::new();
        }
        let mut v = match self.best_fit(n) {
            Some(i) => self.free.swap_remove(i),
            None => self.create(n),
        };
        v.clear();
        v.resize(n, F::zero());
        v
    }

    /// A buffer of `n` values for the caller to overwrite completely before
    /// reading: it keeps whatever the pool's buffer held (zeros where it is
    /// new), which saves the zero-fill. Debug builds fill it with NaN, so a
    /// read before the write shows up in every test.
    pub fn take_dirty(&mut self, n: usize) -> Vec<F> {
        if n == 0 {
            return Vec::new();
        }
        let best = self.best_fit(n);
        let mut v = match best {
            Some(i) => self.free.swap_remove(i),
            None => self.create(n),
        };
        if v.len() >= n {
            v.truncate(n);
        } else {
            v.resize(n, F::zero());
        }
        if cfg!(debug_assertions) {
            v.fill(F::nan());
        }
        v
    }

    fn best_fit(&self, n: usize) -> Option<usize> {
        self.free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)
    }

    fn create(&mut self, n: usize) -> Vec<F> {
        self.created += 1;
        self.free.reserve(self.created - self.free.len());
        Vec::with_capacity(n)
    }

    /// A buffer holding a copy of `src`.
    pub fn take_copy(&mut self, src: &[F]) -> Vec<F> {
        let mut v = self.take_dirty(src.len());
        v.copy_from_slice(src);
        v
    }

    /// Returns a buffer to the pool.
    pub fn give(&mut self, v: Vec<F>) {
        if v.capacity() > 0 {
            self.free.push(v);
        }
    }

    /// Returns an array's memory to the pool.
    pub fn give_array<D: ndarray::Dimension>(&mut self, a: ndarray::Array<F, D>) {
        self.give(a.into_raw_vec_and_offset().0);
    }

    /// Number of buffers waiting in the pool.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

/// `[rows, cols]` array over a workspace buffer (no copy).
pub fn array2<F>(v: Vec<F>, rows: usize, cols: usize) -> Array2<F> {
    Array2::from_shape_vec((rows, cols), v).expect("buffer length matches the shape")
}

/// `[t, b, w]` array over a workspace buffer (no copy).
pub fn array3<F>(v: Vec<F>, t: usize, b: usize, w: usize) -> Array3<F> {
    Array3::from_shape_vec((t, b, w), v).expect("buffer length matches the shape")
}
