rnn::cell! {
    cell Gated(I, H) {
        input x: [I];
        state h: [H];
        param w: [3 * H, I];

        let [a, g] = split(w @ x);
        h = sigmoid(a) * tanh(g);
    }
}

fn main() {}
