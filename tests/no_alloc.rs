//! The steady-state training step allocates nothing: a counting global
//! allocator watches the steps of a `Scratch` after two warm-up rounds
//! (which fill its workspace), for the shipped LSTM, GRU and tanh RNN on
//! the tiny and small sizes of the benchmark workload (and the layer-norm
//! and `w @ concat(x, h)` LSTMs), train and inference,
//! on one thread; the same with variable lengths (packed batches), for a
//! cell and for stacked bidirectional `Layers`.

mod common;

use common::cells::{ConcatLstm, ConcatLstmDims};
use ndarray::Array3;
use rnn::cells::{Gru, GruDims, LayerNormLstm, LayerNormLstmDims, Lstm, LstmDims, RnnTanh, RnnTanhDims};
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::runtime::train::{Batch, Trainer, TrainerConfig};
use rnn::runtime::{
    BatchSizes, Cell, CellInput, Layers, LayersInputGrads, LayersOutput, LayersTrace, Scratch, Workspace,
};
use rnn::{SeqInput, SeqTarget};
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

/// Sequence length, batch, input and hidden size.
#[derive(Debug, Clone, Copy)]
struct Size {
    name: &'static str,
    t: usize,
    b: usize,
    i: usize,
    h: usize,
}

/// The `tiny` and `small` configurations of the benchmark workload.
const SIZES: [Size; 2] = [
    Size {
        name: "tiny",
        t: 100,
        b: 1,
        i: 16,
        h: 32,
    },
    Size {
        name: "small",
        t: 64,
        b: 32,
        i: 64,
        h: 128,
    },
];

/// Deterministic values in `[-1, 1]`, different for each `seed`.
fn wave(shape: (usize, usize, usize), seed: f32) -> Array3<f32> {
    let mut k = 0.0_f32;
    Array3::from_shape_simple_fn(shape, || {
        k += 1.0;
        (k * 0.37 + seed).sin()
    })
}

fn steady_state<C: Cell<f32>>(cell: &C, size: Size) -> (usize, usize, usize) {
    let xs = wave((size.t, size.b, size.i), 0.0);
    let d_out = wave((size.t, size.b, size.h), 1.0);
    let mut s = Scratch::new(cell.dims());
    let train = |s: &mut Scratch<f32, C>| {
        s.train_step(cell, CellInput::Values(xs.view()), &[], d_out.view(), &[])
            .expect("train");
    };
    let infer = |s: &mut Scratch<f32, C>| {
        s.forward(cell, CellInput::Values(xs.view()), &[]).expect("infer");
    };
    // Warm-up: the first rounds fill the workspace (and show the counter works).
    let first = allocations_during(|| {
        for _ in 0..2 {
            train(&mut s);
            infer(&mut s);
        }
    });
    let training = allocations_during(|| {
        for _ in 0..3 {
            train(&mut s);
        }
    });
    let inference = allocations_during(|| {
        for _ in 0..3 {
            infer(&mut s);
        }
    });
    (first, training, inference)
}

#[test]
fn training_and_inference_steps_allocate_nothing_in_the_steady_state() {
    // One thread: rayon's job queue allocates now and then when products are
    // split between threads; the emitted code and the kernels never do.
    rnn::runtime::gemm::set_threads(1).expect("one thread");
    let mut rng = rnn::seeded_rng(0);
    for size in SIZES {
        let (i, h) = (size.i, size.h);
        let runs = [
            (
                "LSTM",
                steady_state(&Lstm::<f32>::new(LstmDims { i, h }, &mut rng), size),
            ),
            ("GRU", steady_state(&Gru::<f32>::new(GruDims { i, h }, &mut rng), size)),
            (
                "RNN tanh",
                steady_state(&RnnTanh::<f32>::new(RnnTanhDims { i, h }, &mut rng), size),
            ),
            (
                "layer-norm LSTM",
                steady_state(&LayerNormLstm::<f32>::new(LayerNormLstmDims { i, h }, &mut rng), size),
            ),
            (
                // Its weight's column blocks are copied out, and their
                // gradients summed apart, in workspace buffers.
                "concat LSTM",
                steady_state(&ConcatLstm::<f32>::new(ConcatLstmDims { i, h }, &mut rng), size),
            ),
        ];
        for (cell, (first, train, infer)) in runs {
            // The first step does allocate (so the counter is live).
            assert!(first > 0, "{cell} {}: the counter saw nothing", size.name);
            assert_eq!(train, 0, "{cell} {}: training steps allocated", size.name);
            assert_eq!(infer, 0, "{cell} {}: inference steps allocated", size.name);
        }
    }
}

