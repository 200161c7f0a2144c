rnn::cell! {
    cell TwoStates(I, H) {
        input x: [I];
        state h: [H];
        state c: [H];
        param w: [H, I];
        param u: [H, H];

        h = tanh(w @ x + u @ h + c);
    }
}

fn main() {}
