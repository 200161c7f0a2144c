// Two independent mistakes, an undeclared dimension in a shape and an
// unused parameter: one expansion reports both.
rnn::cell! {
    cell Elman(I, H) {
        input x: [I];
        state h: [H];
        param w: [H, I];
        param u: [H, H];
        param b: [K];
        param p: [H];

        h = tanh(w @ x + u @ h + b);
    }
}

fn main() {}
