rnn::model! {
    model CharLm(V, H) {
        input: onehot(V);
        cell: rnn::cells::Lstm { h: H };
        head: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {}
