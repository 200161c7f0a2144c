// A cell type must be generic over the float type (`Name<F>`), as every
// `cell!` type is: the model instantiates it at its own `F`.
#[derive(Clone)]
pub struct Fixed;

rnn::model! {
    model Regressor(W) {
        input: dense(W);
        cell: Fixed;
        head: identity(1);
        loss: mse;
    }
}

fn main() {}
