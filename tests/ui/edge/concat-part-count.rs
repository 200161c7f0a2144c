rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I + H];

        h = tanh(w @ concat(x, h, h));
    }
}

fn main() {}
