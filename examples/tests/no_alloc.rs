//! The steady-state training step allocates nothing: a counting global
//! allocator watches the calls after two warm-up rounds (which fill the workspace),
//! for the shipped cells on the WORKLOAD configs, train and inference, on
//! one thread.

use rnn_examples::workload::{self, CellKind, Config, Stepper};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell as StdCell;

struct Counting;

thread_local! {
    /// Allocations made by this thread (tests run on several threads).
    static ALLOCS: StdCell<usize> = const { StdCell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(|c| c.get());
    f();
    ALLOCS.with(|c| c.get()) - before
}

fn steady_state<C: rnn::Cell<f32>>(cell: &C, cfg: &Config) -> (usize, usize, usize) {
    let inp = workload::inputs(cfg);
    let mut s = Stepper::new(cell);
    // Warm-up: the first rounds fill the workspace (and show the counter works).
    let first = allocations_during(|| {
        for _ in 0..2 {
            s.train(cell, &inp).expect("train");
            s.infer(cell, &inp).expect("infer");
        }
    });
    let train = allocations_during(|| {
        for _ in 0..3 {
            s.train(cell, &inp).expect("train");
        }
    });
    let infer = allocations_during(|| {
        for _ in 0..3 {
            s.infer(cell, &inp).expect("infer");
        }
    });
    (first, train, infer)
}

#[test]
fn training_and_inference_steps_allocate_nothing_in_the_steady_state() {
    // One thread: rayon's job queue allocates now and then when products are
    // split between threads; the emitted code and the kernels never do.
    rnn::runtime::gemm::set_threads(1).expect("one thread");
    for cfg in [workload::config("tiny").unwrap(), workload::config("small").unwrap()] {
        for kind in [CellKind::Lstm, CellKind::Gru, CellKind::Rnn] {
            let (first, train, infer) = match kind {
                CellKind::Lstm => steady_state(&workload::lstm(&cfg), &cfg),
                CellKind::Gru => steady_state(&workload::gru(&cfg), &cfg),
                CellKind::Rnn => steady_state(&workload::rnn_tanh(&cfg), &cfg),
            };
            // The first step does allocate (so the counter is live).
            assert!(first > 0, "{kind:?} {}: the counter saw nothing", cfg.name);
            assert_eq!(train, 0, "{kind:?} {}: training steps allocated", cfg.name);
            assert_eq!(infer, 0, "{kind:?} {}: inference steps allocated", cfg.name);
        }
    }
}
