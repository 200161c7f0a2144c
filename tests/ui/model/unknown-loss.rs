rnn::model! {
    model Regressor(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: identity(1);
        loss: l1;
    }
}

fn main() {}
