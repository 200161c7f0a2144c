rnn::model! {
    model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm<f64> { h: H };
        head: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {}
