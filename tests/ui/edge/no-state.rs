rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        output y: [H];
        param w: [H, I];

        y = tanh(w @ x);
    }
}

fn main() {}
