// Doc comments and `pub(crate)` on the model carry to the emitted items:
// the model, its sizes struct and its cell alias are reachable from outside
// the module that declares them.

mod models {
    rnn::model! {
        /// A regression model visible in the crate.
        pub(crate) model Regressor(W, H) {
            input: dense(W);
            cell: rnn::cells::Lstm { h: H };
            head: identity(1);
            loss: mse;
        }
    }
}

use models::{Regressor, RegressorCell, RegressorSizes};

fn main() {
    let model = Regressor::<f64>::new(RegressorSizes { w: 2, h: 3 }, &mut rnn::seeded_rng(1)).unwrap();
    let cells: &[RegressorCell<f64>] = model.layers().cells();
    assert_eq!(cells.len(), 1);
    let xs = ndarray::Array3::<f64>::zeros((4, 2, 2));
    let input = rnn::SeqInput::values(xs.view());
    let (ys, _) = model.forward(&input, &[]).unwrap();
    assert_eq!(ys.dim(), (4, 2, 1));
}
