rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];

        h = tanh(w @ x + h.len);
    }
}

fn main() {}
