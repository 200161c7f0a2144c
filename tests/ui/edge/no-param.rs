rnn::cell! {
    cell Edge(H) {
        input x: [H];
        state h: [H];

        h = tanh(x + h);
    }
}

fn main() {}
