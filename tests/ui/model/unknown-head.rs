rnn::model! {
    model Regressor(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: linear(1);
        loss: mse;
    }
}

fn main() {}
