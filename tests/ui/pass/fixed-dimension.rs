// A fixed dimension (`H = 3`) is not a field of the `Dims` struct.
use rnn::Cell;

rnn::cell! {
    cell Fixed(I, H = 3) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [H];

        h = tanh(w @ x + u @ h + b);
    }
}

fn main() {
    let cell = Fixed::<f64>::new(FixedDims { i: 2 }, &mut rnn::seeded_rng(0));
    assert_eq!(cell.input_size(), 2);
    assert_eq!(cell.output_size(), 3);
    assert_eq!(cell.state_sizes(), vec![3]);
    let xs = ndarray::Array3::<f64>::zeros((4, 2, 2));
    let out = cell.forward(xs.view(), &[]).unwrap();
    assert_eq!(out.outputs.shape(), &[4, 2, 3]);
}
