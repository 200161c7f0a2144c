rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];

        h = tanh(w @ x + u @ h);
        h = relu(h);
    }
}

fn main() {}
