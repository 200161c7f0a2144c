rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: sigmoid(1);
        loss: bce;
        pool: max;
    }
}

fn main() {}
