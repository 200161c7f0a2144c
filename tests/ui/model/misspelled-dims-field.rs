// `LstmDims` has the fields `i` and `h`: rustc reports the misspelling at
// the field in the declaration.
rnn::model! {
    model CharLm(V, H) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { hidden: H };
        head: softmax(V);
        loss: cross_entropy;
    }
}

fn main() {}
