rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state hidden: [H];
        param w: [H, I];

        hidden = tanh(w @ x) * hiden;
    }
}

fn main() {}
