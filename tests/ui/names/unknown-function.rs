rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [H];

        h = sigmod(w @ x + u @ h + b);
    }
}

fn main() {}
