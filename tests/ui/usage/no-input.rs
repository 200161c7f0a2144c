rnn::cell! {
    cell Edge(H) {
        state h: [H];
        param u: [H, H];

        h = tanh(u @ h);
    }
}

fn main() {}
