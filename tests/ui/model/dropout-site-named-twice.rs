rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H } x 2;
        head: sigmoid(1);
        loss: bce;
        dropout: layers 0.3, head 0.1, layers 0.2;
    }
}

fn main() {}
