rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H } x 2;
        head: sigmoid(1);
        loss: bce;
        dropout: 1.0;
    }
}

fn main() {}
