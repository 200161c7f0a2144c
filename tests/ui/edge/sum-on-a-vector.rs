rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param b: [I + H];

        h = tanh(w @ x + b);
    }
}

fn main() {}
