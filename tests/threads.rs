//! The thread count changes nothing but speed: a training step of each
//! shipped cell, at the small size of the benchmark workload, gives the
//! same bits with one thread as with two (matrix products split their
//! rows, fused loops their batch rows, at points that depend on the shape
//! alone).

use ndarray::Array3;
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnRelu, RnnReluDims, RnnTanh, RnnTanhDims};
use rnn::runtime::{Cell, CellInput, Scratch};

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
}
