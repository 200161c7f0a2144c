rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [2 * H, I];
        param u: [2 * H, H];

        h = tanh(w @ x + u @ h);
    }
}

fn main() {}
