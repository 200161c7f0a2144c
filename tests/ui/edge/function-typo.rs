rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];

        h = softplsu(w @ x);
    }
}

fn main() {}
