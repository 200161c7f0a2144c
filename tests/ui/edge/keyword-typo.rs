rnn::cell! {
    cell Edge(I, H) {
        input x: [I];
        state h: [H];
        parm w: [H, I];

        h = tanh(w @ x);
    }
}

fn main() {}
