rnn::model! {
    model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H };
        head: softmax(V);
        loss: mse;
    }
}

fn main() {}