/// `b` lengths in `1..=t` from a fixed pseudo-random draw (unsorted).
fn lengths(t: usize, b: usize) -> Vec<usize> {
    let mut x = 12345u64;
    (0..b)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            1 + (x >> 33) as usize % t
        })
        .collect()
}

/// The batch sizes of a batch of sequences of these lengths.
fn batch_sizes(lengths: &[usize]) -> Vec<usize> {
    let steps = lengths.iter().copied().max().unwrap_or(0);
    (0..steps).map(|s| lengths.iter().filter(|&&l| l > s).count()).collect()
}

fn steady_state_packed<C: Cell<f32>>(cell: &C, size: Size) -> (usize, usize, usize) {
    let sizes = batch_sizes(&lengths(size.t, size.b));
    let rows: usize = sizes.iter().sum();
    let xs = wave((rows, 1, size.i), 0.0);
    let d_out = wave((rows, 1, size.h), 1.0);
    let bs = BatchSizes::new(&sizes, size.b).expect("sizes");
    let mut s = Scratch::new(cell.dims());
    let train = |s: &mut Scratch<f32, C>| {
        s.train_step_packed(cell, CellInput::Values(xs.view()), bs, &[], d_out.view(), &[])
            .expect("train");
    };
    let infer = |s: &mut Scratch<f32, C>| {
        s.forward_packed(cell, CellInput::Values(xs.view()), bs, &[])
            .expect("infer");
    };
    let first = allocations_during(|| {
        for _ in 0..2 {
            train(&mut s);
            infer(&mut s);
        }
    });
    let training = allocations_during(|| {
        for _ in 0..3 {
            train(&mut s);
        }
    });
    let inference = allocations_during(|| {
        for _ in 0..3 {
            infer(&mut s);
        }
    });
    (first, training, inference)
}

#[test]
fn packed_training_and_inference_steps_allocate_nothing_in_the_steady_state() {
    rnn::runtime::gemm::set_threads(1).expect("one thread");
    let mut rng = rnn::seeded_rng(0);
    for size in SIZES {
        let (i, h) = (size.i, size.h);
        let runs = [
            (
                "LSTM",
                steady_state_packed(&Lstm::<f32>::new(LstmDims { i, h }, &mut rng), size),
            ),
            (
                "GRU",
                steady_state_packed(&Gru::<f32>::new(GruDims { i, h }, &mut rng), size),
            ),
            (
                "RNN tanh",
                steady_state_packed(&RnnTanh::<f32>::new(RnnTanhDims { i, h }, &mut rng), size),
            ),
            (
                "layer-norm LSTM",
                steady_state_packed(&LayerNormLstm::<f32>::new(LayerNormLstmDims { i, h }, &mut rng), size),
            ),
        ];
        for (cell, (first, train, infer)) in runs {
            assert!(first > 0, "{cell} {}: the counter saw nothing", size.name);
            assert_eq!(train, 0, "{cell} {} packed: training steps allocated", size.name);
            assert_eq!(infer, 0, "{cell} {} packed: inference steps allocated", size.name);
        }
    }
}

