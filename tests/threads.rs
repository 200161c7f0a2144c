//! The thread count changes nothing but speed: a training step of each
//! shipped cell, at the small size of the benchmark workload, gives the
//! same bits with one thread as with two (matrix products split their
//! rows, fused loops their batch rows, at points that depend on the shape
//! alone); so does a step over sequences of different lengths (packed: a
//! step's rows are the sequences still running), of a cell and of
//! stacked bidirectional layers. The layer-normalised cells and a cell with
//! scalar parameters are checked too.

mod common;

use common::cells::{Leaky, LeakyDims};
use ndarray::Array3;
use rnn::cells::{
    Gru, GruDims, LayerNormGru, LayerNormGruDims, LayerNormLstm, LayerNormLstmDims, Lstm, LstmDims, RnnRelu,
    RnnReluDims, RnnTanh, RnnTanhDims,
};
use rnn::runtime::{BatchSizes, Cell, CellInput, Layers, Scratch};

/// The `small` configuration of the benchmark workload: sequence length,
/// batch, input and hidden size.
const T: usize = 64;
const B: usize = 32;
const I: usize = 64;
const H: usize = 128;

/// Deterministic values in `[-1, 1]`, different for each `seed`.
fn wave(shape: (usize, usize, usize), seed: f32) -> Array3<f32> {
    let mut k = 0.0_f32;
    Array3::from_shape_simple_fn(shape, || {
        k += 1.0;
        (k * 0.37 + seed).sin()
    })
}

/// Outputs, parameter gradients and input gradients of one training step.
type StepResult = (Vec<f32>, Vec<Vec<f32>>, Vec<f32>);

fn run<C: Cell<f32> + Send + Sync>(cell: &C, threads: usize) -> StepResult {
    let xs = wave((T, B, I), 0.0);
    let d_out = wave((T, B, H), 1.0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut s = Scratch::new(cell.dims());
        s.train_step(cell, CellInput::Values(xs.view()), &[], d_out.view(), &[])
            .unwrap();
        let grads = s
            .grads()
            .params()
            .iter()
            .map(|(_, v)| v.iter().copied().collect())
            .collect();
        (
            s.trace().outputs.iter().copied().collect(),
            grads,
            s.input_grads().d_xs.iter().copied().collect(),
        )
    })
}

fn same_bits<C: Cell<f32> + Send + Sync>(cell: &C) {
    let one = run(cell, 1);
    let two = run(cell, 2);
    assert!(one.0 == two.0, "{}: outputs differ between 1 and 2 threads", C::NAME);
    assert!(one.1 == two.1, "{}: parameter gradients differ", C::NAME);
    assert!(one.2 == two.2, "{}: input gradients differ", C::NAME);
}

#[test]
fn one_and_two_threads_give_the_same_bits() {
    let mut rng = rnn::seeded_rng(0);
    same_bits(&Lstm::<f32>::new(LstmDims { i: I, h: H }, &mut rng));
    same_bits(&Gru::<f32>::new(GruDims { i: I, h: H }, &mut rng));
    same_bits(&RnnTanh::<f32>::new(RnnTanhDims { i: I, h: H }, &mut rng));
    same_bits(&RnnRelu::<f32>::new(RnnReluDims { i: I, h: H }, &mut rng));
    // Row sums, and a scalar parameter's gradient summed over every column.
    same_bits(&LayerNormLstm::<f32>::new(LayerNormLstmDims { i: I, h: H }, &mut rng));
    same_bits(&LayerNormGru::<f32>::new(LayerNormGruDims { i: I, h: H }, &mut rng));
    same_bits(&Leaky::<f32>::new(LeakyDims { i: I, h: H }, &mut rng));
}

/// Lengths in `1..=T` (a fixed pseudo-random draw, unsorted).
fn lengths() -> Vec<usize> {
    let mut x = 777u64;
    (0..B)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            1 + (x >> 33) as usize % T
        })
        .collect()
}

fn run_packed<C: Cell<f32> + Send + Sync>(cell: &C, threads: usize) -> StepResult {
    let mut lens = lengths();
    lens.sort_by(|a, b| b.cmp(a));
    let sizes: Vec<usize> = (0..lens[0]).map(|s| lens.iter().filter(|&&l| l > s).count()).collect();
    let rows: usize = sizes.iter().sum();
    let xs = wave((rows, 1, I), 0.0);
    let d_out = wave((rows, 1, H), 1.0);
    let bs = BatchSizes::new(&sizes, B).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut s = Scratch::new(cell.dims());
        s.train_step_packed(cell, CellInput::Values(xs.view()), bs, &[], d_out.view(), &[])
            .unwrap();
        let grads = s
            .grads()
            .params()
            .iter()
            .map(|(_, v)| v.iter().copied().collect())
            .collect();
        let mut outputs: Vec<f32> = s.trace().outputs.iter().copied().collect();
        outputs.extend(s.trace().states.iter().flat_map(|a| a.iter().copied()));
        (outputs, grads, s.input_grads().d_xs.iter().copied().collect())
    })
}

fn run_layers<C: Cell<f32> + Send + Sync>(layers: &Layers<f32, C>, threads: usize) -> StepResult {
    let xs = wave((T, B, I), 0.0);
    let d_out = wave((T, B, layers.output_size()), 1.0);
    let lens = lengths();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let trace = layers.forward_train_with_lengths(xs.view(), Some(&lens), &[]).unwrap();
        let (grads, d_xs, _) = layers.backward(&trace, d_out.view(), &[]).unwrap();
        let mut outputs: Vec<f32> = trace.out.iter().copied().collect();
        outputs.extend(trace.states.iter().flat_map(|a| a.iter().copied()));
        let grads = grads
            .named_params()
            .iter()
            .map(|(_, v)| v.iter().copied().collect())
            .collect();
        (outputs, grads, d_xs.iter().copied().collect())
    })
}

fn same_bits_packed<C: Cell<f32> + Send + Sync>(cell: &C) {
    let one = run_packed(cell, 1);
    let two = run_packed(cell, 2);
    assert!(
        one.0 == two.0,
        "{} packed: outputs differ between 1 and 2 threads",
        C::NAME
    );
    assert!(one.1 == two.1, "{} packed: parameter gradients differ", C::NAME);
    assert!(one.2 == two.2, "{} packed: input gradients differ", C::NAME);
}

#[test]
fn one_and_two_threads_give_the_same_bits_with_lengths() {
    let mut rng = rnn::seeded_rng(1);
    same_bits_packed(&Lstm::<f32>::new(LstmDims { i: I, h: H }, &mut rng));
    same_bits_packed(&Gru::<f32>::new(GruDims { i: I, h: H }, &mut rng));
    same_bits_packed(&RnnTanh::<f32>::new(RnnTanhDims { i: I, h: H }, &mut rng));
    same_bits_packed(&RnnRelu::<f32>::new(RnnReluDims { i: I, h: H }, &mut rng));
    let layers = Layers::<f32, Lstm<f32>>::new(LstmDims { i: I, h: H }, 2, true, &mut rng).unwrap();
    let (one, two) = (run_layers(&layers, 1), run_layers(&layers, 2));
    assert!(one == two, "layers with lengths: 1 and 2 threads differ");
}
