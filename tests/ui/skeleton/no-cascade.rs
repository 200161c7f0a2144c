// The cell has a mistake, and the code below uses its type, its `Dims`
// struct and `Cell` methods: only the macro's error may be reported, no
// "cannot find type" cascade. (rustc 1.95 also stops after expansion
// errors, so this pins the output rather than isolating the skeleton.)
use rnn::Cell;

rnn::cell! {
    /// A cell with a typo in its equations.
    pub cell Broken(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [H];

        h = tanh(w @ x + u @ h + bb);
    }
}

fn run() -> Result<(), rnn::RnnError> {
    let cell: Broken<f64> = Broken::new(BrokenDims { i: 3, h: 4 }, &mut rnn::seeded_rng(0));
    let xs = ndarray::Array3::<f64>::zeros((5, 2, 3));
    let out = cell.forward(xs.view(), &[])?;
    assert_eq!(out.outputs.shape(), &[5, 2, 4]);
    let grads: BrokenGrads<f64> = Broken::zeros(cell.dims);
    let _ = grads.w.dim();
    Ok(())
}

fn main() {
    run().unwrap();
}
