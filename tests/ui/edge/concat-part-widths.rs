rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, H + I];

        h = tanh(w @ concat(x, h));
    }
}

fn main() {}
