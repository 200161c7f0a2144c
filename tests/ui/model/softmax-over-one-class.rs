rnn::model! {
    model Detector(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H };
        head: softmax(1);
        loss: cross_entropy;
    }
}

fn main() {}
