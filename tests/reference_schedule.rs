//! The optimised code of every cell against the reference schedule of the
//! same equations (one product per `@`, nothing moved out of the time loop,
//! every value stored by a loop of its own): outputs, final states and every
//! gradient agree to rounding, for full batches and for packed batches of
//! sequences of different lengths.
//!
//! Only cells declared with the hidden `#[reference_schedule]` carry the
//! reference methods, so this file declares copies of the shipped cells
//! (through `rnn::__shipped_cells!`) and of the custom cells of the other
//! tests (through `custom_cells!`) with the attribute: the same equations,
//! not copied by hand.

mod common;

/// The shipped cells, with the reference schedule's methods.
mod shipped {
    rnn::__shipped_cells!(#[reference_schedule]);
}

/// The custom cells of `common::cells`, with the reference schedule's methods.
#[allow(dead_code)] // the Grads and State types beside each cell go unused here
mod custom {
    crate::custom_cells!(#[reference_schedule]);
}

use custom::*;
use rnn::Cell;
use shipped::*;

/// Runs the optimised and the reference schedule of a cell on one case and
/// returns the largest difference over outputs, final states and every gradient.
macro_rules! reference_vs_optimised {
    ($cell:expr, $t:expr, $b:expr, $seed:expr) => {{
        let cell = &$cell;
        let c = common::case(cell, $t, $b, $seed);
        let tr = cell.forward_train(c.xs.view(), &c.init).unwrap();
        let (g, ig) = cell.backward(&tr, c.d_out.view(), &c.d_final).unwrap();
        let rtr = cell.reference_forward_train(c.xs.view(), &c.init).unwrap();
        let mut rg = Cell::zeros(Cell::<f64>::dims(cell));
        let rig = cell
            .reference_backward_into(&rtr, c.d_out.view(), &c.d_final, &mut rg)
            .unwrap();
        let mut a: Vec<ndarray::ArrayD<f64>> = vec![tr.outputs.into_dyn(), ig.d_xs.into_dyn()];
        let mut b: Vec<ndarray::ArrayD<f64>> = vec![rtr.outputs.into_dyn(), rig.d_xs.into_dyn()];
        a.extend(tr.states.into_iter().map(|s| s.into_dyn()));
        b.extend(rtr.states.into_iter().map(|s| s.into_dyn()));
        a.extend(ig.d_init.into_iter().map(|s| s.into_dyn()));
        b.extend(rig.d_init.into_iter().map(|s| s.into_dyn()));
        a.extend(Cell::<f64>::params(&g).into_iter().map(|p| p.1.to_owned()));
        b.extend(Cell::<f64>::params(&rg).into_iter().map(|p| p.1.to_owned()));
        common::max_diff(a, b)
    }};
}

/// The same on a packed batch of sequences of different lengths (`sizes`:
/// 4, 4, 3, 1, 1 of a batch of 5, one of length 0).
macro_rules! reference_vs_optimised_packed {
    ($cell:expr, $seed:expr) => {{
        let cell = &$cell;
        let sizes = [4usize, 4, 3, 1, 1];
        let bs = rnn::runtime::BatchSizes::new(&sizes, 5).unwrap();
        let rows: usize = sizes.iter().sum();
        let c = common::case(cell, rows, 5, $seed);
        let xs = c.xs.slice(ndarray::s![.., ..1, ..]).to_owned();
        let d_out = c.d_out.slice(ndarray::s![.., ..1, ..]).to_owned();
        let input = rnn::runtime::CellInput::Values(xs.view());
        let tr = cell.forward_train_packed(input, bs, &c.init).unwrap();
        let (g, ig) = cell.backward(&tr, d_out.view(), &c.d_final).unwrap();
        let rtr = cell.reference_forward_train_packed(input, bs, &c.init).unwrap();
        let mut rg = Cell::zeros(Cell::<f64>::dims(cell));
        let rig = cell
            .reference_backward_into(&rtr, d_out.view(), &c.d_final, &mut rg)
            .unwrap();
        let mut a: Vec<ndarray::ArrayD<f64>> = vec![tr.outputs.into_dyn(), ig.d_xs.into_dyn()];
        let mut b: Vec<ndarray::ArrayD<f64>> = vec![rtr.outputs.into_dyn(), rig.d_xs.into_dyn()];
        a.extend(tr.states.into_iter().map(|s| s.into_dyn()));
        b.extend(rtr.states.into_iter().map(|s| s.into_dyn()));
        a.extend(ig.d_init.into_iter().map(|s| s.into_dyn()));
        b.extend(rig.d_init.into_iter().map(|s| s.into_dyn()));
        a.extend(Cell::<f64>::params(&g).into_iter().map(|p| p.1.to_owned()));
        b.extend(Cell::<f64>::params(&rg).into_iter().map(|p| p.1.to_owned()));
        common::max_diff(a, b)
    }};
}

#[test]
fn optimised_schedule_matches_reference_schedule_on_packed_batches() {
    let mut r = rnn::seeded_rng(8);
    let checks = [
        (
            "lstm",
            reference_vs_optimised_packed!(Lstm::<f64>::new(LstmDims { i: 3, h: 4 }, &mut r), 31),
        ),
        (
            "gru",
            reference_vs_optimised_packed!(Gru::<f64>::new(GruDims { i: 3, h: 4 }, &mut r), 32),
        ),
        (
            "rnn_tanh",
            reference_vs_optimised_packed!(RnnTanh::<f64>::new(RnnTanhDims { i: 3, h: 4 }, &mut r), 33),
        ),
        (
            "rnn_relu",
            reference_vs_optimised_packed!(RnnRelu::<f64>::new(RnnReluDims { i: 3, h: 4 }, &mut r), 34),
        ),
        (
            "peephole",
            reference_vs_optimised_packed!(PeepholeLstm::<f64>::new(PeepholeLstmDims { i: 3, h: 4 }, &mut r), 35),
        ),
        (
            "mgu",
            reference_vs_optimised_packed!(Mgu::<f64>::new(MguDims { i: 3, h: 4 }, &mut r), 36),
        ),
        (
            "elman",
            reference_vs_optimised_packed!(Elman::<f64>::new(ElmanDims { i: 3, h: 4, o: 2 }, &mut r), 37),
        ),
        (
            "indrnn",
            reference_vs_optimised_packed!(IndRnn::<f64>::new(IndRnnDims { i: 3, h: 4 }, &mut r), 38),
        ),
        (
            "exotic",
            reference_vs_optimised_packed!(Exotic::<f64>::new(ExoticDims { i: 2 }, &mut r), 39),
        ),
        (
            "shared_operand",
            reference_vs_optimised_packed!(SharedOperand::<f64>::new(SharedOperandDims { i: 3, h: 4 }, &mut r), 40),
        ),
        (
            "smooth",
            reference_vs_optimised_packed!(Smooth::<f64>::new(SmoothDims { i: 3, h: 4 }, &mut r), 41),
        ),
        (
            "leaky",
            reference_vs_optimised_packed!(Leaky::<f64>::new(LeakyDims { i: 3, h: 4 }, &mut r), 44),
        ),
        (
            "concat_lstm",
            reference_vs_optimised_packed!(ConcatLstm::<f64>::new(ConcatLstmDims { i: 3, h: 4 }, &mut r), 45),
        ),
        (
            "transposed_rnn",
            reference_vs_optimised_packed!(TransposedRnn::<f64>::new(TransposedRnnDims { i: 3, h: 4 }, &mut r), 46),
        ),
        (
            "two_inputs",
            reference_vs_optimised_packed!(TwoInputs::<f64>::new(TwoInputsDims { i: 3, h: 4 }, &mut r), 47),
        ),
        (
            "layer_norm_lstm",
            reference_vs_optimised_packed!(LayerNormLstm::<f64>::new(LayerNormLstmDims { i: 3, h: 4 }, &mut r), 42),
        ),
        (
            "layer_norm_gru",
            reference_vs_optimised_packed!(LayerNormGru::<f64>::new(LayerNormGruDims { i: 3, h: 4 }, &mut r), 43),
        ),
    ];
    for (name, e) in checks {
        assert!(
            e < 1e-12,
            "{name} packed: optimised and reference schedules differ by {e:e}"
        );
    }
}

#[test]
fn optimised_schedule_matches_reference_schedule() {
    let mut r = rnn::seeded_rng(7);
    let checks = [
        (
            "lstm",
            reference_vs_optimised!(Lstm::<f64>::new(LstmDims { i: 3, h: 4 }, &mut r), 6, 3, 21),
        ),
        (
            "gru",
            reference_vs_optimised!(Gru::<f64>::new(GruDims { i: 3, h: 4 }, &mut r), 6, 3, 22),
        ),
        (
            "rnn_tanh",
            reference_vs_optimised!(RnnTanh::<f64>::new(RnnTanhDims { i: 3, h: 4 }, &mut r), 6, 3, 23),
        ),
        (
            "rnn_relu",
            reference_vs_optimised!(RnnRelu::<f64>::new(RnnReluDims { i: 3, h: 4 }, &mut r), 6, 3, 24),
        ),
        (
            "peephole",
            reference_vs_optimised!(
                PeepholeLstm::<f64>::new(PeepholeLstmDims { i: 3, h: 4 }, &mut r),
                6,
                3,
                25
            ),
        ),
        (
            "mgu",
            reference_vs_optimised!(Mgu::<f64>::new(MguDims { i: 3, h: 4 }, &mut r), 6, 3, 26),
        ),
        (
            "elman",
            reference_vs_optimised!(Elman::<f64>::new(ElmanDims { i: 3, h: 4, o: 2 }, &mut r), 6, 3, 27),
        ),
        (
            "indrnn",
            reference_vs_optimised!(IndRnn::<f64>::new(IndRnnDims { i: 3, h: 4 }, &mut r), 6, 3, 28),
        ),
        (
            "exotic",
            reference_vs_optimised!(Exotic::<f64>::new(ExoticDims { i: 2 }, &mut r), 6, 3, 29),
        ),
        (
            "shared_operand",
            reference_vs_optimised!(
                SharedOperand::<f64>::new(SharedOperandDims { i: 3, h: 4 }, &mut r),
                6,
                3,
                30
            ),
        ),
        (
            "smooth",
            reference_vs_optimised!(Smooth::<f64>::new(SmoothDims { i: 3, h: 4 }, &mut r), 6, 3, 31),
        ),
        (
            "leaky",
            reference_vs_optimised!(Leaky::<f64>::new(LeakyDims { i: 3, h: 4 }, &mut r), 6, 3, 34),
        ),
        (
            "concat_lstm",
            reference_vs_optimised!(ConcatLstm::<f64>::new(ConcatLstmDims { i: 3, h: 4 }, &mut r), 6, 3, 35),
        ),
        (
            "transposed_rnn",
            reference_vs_optimised!(
                TransposedRnn::<f64>::new(TransposedRnnDims { i: 3, h: 4 }, &mut r),
                6,
                3,
                36
            ),
        ),
        (
            "two_inputs",
            reference_vs_optimised!(TwoInputs::<f64>::new(TwoInputsDims { i: 3, h: 4 }, &mut r), 6, 3, 37),
        ),
        (
            "layer_norm_lstm",
            reference_vs_optimised!(
                LayerNormLstm::<f64>::new(LayerNormLstmDims { i: 3, h: 4 }, &mut r),
                6,
                3,
                32
            ),
        ),
        (
            "layer_norm_gru",
            reference_vs_optimised!(
                LayerNormGru::<f64>::new(LayerNormGruDims { i: 3, h: 4 }, &mut r),
                6,
                3,
                33
            ),
        ),
    ];
    for (name, e) in checks {
        assert!(e < 1e-12, "{name}: optimised and reference schedules differ by {e:e}");
    }
}

/// The copies compile to the same optimised code as the cells they copy.
#[test]
fn copies_emit_the_same_code() {
    assert_eq!(Lstm::<f32>::SOURCE, rnn::cells::Lstm::<f32>::SOURCE);
    assert_eq!(Gru::<f32>::SOURCE, rnn::cells::Gru::<f32>::SOURCE);
    assert_eq!(RnnTanh::<f32>::SOURCE, rnn::cells::RnnTanh::<f32>::SOURCE);
    assert_eq!(RnnRelu::<f32>::SOURCE, rnn::cells::RnnRelu::<f32>::SOURCE);
    assert_eq!(Mgu::<f32>::SOURCE, common::cells::Mgu::<f32>::SOURCE);
    assert_eq!(Elman::<f32>::PLAN, common::cells::Elman::<f32>::PLAN);
}
