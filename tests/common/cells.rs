//! Cells a user would write, shared by the test binaries.
//!
//! Declared through `custom_cells!`, which puts the attributes it is given
//! on every cell: the test binaries get them plain (below), and
//! `tests/reference_schedule.rs` declares a copy with the hidden
//! `#[reference_schedule]`.

/// Declares the cells below, each with the attributes given.
#[macro_export]
macro_rules! custom_cells {
    ($($attr:tt)*) => {
        rnn::cell! {
            $($attr)*
            /// LSTM with peephole connections (Gers & Schmidhuber): the gates see the cell.
            pub cell PeepholeLstm(I, H) {
                input x: [I];
                state h: [H];
                state c: [H];
                param w: [4 * H, I];
                param u: [4 * H, H];
                param b: [4 * H];
                param p_i: [H];
                param p_f: [H];
                param p_o: [H];

                let [a_i, a_f, a_g, a_o] = split(w @ x + u @ h + b);
                let i = sigmoid(a_i + p_i * c);
                let f = sigmoid(a_f + p_f * c);
                c = f * c + i * tanh(a_g);
                h = sigmoid(a_o + p_o * c) * tanh(c);
            }
        }

        rnn::cell! {
            $($attr)*
            /// Minimal gated unit (Zhou et al.): one forget gate; separate input
            /// matrices share `x`, so the compiler stacks them into one product.
            pub cell Mgu(I, H) {
                input x: [I];
                state h: [H];
                param w_f: [H, I];
                param u_f: [H, H];
                param b_f: [H];
                param w_h: [H, I];
                param u_h: [H, H];
                param b_h: [H];

                let f = sigmoid(w_f @ x + u_f @ h + b_f);
                let cand = tanh(w_h @ x + u_h @ (f * h) + b_h);
                h = (1.0 - f) * h + f * cand;
            }
        }

        rnn::cell! {
            $($attr)*
            /// The seeds' network: `h_t = tanh(U x_t + W h_{t-1} + b)`, `y_t = sigmoid(V h_t + c)`.
            /// The output is not fed back, so its product runs once for all steps.
            pub cell Elman(I, H, O) {
                input x: [I];
                state h: [H];
                output y: [O];
                param u: [H, I];
                param w: [H, H];
                param b: [H];
                param v: [O, H];
                param c: [O];

                h = tanh(u @ x + w @ h + b);
                y = sigmoid(v @ h + c);
            }
        }

        rnn::cell! {
            $($attr)*
            /// IndRNN (Li et al.): an elementwise recurrent weight, ReLU.
            pub cell IndRnn(I, H) {
                input x: [I];
                state h: [H];
                param w: [H, I];
                param u: [H];
                param b: [H];

                h = relu(w @ x + u * h + b);
            }
        }

        rnn::cell! {
            $($attr)*
            /// Every operation of the language at once, with a parameter-only value
            /// (`p + q`) and a fixed dimension.
            pub cell Exotic(I, H = 3) {
                input x: [I];
                state h: [H];
                state c: [H];
                param w: [2 * H, I];
                param u: [2 * H, H];
                param b: [2 * H];
                param p: [H];
                param q: [H];

                let [a, g] = split(w @ x + u @ h + b);
                let gate = hard_sigmoid(2.0 * a);
                c = gate * c + (1.0 - gate) * relu(g + 0.1) - 0.1 * exp(-(c * c));
                h = tanh(c) * sigmoid(p + q) - (p * q) * h * 0.5;
            }
        }

        rnn::cell! {
            $($attr)*
            /// Two products of the previous state, stacked into one GEMM: one feeds
            /// the state, the other only the output (which otherwise runs after the loop).
            pub cell SharedOperand(I, H) {
                input x: [I];
                state h: [H];
                output y: [H];
                param v: [H, H];
                param w: [H, H];
                param u: [H, I];

                let out = sigmoid(v @ h);
                h = tanh(w @ h + u @ x);
                y = out * h;
            }
        }

        rnn::cell! {
            $($attr)*
            /// The smooth and piecewise operations: division (by a vector, a
            /// parameter-only value and a number, and of a number), `sqrt`,
            /// `log`, `softplus`, `abs`, `max` and `min`.
            pub cell Smooth(I, H) {
                input x: [I];
                state h: [H];
                param w: [2 * H, I];
                param u: [2 * H, H];
                param b: [2 * H];
                param s: [H];

                let [a, g] = split(w @ x + u @ h + b);
                let scale = sqrt(1.0 + s * s);
                let r = softplus(a) / scale - log(1.0 + g * g) / 2.0;
                let damp = 2.0 / (2.0 + abs(g));
                h = max(tanh(r), -abs(h) * damp) + min(h, 0.5 * g) * 0.1;
            }
        }

        rnn::cell! {
            $($attr)*
            /// Scalar parameters: a learned leak rate (through a sigmoid, so
            /// used by value) and an additive offset (used linearly, so its
            /// gradient never reads it), beside a vector one.
            pub cell Leaky(I, H) {
                input x: [I];
                state h: [H];
                param w: [H, I];
                param u: [H, H];
                param b: [H];
                param alpha: [];
                param shift: [];

                let rate = sigmoid(alpha * 2.0);
                h = (1.0 - rate) * h + rate * tanh(w @ x + u @ h + b) + shift;
            }
        }

        rnn::cell! {
            $($attr)*
            /// An LSTM with one weight over the input and the state side by
            /// side, as Keras and TensorFlow keep it: `w @ concat(x, h)`
            /// runs as `w[:, ..I] @ x` (before the loop, for all steps) plus
            /// `w[:, I..] @ h` (in it).
            pub cell ConcatLstm(I, H) {
                input x: [I];
                state h: [H];
                state c: [H];
                param w: [4 * H, I + H];
                param b: [4 * H];

                let [i, f, g, o] = split(w @ concat(x, h) + b);
                c = sigmoid(f) * c + sigmoid(i) * tanh(g);
                h = sigmoid(o) * tanh(c);
            }
        }

        rnn::cell! {
            $($attr)*
            /// The tanh RNN with its weights held transposed (`w: [I, H]`,
            /// as `x W` libraries keep them): `w.T @ x` runs as a product by
            /// `wᵀ`, hoisted before the loop like any input product.
            pub cell TransposedRnn(I, H) {
                input x: [I];
                state h: [H];
                param w: [I, H];
                param u: [H, H];
                param b: [H];

                h = tanh(w.T @ x + u.T @ h + b);
            }
        }

        rnn::cell! {
            $($attr)*
            /// Two inputs a step reads side by side (`[x, z]`, `I + H`
            /// wide): `x` through a product, `z` through one and elementwise
            /// as a gate.
            pub cell TwoInputs(I, H) {
                input x: [I];
                input z: [H];
                state h: [H];
                param w: [H, I];
                param v: [H, H];
                param u: [H, H];
                param b: [H];

                h = tanh(w @ x + v @ z + u @ h + b) * sigmoid(z);
            }
        }

        rnn::cell! {
            $($attr)*
            /// The tanh RNN over an input given in two parts, each with
            /// its own weight.
            pub cell SplitInputRnn(I, K, H) {
                input x: [I];
                input z: [K];
                state h: [H];
                param w: [H, I];
                param v: [H, K];
                param u: [H, H];
                param b: [H];

                h = tanh(w @ x + v @ z + u @ h + b);
            }
        }
    };
}

custom_cells!();
