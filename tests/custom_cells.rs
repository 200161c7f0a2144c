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
fn gradcheck_concat() {
    let cell = ConcatLstm::<f64>::new(ConcatLstmDims { i: 3, h: 4 }, &mut rnn::seeded_rng(11));
    assert_eq!(cell.w.dim(), (16, 7), "w is [4 * H, I + H]");
    let e = common::gradcheck(&cell, 5, 2, 23);
    assert!(e < TOL, "concat lstm gradcheck error {e:e}");
}

/// The largest difference between `a` and `b` is below 1e-12 (same shapes).
fn same(a: ndarray::ArrayViewD<'_, f64>, b: ndarray::ArrayViewD<'_, f64>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let worst = a.iter().zip(b.iter()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-12, "{what}: differs by {worst:e}");
}

/// Runs `a` and `b` (the same function, written two ways) forward and
/// backward on the same inputs `[T, B, input]` and output gradient, checks
/// that their outputs, final states, input and initial-state gradients are
/// the same, and returns their parameter gradients to compare.
fn run_both<A: Cell<f64>, B: Cell<f64>>(a: &A, b: &B, t: usize, batch: usize) -> (A, B) {
    use ndarray::{Array2, Array3};
    let (i, h) = (a.input_size(), a.output_size());
    let xs = Array3::from_shape_fn((t, batch, i), |(p, q, r)| ((p * 5 + q * 3 + r) as f64 * 0.41).sin());
    let init: Vec<Array2<f64>> = a
        .state_sizes()
        .into_iter()
        .enumerate()
        .map(|(k, w)| Array2::from_shape_fn((batch, w), |(r, c)| ((r * 7 + c + k * 11) as f64 * 0.23).cos() * 0.5))
        .collect();
    let (ta, tb) = (
        a.forward_train(xs.view(), &init).expect("first forward"),
        b.forward_train(xs.view(), &init).expect("second forward"),
    );
    same(ta.outputs.view().into_dyn(), tb.outputs.view().into_dyn(), "outputs");
    for (sa, sb) in ta.states.iter().zip(&tb.states) {
        same(sa.view().into_dyn(), sb.view().into_dyn(), "final state");
    }
    let d_out = Array3::from_shape_fn((t, batch, h), |(p, q, r)| ((p + 2 * q + 3 * r) as f64 * 0.17).sin());
    let (ga, ia) = a.backward(&ta, d_out.view(), &[]).expect("first backward");
    let (gb, ib) = b.backward(&tb, d_out.view(), &[]).expect("second backward");
    same(ia.d_xs.view().into_dyn(), ib.d_xs.view().into_dyn(), "input gradient");
    for (da, db) in ia.d_init.iter().zip(&ib.d_init) {
        same(da.view().into_dyn(), db.view().into_dyn(), "initial-state gradient");
    }
    (ga, gb)
}

/// `w @ concat(x, h)` is PyTorch's LSTM with `w = [W_ih | W_hh]` and one
/// bias: the same numbers, and the gradient of `w` is the two weight
/// gradients side by side.
#[test]
fn concat_lstm_is_the_lstm_with_its_weights_side_by_side() {
    use ndarray::{Axis, concatenate, s};
    let (i, h) = (3, 5);
    let lstm = Lstm::<f64>::new(LstmDims { i, h }, &mut rnn::seeded_rng(12));
    let mut cat = ConcatLstm::<f64>::zeros(ConcatLstmDims { i, h });
    cat.w = concatenate(Axis(1), &[lstm.weight_ih.view(), lstm.weight_hh.view()]).expect("same rows");
    cat.b = &lstm.bias_ih + &lstm.bias_hh;
    let (gl, gc) = run_both(&lstm, &cat, 7, 2);
    let dw = concatenate(Axis(1), &[gl.weight_ih.view(), gl.weight_hh.view()]).expect("same rows");
    same(dw.view().into_dyn(), gc.w.view().into_dyn(), "dw");
    same(gl.bias_ih.view().into_dyn(), gc.b.view().into_dyn(), "db");
    assert!(
        gc.w.slice(s![.., i..]).iter().any(|v| *v != 0.0),
        "the recurrent block gets a gradient"
    );
}

