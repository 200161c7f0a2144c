rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param b: [2 * H];

        h = tanh(w @ x + b);
    }
}

fn main() {}
