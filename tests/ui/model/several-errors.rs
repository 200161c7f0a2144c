// Every mistake is reported, each at its token.
rnn::model! {
    model CharLm(V, H, E) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H } x 0;
        head: softmax(K);
        loss: mse;
    }
}

fn main() {}
