// `dropout: p;` sets every site, `layers` included, which does nothing on a
// model of one layer.
rnn::model! {
    model Classifier(W, H) {
        input: dense(W);
        cell: rnn::cells::Gru { h: H } x 1;
        head: sigmoid(1);
        loss: bce;
        dropout: 0.25;
    }
}

fn main() {}
