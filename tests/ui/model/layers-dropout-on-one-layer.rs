rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: sigmoid(1);
        loss: bce;
        dropout: layers 0.3, head 0.1;
    }
}

fn main() {}