#[test]
fn gradcheck_transposed() {
    let cell = TransposedRnn::<f64>::new(TransposedRnnDims { i: 3, h: 4 }, &mut rnn::seeded_rng(13));
    assert_eq!(cell.w.dim(), (3, 4), "w is [I, H]");
    let e = common::gradcheck(&cell, 5, 2, 24);
    assert!(e < TOL, "transposed rnn gradcheck error {e:e}");
}

/// `w.T @ x + u.T @ h` is PyTorch's tanh RNN with `weight_ih = wᵀ`,
/// `weight_hh = uᵀ`: the same numbers, and `dw`, `du` the transposed
/// weight gradients.
#[test]
fn transposed_rnn_is_the_rnn_with_its_weights_transposed() {
    let (i, h) = (3, 5);
    let rnn = RnnTanh::<f64>::new(RnnTanhDims { i, h }, &mut rnn::seeded_rng(14));
    let mut tr = TransposedRnn::<f64>::zeros(TransposedRnnDims { i, h });
    tr.w = rnn.weight_ih.t().as_standard_layout().into_owned();
    tr.u = rnn.weight_hh.t().as_standard_layout().into_owned();
    tr.b = &rnn.bias_ih + &rnn.bias_hh;
    let (ga, gc) = run_both(&rnn, &tr, 7, 2);
    same(ga.weight_ih.t().into_dyn(), gc.w.view().into_dyn(), "dw");
    same(ga.weight_hh.t().into_dyn(), gc.u.view().into_dyn(), "du");
    same(ga.bias_ih.view().into_dyn(), gc.b.view().into_dyn(), "db");
}

#[test]
fn gradcheck_several_inputs() {
    let cell = TwoInputs::<f64>::new(TwoInputsDims { i: 3, h: 4 }, &mut rnn::seeded_rng(15));
    assert_eq!(cell.input_size(), 7, "the inputs side by side");
    let e = common::gradcheck(&cell, 5, 2, 25);
    assert!(e < TOL, "two inputs gradcheck error {e:e}");
    let cell = SplitInputRnn::<f64>::new(SplitInputRnnDims { i: 3, k: 2, h: 4 }, &mut rnn::seeded_rng(16));
    let e = common::gradcheck(&cell, 5, 2, 26);
    assert!(e < TOL, "split input rnn gradcheck error {e:e}");
}

/// Inputs `x` and `z` side by side, each with its own weight, are the tanh
/// RNN over `[x, z]` with `weight_ih = [w | v]`.
#[test]
fn several_inputs_are_the_rnn_over_them_side_by_side() {
    use ndarray::{Axis, concatenate, s};
    let (i, k, h) = (3, 2, 5);
    let rnn = RnnTanh::<f64>::new(RnnTanhDims { i: i + k, h }, &mut rnn::seeded_rng(17));
    let mut two = SplitInputRnn::<f64>::zeros(SplitInputRnnDims { i, k, h });
    two.w = rnn.weight_ih.slice(s![.., ..i]).to_owned();
    two.v = rnn.weight_ih.slice(s![.., i..]).to_owned();
    two.u = rnn.weight_hh.clone();
    two.b = &rnn.bias_ih + &rnn.bias_hh;
    let (ga, gc) = run_both(&rnn, &two, 7, 2);
    let dw = concatenate(Axis(1), &[gc.w.view(), gc.v.view()]).expect("same rows");
    same(ga.weight_ih.view().into_dyn(), dw.view().into_dyn(), "[dw | dv]");
    same(ga.weight_hh.view().into_dyn(), gc.u.view().into_dyn(), "du");
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
