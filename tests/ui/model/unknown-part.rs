rnn::model! {
    model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H };
        output: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {}
