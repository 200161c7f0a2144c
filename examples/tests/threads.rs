//! The thread count changes nothing but speed: a training step of each
//! shipped cell on the small workload gives the same bits with one thread
//! as with two (matrix products split their rows, fused loops their batch
//! rows, at points that depend on the shape alone).

use rnn::Cell;
use rnn_examples::workload::{self, Stepper};

fn run<C: Cell<f32> + Send + Sync>(cell: &C, threads: usize) -> (Vec<f32>, Vec<Vec<f32>>, Vec<f32>) {
    let cfg = workload::config("small").unwrap();
    let inp = workload::inputs(&cfg);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let mut s = Stepper::new(cell);
        s.train(cell, &inp).unwrap();
        let grads = s
            .grads()
            .params()
            .iter()
            .map(|(_, v)| v.iter().copied().collect())
            .collect();
        (
            s.outputs().iter().copied().collect(),
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
    let cfg = workload::config("small").unwrap();
    same_bits(&workload::lstm(&cfg));
    same_bits(&workload::gru(&cfg));
    same_bits(&workload::rnn_tanh(&cfg));
}
