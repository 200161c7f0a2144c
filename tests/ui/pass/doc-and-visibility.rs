// Doc comments and `pub(crate)` on the cell carry to the emitted types:
// the cell, its `Dims` struct and its `Grads` alias are reachable from
// outside the module that declares them.

mod cells {
    rnn::cell! {
        /// An Elman cell visible in the crate.
        pub(crate) cell Elman(I, H) {
            input x: [I];
            state h: [H];
            param w: [H, I];
            param u: [H, H];
            param b: [H];

            h = tanh(w @ x + u @ h + b);
        }
    }
}

use cells::{Elman, ElmanDims, ElmanGrads};
use rnn::Cell;

fn main() {
    let cell: Elman<f64> = Elman::new(ElmanDims { i: 2, h: 3 }, &mut rnn::seeded_rng(1));
    let grads: ElmanGrads<f64> = Elman::zeros(cell.dims);
    assert_eq!(grads.w.dim(), (3, 2));
    let xs = ndarray::Array3::<f64>::zeros((4, 2, 2));
    let out = cell.forward(xs.view(), &[]).unwrap();
    assert_eq!(out.outputs.shape(), &[4, 2, 3]);
    assert_eq!(<Elman<f64> as Cell<f64>>::NAME, "Elman");
}
