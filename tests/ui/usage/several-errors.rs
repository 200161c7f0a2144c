// Two independent mistakes: an unknown name and an unused parameter.
// Both are reported by one expansion.
rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [H];
        param unused: [H];

        h = tanh(w @ x + u @ h + bais);
    }
}

fn main() {}
