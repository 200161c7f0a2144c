rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [H];

        h = tanh(w @ x + u @ h + b) * gate;
    }
}

fn main() {}
