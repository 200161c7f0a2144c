rnn::model! {
    model Classifier(W, C, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: softmax(C);
        loss: bce;
    }
}

fn main() {}
