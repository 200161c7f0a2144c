//! Gradcheck on random shapes and lengths (proptest): BPTT of every shipped
//! cell and two custom cells against central finite differences in f64.

mod common;

use common::cells::*;
use proptest::prelude::*;
use rnn::prelude::*;

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
