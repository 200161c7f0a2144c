// The hidden `#[reference_schedule]` (tests only) adds the reference
// schedule's methods beside the optimised ones; it does not reach the struct.
use rnn::Cell;

rnn::cell! {
    #[reference_schedule]
    /// A documented cell.
    pub cell Checked(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];

        h = tanh(w @ x + u @ h);
    }
}

fn main() {
    let cell = Checked::<f64>::new(CheckedDims { i: 2, h: 3 }, &mut rnn::seeded_rng(0));
    let xs = ndarray::Array3::<f64>::from_elem((4, 2, 2), 0.5);
    let d_out = ndarray::Array3::<f64>::ones((4, 2, 3));
    let trace = cell.forward_train(xs.view(), &[]).unwrap();
    let reference = cell.reference_forward_train(xs.view(), &[]).unwrap();
    assert!((&trace.outputs - &reference.outputs).iter().all(|d| d.abs() < 1e-12));
    let mut grads = Checked::zeros(cell.dims());
    let input = cell.reference_backward_into(&reference, d_out.view(), &[], &mut grads).unwrap();
    assert_eq!(input.d_xs.shape(), &[4, 2, 2]);
    assert!(grads.w.iter().any(|g| *g != 0.0));
}
