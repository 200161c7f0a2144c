// A type that does not implement `rnn::Cell`: rustc reports it at the
// cell's name in the declaration.
pub struct Dense<F>(F);

rnn::model! {
    model Regressor(W, H) {
        input: dense(W);
        cell: Dense { h: H };
        head: identity(1);
        loss: mse;
    }
}

fn main() {}