/// Allocations during warm-up and during steady-state steps (a training
/// step and an inference pass each) of `layers` with `lengths` (values, or
/// one-hot ids when `ids` is given).
fn layers_steady_state<C: Cell<f32>>(
    layers: &Layers<f32, C>,
    t: usize,
    lengths: &[usize],
    ids: Option<&[usize]>,
) -> (usize, usize) {
    let b = lengths.len();
    let xs = wave((t, b, layers.input_size()), 0.0);
    let d_out = wave((t, b, layers.output_size()), 1.0);
    let input = || match ids {
        Some(ids) => CellInput::OneHot { ids, len: t, batch: b },
        None => CellInput::Values(xs.view()),
    };
    let mut ws = Workspace::new();
    let mut trace = LayersTrace::empty();
    let mut out = LayersOutput::empty();
    let mut input_grads = LayersInputGrads::empty();
    let mut grads = layers.zeros_like();
    let mut train = || {
        grads.fill_zero();
        layers
            .forward_train_ws_with_lengths(input(), Some(lengths), &[], &mut ws, &mut trace)
            .expect("forward");
        layers
            .backward_ws(&trace, d_out.view(), &[], &mut grads, &mut ws, &mut input_grads)
            .expect("backward");
        layers
            .forward_ws_with_lengths(input(), Some(lengths), &[], &mut ws, &mut out)
            .expect("infer");
    };
    let first = allocations_during(|| {
        for _ in 0..2 {
            train();
        }
    });
    let steady = allocations_during(|| {
        for _ in 0..3 {
            train();
        }
    });
    (first, steady)
}

#[test]
fn layers_with_lengths_allocate_nothing_in_the_steady_state() {
    rnn::runtime::gemm::set_threads(1).expect("one thread");
    let mut rng = rnn::seeded_rng(1);
    let (t, v) = (9, 11);
    // Unsorted, with 0, 1 and T.
    let lens = [4usize, 9, 0, 1, 9, 6, 2];
    let ids: Vec<usize> = (0..t * lens.len()).map(|i| (i * 5 + 1) % v).collect();
    let lstm = Layers::<f32, Lstm<f32>>::new(LstmDims { i: v, h: 16 }, 2, true, &mut rng).unwrap();
    let gru = Layers::<f32, Gru<f32>>::new(GruDims { i: v, h: 8 }, 2, true, &mut rng).unwrap();
    let runs = [
        (
            "LSTM x2 bidirectional, values",
            layers_steady_state(&lstm, t, &lens, None),
        ),
        (
            "LSTM x2 bidirectional, one-hot ids",
            layers_steady_state(&lstm, t, &lens, Some(&ids)),
        ),
        (
            "GRU x2 bidirectional, values",
            layers_steady_state(&gru, t, &lens, None),
        ),
    ];
    for (name, (first, steady)) in runs {
        assert!(first > 0, "{name}: the counter saw nothing");
        assert_eq!(steady, 0, "{name}: steps with lengths allocated");
    }
}

rnn::model! {
    /// A character model as `char_lm` declares it (one-hot ids, stacked LSTM).
    model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H } x 2;
        head: softmax(V);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// A bidirectional GRU tagger over embeddings.
    model Tagger(V, H) {
        input: embedding(V, 6);
        cell: rnn::cells::Gru { h: H } x 2 bidirectional;
        head: softmax(3);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// One answer per sequence of different lengths: dropout everywhere,
    /// learned initial states, the last valid step of both directions.
    model Sentiment(V, H) {
        input: embedding(V, 6);
        cell: rnn::cells::Lstm { h: H } x 2 bidirectional;
        head: sigmoid(1);
        loss: bce;
        pool: last;
        dropout: 0.2;
        init: learned;
    }
}

rnn::model! {
    /// A regression over dense inputs with a sigmoid head.
    model Regressor(H) {
        input: dense(3);
        cell: rnn::cells::RnnTanh { h: H };
        head: sigmoid(2);
        loss: mse;
    }
}

