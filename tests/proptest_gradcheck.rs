//! Gradcheck on random shapes and lengths (proptest): BPTT of every shipped
//! cell and two custom cells against central finite differences in f64.

mod common;

use proptest::prelude::*;
use rnn::prelude::*;

rnn::cell! {
    /// Minimal gated unit.
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
        h = (1.0 - f) * h + f * tanh(w_h @ x + u_h @ (f * h) + b_h);
    }
}

rnn::cell! {
    /// Elman network with a sigmoid output head that is not fed back.
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

const TOL: f64 = 1e-6;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn shipped_cells_on_random_shapes(t in 1usize..6, b in 1usize..4, i in 1usize..5, h in 1usize..5, seed in 0u64..1000) {
        let mut r = rnn::seeded_rng(seed);
        let e = common::gradcheck(&Lstm::<f64>::new(LstmDims { i, h }, &mut r), t, b, seed);
        prop_assert!(e < TOL, "lstm {e:e}");
        let e = common::gradcheck(&Gru::<f64>::new(GruDims { i, h }, &mut r), t, b, seed + 1);
        prop_assert!(e < TOL, "gru {e:e}");
        let e = common::gradcheck(&RnnTanh::<f64>::new(RnnTanhDims { i, h }, &mut r), t, b, seed + 2);
        prop_assert!(e < TOL, "rnn tanh {e:e}");
        let e = common::gradcheck(&RnnRelu::<f64>::new(RnnReluDims { i, h }, &mut r), t, b, seed + 3);
        prop_assert!(e < TOL, "rnn relu {e:e}");
    }

    #[test]
    fn custom_cells_on_random_shapes(t in 1usize..6, b in 1usize..4, i in 1usize..5, h in 1usize..5, o in 1usize..4, seed in 0u64..1000) {
        let mut r = rnn::seeded_rng(seed);
        let e = common::gradcheck(&Mgu::<f64>::new(MguDims { i, h }, &mut r), t, b, seed);
        prop_assert!(e < TOL, "mgu {e:e}");
        let e = common::gradcheck(&Elman::<f64>::new(ElmanDims { i, h, o }, &mut r), t, b, seed + 1);
        prop_assert!(e < TOL, "elman {e:e}");
    }
}
