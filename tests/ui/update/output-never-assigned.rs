rnn::cell! {
    cell Elman(I, H, O) {
        input x: [I];
        state h: [H];
        output y: [O];
        param w: [H, I];
        param u: [H, H];

        h = tanh(w @ x + u @ h);
    }
}

fn main() {}
