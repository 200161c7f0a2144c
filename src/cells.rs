//! The shipped cells, written in the same language a user writes.
//!
//! Each has PyTorch's equations, parameter names and layout
//! (`weight_ih` stacked in gate order i, f, g, o for LSTM and r, z, n for
//! GRU), so checkpoints move between this library and `nn.LSTM`, `nn.GRU`
//! and `nn.RNN` unchanged.

/// Declares the shipped cells below, each with the attributes given. The
/// crate passes none; `tests/reference_schedule.rs` declares a copy with the
/// hidden `#[reference_schedule]` (see `rnn-macros`), so the optimised code
/// is tested against the reference schedule of exactly these equations.
#[doc(hidden)]
#[macro_export]
macro_rules! __shipped_cells {
    ($($attr:tt)*) => {
        $crate::cell! {
            $($attr)*
            /// Long short-term memory (PyTorch's `nn.LSTM` cell): gates stacked i, f, g, o;
            /// `c' = f*c + i*g`, `h' = o*tanh(c')`.
            pub cell Lstm(I, H) {
                input x: [I];
                state h: [H];
                state c: [H];
                param weight_ih: [4 * H, I];
                param weight_hh: [4 * H, H];
                param bias_ih: [4 * H];
                param bias_hh: [4 * H];

                let gates = weight_ih @ x + bias_ih + weight_hh @ h + bias_hh;
                let [i, f, g, o] = split(gates);
                c = sigmoid(f) * c + sigmoid(i) * tanh(g);
                h = sigmoid(o) * tanh(c);
            }
        }

        $crate::cell! {
            $($attr)*
            /// Gated recurrent unit (PyTorch's `nn.GRU` cell): gates stacked r, z, n, with
            /// `b_hn` inside the reset product ("reset after").
            pub cell Gru(I, H) {
                input x: [I];
                state h: [H];
                param weight_ih: [3 * H, I];
                param weight_hh: [3 * H, H];
                param bias_ih: [3 * H];
                param bias_hh: [3 * H];

                let gi = weight_ih @ x + bias_ih;
                let gh = weight_hh @ h + bias_hh;
                let [i_r, i_z, i_n] = split(gi);
                let [h_r, h_z, h_n] = split(gh);
                let r = sigmoid(i_r + h_r);
                let z = sigmoid(i_z + h_z);
                let n = tanh(i_n + r * h_n);
                h = (1.0 - z) * n + z * h;
            }
        }

        $crate::cell! {
            $($attr)*
            /// Elman RNN with tanh (PyTorch's `nn.RNN(nonlinearity="tanh")` cell).
            pub cell RnnTanh(I, H) {
                input x: [I];
                state h: [H];
                param weight_ih: [H, I];
                param weight_hh: [H, H];
                param bias_ih: [H];
                param bias_hh: [H];

                h = tanh(weight_ih @ x + bias_ih + weight_hh @ h + bias_hh);
            }
        }

        $crate::cell! {
            $($attr)*
            /// Elman RNN with ReLU (PyTorch's `nn.RNN(nonlinearity="relu")` cell).
            pub cell RnnRelu(I, H) {
                input x: [I];
                state h: [H];
                param weight_ih: [H, I];
                param weight_hh: [H, H];
                param bias_ih: [H];
                param bias_hh: [H];

                h = relu(weight_ih @ x + bias_ih + weight_hh @ h + bias_hh);
            }
        }

        $crate::cell! {
            $($attr)*
            /// Layer-normalised LSTM (Ba, Kiros and Hinton 2016, eqs. 20-22): the
            /// input and recurrent projections are normalised over their `4 * H`
            /// pre-activations, each with its own gain and bias, and the cell is
            /// normalised before its `tanh`. Gates i, f, g, o as [`Lstm`]. Each
            /// gain is stored as its offset from 1 (`1.0 + gain_*`), so the
            /// uniform initialisation near 0 starts every gain near 1; the
            /// normalisations' biases stand in for the LSTM's biases. Epsilon
            /// 1e-5; the centred values times `1 / sqrt(var + eps)`, as
            /// `nn.LayerNorm` computes them.
            pub cell LayerNormLstm(I, H) {
                input x: [I];
                state h: [H];
                state c: [H];
                param weight_ih: [4 * H, I];
                param weight_hh: [4 * H, H];
                param gain_ih: [4 * H];
                param bias_ih: [4 * H];
                param gain_hh: [4 * H];
                param bias_hh: [4 * H];
                param gain_c: [H];
                param bias_c: [H];

                let wx = weight_ih @ x;
                let wx_centred = wx - mean(wx);
                let wx_norm = wx_centred * (1.0 / sqrt(mean(wx_centred * wx_centred) + 1e-5));
                let uh = weight_hh @ h;
                let uh_centred = uh - mean(uh);
                let uh_norm = uh_centred * (1.0 / sqrt(mean(uh_centred * uh_centred) + 1e-5));
                let gates = wx_norm * (1.0 + gain_ih) + bias_ih + uh_norm * (1.0 + gain_hh) + bias_hh;
                let [i, f, g, o] = split(gates);
                c = sigmoid(f) * c + sigmoid(i) * tanh(g);
                let c_centred = c - mean(c);
                let c_norm = c_centred * (1.0 / sqrt(mean(c_centred * c_centred) + 1e-5));
                h = sigmoid(o) * tanh(c_norm * (1.0 + gain_c) + bias_c);
            }
        }

        $crate::cell! {
            $($attr)*
            /// Layer-normalised GRU: [`Gru`]'s equations with the input and
            /// recurrent projections each normalised over their `3 * H`
            /// pre-activations (gain stored as its offset from 1, as in
            /// [`LayerNormLstm`]; the normalisations' biases stand in for the
            /// GRU's, `bias_hh`'s n block inside the reset product as there).
            pub cell LayerNormGru(I, H) {
                input x: [I];
                state h: [H];
                param weight_ih: [3 * H, I];
                param weight_hh: [3 * H, H];
                param gain_ih: [3 * H];
                param bias_ih: [3 * H];
                param gain_hh: [3 * H];
                param bias_hh: [3 * H];

                let wx = weight_ih @ x;
                let wx_centred = wx - mean(wx);
                let gi = wx_centred * (1.0 / sqrt(mean(wx_centred * wx_centred) + 1e-5)) * (1.0 + gain_ih) + bias_ih;
                let uh = weight_hh @ h;
                let uh_centred = uh - mean(uh);
                let gh = uh_centred * (1.0 / sqrt(mean(uh_centred * uh_centred) + 1e-5)) * (1.0 + gain_hh) + bias_hh;
                let [i_r, i_z, i_n] = split(gi);
                let [h_r, h_z, h_n] = split(gh);
                let r = sigmoid(i_r + h_r);
                let z = sigmoid(i_z + h_z);
                let n = tanh(i_n + r * h_n);
                h = (1.0 - z) * n + z * h;
            }
        }
    };
}

__shipped_cells!();
