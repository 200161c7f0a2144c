rnn::model! {
    model CharLm(V, H = 0) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H };
        head: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {}
