rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];

        h = tanh(pre);
        let pre = w @ x + u @ h;
    }
}

fn main() {}
