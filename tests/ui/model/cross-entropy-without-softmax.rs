rnn::model! {
    model Classifier(W, H, C) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: sigmoid(C);
        loss: cross_entropy;
    }
}

fn main() {}
