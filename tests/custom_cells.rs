//! Cells a user would write, beside the shipped ones: each is checked by
//! finite differences in f64 (and, in `reference_schedule.rs`, against the
//! reference schedule of its own graph).

mod common;

use rnn::prelude::*;

use common::cells::*;

const TOL: f64 = 1e-6;

#[test]
fn gradcheck_peephole_lstm() {
    let cell = PeepholeLstm::<f64>::new(PeepholeLstmDims { i: 3, h: 4 }, &mut rnn::seeded_rng(1));
    let e = common::gradcheck(&cell, 5, 2, 11);
    assert!(e < TOL, "peephole lstm gradcheck error {e:e}");
}

#[test]
fn gradcheck_mgu() {
    let cell = Mgu::<f64>::new(MguDims { i: 3, h: 4 }, &mut rnn::seeded_rng(2));
    let e = common::gradcheck(&cell, 5, 2, 12);
    assert!(e < TOL, "mgu gradcheck error {e:e}");
}

#[test]
fn gradcheck_elman_with_output() {
    let cell = Elman::<f64>::new(ElmanDims { i: 3, h: 4, o: 2 }, &mut rnn::seeded_rng(3));
    let e = common::gradcheck(&cell, 6, 3, 13);
    assert!(e < TOL, "elman gradcheck error {e:e}");
}

#[test]
fn gradcheck_indrnn() {
    let cell = IndRnn::<f64>::new(IndRnnDims { i: 3, h: 4 }, &mut rnn::seeded_rng(4));
    let e = common::gradcheck(&cell, 5, 2, 14);
    assert!(e < TOL, "indrnn gradcheck error {e:e}");
}

#[test]
fn gradcheck_exotic() {
    let cell = Exotic::<f64>::new(ExoticDims { i: 2 }, &mut rnn::seeded_rng(5));
    let e = common::gradcheck(&cell, 4, 2, 15);
    assert!(e < TOL, "exotic gradcheck error {e:e}");
}

#[test]
fn gradcheck_shared_operand() {
    let cell = SharedOperand::<f64>::new(SharedOperandDims { i: 3, h: 4 }, &mut rnn::seeded_rng(8));
    let e = common::gradcheck(&cell, 5, 2, 18);
    assert!(e < TOL, "shared operand gradcheck error {e:e}");
}

#[test]
fn gradcheck_smooth() {
    let cell = Smooth::<f64>::new(SmoothDims { i: 3, h: 4 }, &mut rnn::seeded_rng(9));
    let e = common::gradcheck(&cell, 5, 2, 19);
    assert!(e < TOL, "smooth gradcheck error {e:e}");
}

#[test]
fn gradcheck_scalar_parameters() {
    let cell = Leaky::<f64>::new(LeakyDims { i: 3, h: 4 }, &mut rnn::seeded_rng(10));
    assert_eq!(cell.alpha.len(), 1, "a scalar parameter holds one value");
    let e = common::gradcheck(&cell, 5, 2, 22);
    assert!(e < TOL, "leaky gradcheck error {e:e}");
}

#[test]
fn gradcheck_shipped_cells() {
    let mut r = rnn::seeded_rng(6);
    let e = common::gradcheck(&Lstm::<f64>::new(LstmDims { i: 3, h: 4 }, &mut r), 5, 2, 16);
    assert!(e < TOL, "lstm {e:e}");
    let e = common::gradcheck(&Gru::<f64>::new(GruDims { i: 3, h: 4 }, &mut r), 5, 2, 17);
    assert!(e < TOL, "gru {e:e}");
    let e = common::gradcheck(&RnnTanh::<f64>::new(RnnTanhDims { i: 3, h: 4 }, &mut r), 5, 2, 18);
    assert!(e < TOL, "rnn tanh {e:e}");
    let e = common::gradcheck(&RnnRelu::<f64>::new(RnnReluDims { i: 3, h: 4 }, &mut r), 5, 2, 19);
    assert!(e < TOL, "rnn relu {e:e}");
    let e = common::gradcheck(
        &LayerNormLstm::<f64>::new(LayerNormLstmDims { i: 3, h: 4 }, &mut r),
        5,
        2,
        20,
    );
    assert!(e < TOL, "layer-norm lstm {e:e}");
    let e = common::gradcheck(
        &LayerNormGru::<f64>::new(LayerNormGruDims { i: 3, h: 4 }, &mut r),
        5,
        2,
        21,
    );
    assert!(e < TOL, "layer-norm gru {e:e}");
}