/// Allocations of training steps (forward, loss, BPTT, clipping, Adam) and
/// evaluations of `model` after warm-up, through the library's `Trainer`.
fn model_steps<C: rnn::Cell<f32>>(model: rnn::SeqModel<f32, C>, batch: &Batch<'_, f32>) -> (usize, usize, usize) {
    let adam = Adam::new(AdamConfig::default()).expect("adam");
    let config = TrainerConfig {
        clip_norm: Some(1.0),
        ..TrainerConfig::default()
    };
    let mut trainer = Trainer::new(model, adam, config);
    let first = allocations_during(|| {
        for _ in 0..2 {
            trainer.step_on(batch).expect("step");
            trainer.evaluate(batch).expect("evaluate");
        }
    });
    let train = allocations_during(|| {
        for _ in 0..3 {
            trainer.step_on(batch).expect("step");
        }
    });
    let eval = allocations_during(|| {
        for _ in 0..3 {
            trainer.evaluate(batch).expect("evaluate");
        }
    });
    (first, train, eval)
}

#[test]
fn model_training_steps_allocate_nothing_in_the_steady_state() {
    rnn::runtime::gemm::set_threads(1).expect("one thread");
    let mut rng = rnn::seeded_rng(0);
    let (t, b) = (7, 3);
    let ids: Vec<usize> = (0..t * b).map(|i| (i * 5 + 1) % 11).collect();
    let next: Vec<usize> = ids.iter().map(|&i| (i + 1) % 11).collect();
    let tags: Vec<usize> = ids.iter().map(|&i| i % 3).collect();
    let xs = ndarray::Array3::from_shape_fn((t, b, 3), |(i, j, k)| ((i + 2 * j + 3 * k) as f32 * 0.37).sin());
    let ys = ndarray::Array3::from_shape_fn((t, b, 2), |(i, j, k)| ((i * j + k) % 2) as f32);
    let cases = [
        (
            "model! one-hot LSTM x2",
            model_steps(
                CharLm::<f32>::new(CharLmSizes { v: 11, h: 16 }, &mut rng)
                    .unwrap()
                    .into_inner(),
                &Batch::new(SeqInput::tokens(&ids, t, b), SeqTarget::Classes(&next)),
            ),
        ),
        (
            "model! embedding, bidirectional GRU x2",
            model_steps(
                Tagger::<f32>::new(TaggerSizes { v: 11, h: 8 }, &mut rng)
                    .unwrap()
                    .into_inner(),
                &Batch::new(SeqInput::tokens(&ids, t, b), SeqTarget::Classes(&tags)),
            ),
        ),
        (
            "model! dense, sigmoid + MSE, masked",
            model_steps(
                Regressor::<f32>::new(RegressorSizes { h: 8 }, &mut rng)
                    .unwrap()
                    .into_inner(),
                &Batch::new(SeqInput::values(xs.view()), SeqTarget::Values(ys.view()))
                    .with_mask(&[true, false, true].repeat(t)),
            ),
        ),
    ];
    let lengths = [t, 2, 5];
    let labels = ndarray::Array2::from_shape_fn((b, 1), |(j, _)| (j % 2) as f32);
    let cases = cases.into_iter().chain([(
        "model! lengths, bidirectional LSTM x2, dropout, learned init, pooled bce",
        model_steps(
            Sentiment::<f32>::new(SentimentSizes { v: 11, h: 8 }, &mut rng)
                .unwrap()
                .into_inner(),
            &Batch::new(
                SeqInput::tokens(&ids, t, b).with_lengths(&lengths),
                SeqTarget::Sequences(labels.view()),
            ),
        ),
    )]);
    for (name, (first, train, eval)) in cases {
        assert!(first > 0, "{name}: the counter saw nothing");
        assert_eq!(train, 0, "{name}: training steps allocated");
        assert_eq!(eval, 0, "{name}: evaluations allocated");
    }
}
