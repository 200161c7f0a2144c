rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];

        let a = w @ x + u @ h
        h = tanh(a);
    }
}

fn main() {}
