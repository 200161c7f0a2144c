rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];

        h = tanh(w @ x + u.T * h);
    }
}

fn main() {}
