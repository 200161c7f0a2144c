//! Two per-step inputs, read side by side: `input_size` is their sum.
use rnn::prelude::*;

rnn::cell! {
    pub cell Two(I, K, H) {
        input x: [I];
        input z: [K];
        state h: [H];
        param w: [H, I];
        param v: [H, K];
        param u: [H, H];

        h = tanh(w @ x + v @ z + u @ h);
    }
}

fn main() {
    let cell = Two::<f64>::new(TwoDims { i: 3, k: 2, h: 4 }, &mut rnn::seeded_rng(0));
    assert_eq!(cell.input_size(), 5);
    let xs = ndarray::Array3::<f64>::zeros((6, 2, 5));
    let out = cell.forward(xs.view(), &[]).expect("forward");
    assert_eq!(out.outputs.shape(), &[6, 2, 4]);
    // The inputs' widths are fixed by the sizes: another width is an error.
    assert!(Two::<f64>::with_input_size(TwoDims { i: 3, k: 2, h: 4 }, 6).is_err());
}
