rnn::cell! {
    cell Edge(H) {
        input x: [H];
        state h: [H];
        param w: [H, H];

        h = tanh(w @ x + concat(x, h));
    }
}

fn main() {}
