// Like `no-cascade.rs`, but the mistake is a shape mismatch, found after
// names resolved: the code below uses the cell's type, its `Dims` struct
// and `Cell` methods, and only the macro's errors may be reported.
use rnn::Cell;

rnn::cell! {
    /// A cell whose input matrix has the wrong number of rows.
    pub cell Broken(I, H) {
        input x: [I];
        state h: [H];
        param w: [2 * H, I];
        param u: [H, H];
        param b: [H];

        h = tanh(w @ x + u @ h + b);
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
