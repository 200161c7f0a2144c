rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H } x 2;
        head: sigmoid(1);
        loss: bce;
        dropout: hidden 0.2, head 0.1;
    }
}

fn main() {}
