rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param alpha: [];

        h = tanh(w @ x) * alpha;
    }
}

fn main() {}
