//! Variable-length batches (PyTorch's packed sequences), for every cell:
//!
//! - a cell's packed pass equals running each sequence alone at its own
//!   length through the full-length code (fixed cases, then proptest over
//!   random lengths), for the shipped cells and every custom cell;
//! - the same for stacked and bidirectional `Layers` with lengths in any
//!   order, including 0, 1 and `T`;
//! - `Layers` BPTT with lengths against central finite differences (f64),
//!   with a zero input gradient at padding steps;
//! - one-hot ids give what their vectors give; all lengths `T` is the
//!   full-length path, bit for bit; bad lengths are typed errors.

mod common;

use common::Case;
use common::cells::*;
use common::packed::*;
use ndarray::Array3;
use proptest::prelude::*;
use rnn::prelude::*;
use rnn::runtime::{BatchSizes, CellInput, Layers, RnnError};

/// A cell's packed step against each sequence alone.
fn cell_vs_alone<C: Cell<f64>>(cell: &C, lengths: &[usize], seed: u64) -> f64 {
    let t = lengths.iter().copied().max().unwrap_or(0).max(1);
    let c: Case = common::case(cell, t + 1, lengths.len(), seed);
    run_diff(&cell_packed(cell, &c, lengths), &cell_alone(cell, &c, lengths))
}

/// Every cell, one case each: lengths unsorted, with 0, 1 and the longest.
macro_rules! every_cell {
    ($check:ident, $r:expr, $($args:expr),*) => {{
        let r = $r;
        vec![
            ("lstm", $check(&Lstm::<f64>::new(LstmDims { i: 3, h: 4 }, r), $($args),*)),
            ("gru", $check(&Gru::<f64>::new(GruDims { i: 3, h: 4 }, r), $($args),*)),
            ("rnn_tanh", $check(&RnnTanh::<f64>::new(RnnTanhDims { i: 3, h: 4 }, r), $($args),*)),
            ("rnn_relu", $check(&RnnRelu::<f64>::new(RnnReluDims { i: 3, h: 4 }, r), $($args),*)),
            ("peephole", $check(&PeepholeLstm::<f64>::new(PeepholeLstmDims { i: 3, h: 4 }, r), $($args),*)),
            ("mgu", $check(&Mgu::<f64>::new(MguDims { i: 3, h: 4 }, r), $($args),*)),
            ("elman", $check(&Elman::<f64>::new(ElmanDims { i: 3, h: 4, o: 2 }, r), $($args),*)),
            ("indrnn", $check(&IndRnn::<f64>::new(IndRnnDims { i: 3, h: 4 }, r), $($args),*)),
            ("exotic", $check(&Exotic::<f64>::new(ExoticDims { i: 2 }, r), $($args),*)),
            ("shared_operand", $check(&SharedOperand::<f64>::new(SharedOperandDims { i: 3, h: 4 }, r), $($args),*)),
            ("smooth", $check(&Smooth::<f64>::new(SmoothDims { i: 3, h: 4 }, r), $($args),*)),
            ("leaky", $check(&Leaky::<f64>::new(LeakyDims { i: 3, h: 4 }, r), $($args),*)),
            ("concat_lstm", $check(&ConcatLstm::<f64>::new(ConcatLstmDims { i: 3, h: 4 }, r), $($args),*)),
            ("transposed_rnn", $check(&TransposedRnn::<f64>::new(TransposedRnnDims { i: 3, h: 4 }, r), $($args),*)),
            ("two_inputs", $check(&TwoInputs::<f64>::new(TwoInputsDims { i: 3, h: 4 }, r), $($args),*)),
            ("layer_norm_lstm", $check(&LayerNormLstm::<f64>::new(LayerNormLstmDims { i: 3, h: 4 }, r), $($args),*)),
            ("layer_norm_gru", $check(&LayerNormGru::<f64>::new(LayerNormGruDims { i: 3, h: 4 }, r), $($args),*)),
        ]
    }};
}

#[test]
fn packed_cells_equal_each_sequence_alone() {
    let mut r = rnn::seeded_rng(1);
    for lengths in [&[3usize, 6, 1, 0, 6, 2][..], &[1], &[0, 0], &[5, 5, 5], &[2, 7, 7, 1]] {
        for (name, e) in every_cell!(cell_vs_alone, &mut r, lengths, 11) {
            assert!(e < 1e-12, "{name} {lengths:?}: packed and alone differ by {e:e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random lengths (0 included) and sizes: the packed step of every
    /// cell equals each sequence run alone at its own length.
    #[test]
    fn packed_cells_on_random_lengths(lengths in prop::collection::vec(0usize..7, 1..6), seed in 0u64..1000) {
        let mut r = rnn::seeded_rng(seed);
        for (name, e) in every_cell!(cell_vs_alone, &mut r, &lengths, seed) {
            prop_assert!(e < 1e-12, "{} {:?}: {:e}", name, lengths, e);
        }
    }

    /// The same for stacked bidirectional layers of shipped and custom cells.
    #[test]
    fn layers_on_random_lengths(lengths in prop::collection::vec(0usize..6, 1..5), extra in 0usize..2, seed in 0u64..1000) {
        let t = lengths.iter().copied().max().unwrap_or(0) + extra;
        let mut r = rnn::seeded_rng(seed);
        for (num_layers, bidir) in [(1, false), (2, true)] {
            let lstm = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 3, h: 4 }, num_layers, bidir, &mut r).unwrap();
            let e = layers_vs_alone(&lstm, &lengths, t, seed);
            prop_assert!(e < 1e-12, "lstm x{} {:?}: {:e}", num_layers, lengths, e);
            let gru = Layers::<f64, Gru<f64>>::new(GruDims { i: 3, h: 4 }, num_layers, bidir, &mut r).unwrap();
            let e = layers_vs_alone(&gru, &lengths, t, seed + 1);
            prop_assert!(e < 1e-12, "gru x{} {:?}: {:e}", num_layers, lengths, e);
            let elman = Layers::<f64, Elman<f64>>::new(ElmanDims { i: 3, h: 4, o: 2 }, num_layers, bidir, &mut r).unwrap();
            let e = layers_vs_alone(&elman, &lengths, t, seed + 2);
            prop_assert!(e < 1e-12, "elman x{} {:?}: {:e}", num_layers, lengths, e);
        }
    }
}

/// A cell reading its rows where they lie (`CellInput::Picked`) against
/// the same rows copied out first: the packed pass over a padded input,
/// and the full-length pass over rows picked out of order with repeats.
fn picked_vs_copied<C: Cell<f64>>(cell: &C, lengths: &[usize], seed: u64) -> f64 {
    let t = lengths.iter().copied().max().unwrap_or(0).max(1);
    let c: Case = common::case(cell, t + 1, lengths.len(), seed);
    let packed = run_diff(
        &cell_packed_from(cell, &c, lengths, true),
        &cell_packed_from(cell, &c, lengths, false),
    );
    let width = cell.input_size();
    let all = c.xs.view().into_shape_with_order((c.xs.len() / width, width)).unwrap();
    let rows: Vec<usize> = (0..7).map(|i| (i * 5 + seed as usize) % all.nrows()).collect();
    let copied = all
        .select(ndarray::Axis(0), &rows)
        .into_shape_with_order((7, 1, width))
        .unwrap();
    let init: Vec<_> = c
        .init
        .iter()
        .map(|s| s.slice(ndarray::s![..1, ..]).to_owned())
        .collect();
    let mut ws = rnn::runtime::Workspace::new();
    let mut by_rows = rnn::runtime::Trace::empty();
    cell.forward_train_input_ws(CellInput::Picked { xs: all, rows: &rows }, &init, &mut ws, &mut by_rows)
        .unwrap();
    let by_copy = cell.forward_train(copied.view(), &init).unwrap();
    let d_out = common::uniform3(&mut common::rng(seed), (7, 1, cell.output_size()));
    let (g1, i1) = cell.backward(&by_rows, d_out.view(), &[]).unwrap();
    let (g2, i2) = cell.backward(&by_copy, d_out.view(), &[]).unwrap();
    let mut x = vec![by_rows.outputs.into_dyn(), i1.d_xs.into_dyn()];
    let mut y = vec![by_copy.outputs.into_dyn(), i2.d_xs.into_dyn()];
    x.extend(by_rows.states.into_iter().chain(i1.d_init).map(|a| a.into_dyn()));
    y.extend(by_copy.states.into_iter().chain(i2.d_init).map(|a| a.into_dyn()));
    x.extend(g1.params().into_iter().map(|p| p.1.to_owned()));
    y.extend(g2.params().into_iter().map(|p| p.1.to_owned()));
    packed.max(common::max_diff(x, y))
}

#[test]
fn picked_rows_equal_their_copies() {
    let mut r = rnn::seeded_rng(12);
    for lengths in [&[3usize, 6, 1, 0, 6, 2][..], &[4], &[2, 5, 5, 1]] {
        for (name, e) in every_cell!(picked_vs_copied, &mut r, lengths, 13) {
            assert_eq!(e, 0.0, "{name} {lengths:?}: picked rows and their copy differ by {e:e}");
        }
    }
}

#[test]
fn layers_given_picked_rows_run_them_as_a_sequence() {
    let mut r = rnn::seeded_rng(14);
    let layers = Layers::<f64, Gru<f64>>::new(GruDims { i: 3, h: 4 }, 2, true, &mut r).unwrap();
    let all = common::uniform3(&mut common::rng(15), (4, 3, 3))
        .into_shape_with_order((12, 3))
        .unwrap();
    let rows = [11usize, 0, 4, 4, 7];
    let copied = all
        .select(ndarray::Axis(0), &rows)
        .into_shape_with_order((5, 1, 3))
        .unwrap();
    for lengths in [None, Some(&[3usize][..])] {
        let mut ws = rnn::runtime::Workspace::new();
        let mut by_rows = rnn::runtime::LayersTrace::empty();
        let input = CellInput::Picked {
            xs: all.view(),
            rows: &rows,
        };
        layers
            .forward_train_ws_with_lengths(input, lengths, &[], &mut ws, &mut by_rows)
            .unwrap();
        let by_copy = layers.forward_train_with_lengths(copied.view(), lengths, &[]).unwrap();
        assert_eq!(by_rows.out, by_copy.out, "lengths {lengths:?}");
        assert_eq!(by_rows.states, by_copy.states, "lengths {lengths:?}");
        let d_out = common::uniform3(&mut common::rng(16), (5, 1, layers.output_size()));
        let (g1, d1, _) = layers.backward(&by_rows, d_out.view(), &[]).unwrap();
        let (g2, d2, _) = layers.backward(&by_copy, d_out.view(), &[]).unwrap();
        assert_eq!(d1, d2, "lengths {lengths:?}");
        for (a, b) in g1.named_params().into_iter().zip(g2.named_params()) {
            assert_eq!(a.1, b.1, "{} lengths {lengths:?}", a.0);
        }
    }
}

fn layers_vs_alone<C: Cell<f64>>(layers: &Layers<f64, C>, lengths: &[usize], t: usize, seed: u64) -> f64 {
    let c = layers_case(layers, t, lengths.len(), seed);
    layers_diff(
        &layers_with_lengths(layers, &c, lengths),
        &layers_alone(layers, &c, lengths),
    )
}

#[test]
fn layers_with_lengths_equal_each_sequence_alone() {
    let mut r = rnn::seeded_rng(2);
    let lengths = [3usize, 5, 1, 0, 5, 2];
    for (num_layers, bidir) in [(1, false), (1, true), (2, false), (2, true), (3, true)] {
        let l = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 3, h: 4 }, num_layers, bidir, &mut r).unwrap();
        let e = layers_vs_alone(&l, &lengths, 6, 3);
        assert!(e < 1e-12, "lstm {num_layers} {bidir}: {e:e}");
        let l = Layers::<f64, RnnRelu<f64>>::new(RnnReluDims { i: 3, h: 4 }, num_layers, bidir, &mut r).unwrap();
        let e = layers_vs_alone(&l, &lengths, 6, 4);
        assert!(e < 1e-12, "rnn relu {num_layers} {bidir}: {e:e}");
        let l = Layers::<f64, SharedOperand<f64>>::new(SharedOperandDims { i: 3, h: 4 }, num_layers, bidir, &mut r)
            .unwrap();
        let e = layers_vs_alone(&l, &lengths, 6, 5);
        assert!(e < 1e-12, "shared operand {num_layers} {bidir}: {e:e}");
    }
}

fn gradcheck<C: Cell<f64>>(name: &str, layers: &Layers<f64, C>, lengths: &[usize], t: usize, seed: u64) {
    let c = layers_case(layers, t, lengths.len(), seed);
    let (e, padding) = layers_gradcheck(layers, &c, lengths);
    assert!(e < 1e-6, "{name} {lengths:?}: BPTT vs finite differences {e:e}");
    assert_eq!(padding, 0.0, "{name}: input gradient at a padding step");
}

#[test]
fn layers_with_lengths_pass_gradcheck() {
    let mut r = rnn::seeded_rng(3);
    // Unsorted, with 0, 1 and T (= 4).
    let lengths = [2usize, 4, 1, 0, 4];
    for (num_layers, bidir) in [(1, false), (1, true), (2, true)] {
        let l = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("lstm", &l, &lengths, 4, 1);
        let l = Layers::<f64, Gru<f64>>::new(GruDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("gru", &l, &lengths, 4, 2);
        let l = Layers::<f64, RnnTanh<f64>>::new(RnnTanhDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("rnn_tanh", &l, &lengths, 4, 3);
        let l = Layers::<f64, RnnRelu<f64>>::new(RnnReluDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("rnn_relu", &l, &lengths, 4, 4);
        let l = Layers::<f64, Mgu<f64>>::new(MguDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("mgu", &l, &lengths, 4, 5);
        let l =
            Layers::<f64, PeepholeLstm<f64>>::new(PeepholeLstmDims { i: 2, h: 3 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("peephole", &l, &lengths, 4, 6);
        let l = Layers::<f64, Elman<f64>>::new(ElmanDims { i: 2, h: 3, o: 2 }, num_layers, bidir, &mut r).unwrap();
        gradcheck("elman", &l, &lengths, 4, 7);
    }
    // Padding past the longest sequence too (T = 5, longest 3).
    let l = Layers::<f64, Gru<f64>>::new(GruDims { i: 2, h: 3 }, 2, true, &mut r).unwrap();
    gradcheck("gru, T past the longest", &l, &[3, 1, 2], 5, 8);
}

#[test]
fn one_hot_ids_with_lengths_equal_their_vectors() {
    let mut r = rnn::seeded_rng(4);
    let (t, b, v) = (5, 4, 7);
    let lengths = [2usize, 5, 0, 3];
    let ids: Vec<usize> = (0..t * b).map(|i| (i * 3 + 1) % v).collect();
    let xs = Array3::from_shape_fn((t, b, v), |(s, j, k)| if ids[s * b + j] == k { 1.0 } else { 0.0 });
    let layers = Layers::<f64, Lstm<f64>>::new(LstmDims { i: v, h: 4 }, 2, true, &mut r).unwrap();
    let d_out = common::uniform3(&mut common::rng(5), (t, b, layers.output_size()));
    let mut ws = rnn::runtime::Workspace::new();
    let mut by_ids = rnn::runtime::LayersTrace::empty();
    layers
        .forward_train_ws_with_lengths(
            CellInput::OneHot {
                ids: &ids,
                len: t,
                batch: b,
            },
            Some(&lengths),
            &[],
            &mut ws,
            &mut by_ids,
        )
        .unwrap();
    let by_values = layers
        .forward_train_with_lengths(xs.view(), Some(&lengths), &[])
        .unwrap();
    assert!(common::max_diff([by_ids.out.clone().into_dyn()], [by_values.out.clone().into_dyn()]) < 1e-14);
    let (g1, d_xs, _) = layers.backward(&by_ids, d_out.view(), &[]).unwrap();
    let (g2, _, _) = layers.backward(&by_values, d_out.view(), &[]).unwrap();
    assert_eq!(d_xs.shape(), &[0, 0, 0], "one-hot ids have no gradient");
    let a = g1.named_params().into_iter().map(|p| p.1.to_owned());
    let b2 = g2.named_params().into_iter().map(|p| p.1.to_owned());
    assert!(common::max_diff(a, b2) < 1e-13);
}

#[test]
fn lengths_of_t_are_the_full_length_path() {
    let mut r = rnn::seeded_rng(6);
    let layers = Layers::<f64, Gru<f64>>::new(GruDims { i: 3, h: 4 }, 2, true, &mut r).unwrap();
    let c = layers_case(&layers, 5, 3, 7);
    let full = layers.forward_train(c.xs.view(), &c.init).unwrap();
    let same = layers
        .forward_train_with_lengths(c.xs.view(), Some(&[5, 5, 5]), &c.init)
        .unwrap();
    assert_eq!(full.out, same.out);
    assert_eq!(full.states, same.states);
    assert_eq!(same.lengths(), Some(&[5, 5, 5][..]));
    assert_eq!(full.lengths(), None);
    // A cell given the sizes of a full batch runs the full-length code.
    let cell = Lstm::<f64>::new(LstmDims { i: 3, h: 4 }, &mut r);
    let c = common::case(&cell, 5, 3, 8);
    let full = cell.forward_train(c.xs.view(), &c.init).unwrap();
    let rows = c.xs.clone().into_shape_with_order((15, 1, 3)).unwrap();
    let packed = cell
        .forward_train_packed(
            CellInput::Values(rows.view()),
            BatchSizes::new(&[3; 5], 3).unwrap(),
            &c.init,
        )
        .unwrap();
    assert_eq!(full.outputs.as_slice(), packed.outputs.as_slice());
    assert_eq!(full.states, packed.states);
    let (g1, i1) = cell.backward(&full, c.d_out.view(), &c.d_final).unwrap();
    let d_out = c.d_out.clone().into_shape_with_order((15, 1, 4)).unwrap();
    let (g2, i2) = cell.backward(&packed, d_out.view(), &c.d_final).unwrap();
    for ((_, a), (_, b)) in g1.params().into_iter().zip(g2.params()) {
        assert_eq!(a, b);
    }
    assert_eq!(i1.d_xs.as_slice(), i2.d_xs.as_slice());
    assert_eq!(i1.d_init, i2.d_init);
}

#[test]
fn bad_lengths_and_packed_shapes_are_errors() {
    let mut r = rnn::seeded_rng(8);
    let layers = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 3, h: 4 }, 1, true, &mut r).unwrap();
    let xs = Array3::<f64>::zeros((4, 3, 3));
    assert!(matches!(
        layers.forward_with_lengths(xs.view(), Some(&[1, 2]), &[]),
        Err(RnnError::Shape { .. })
    ));
    assert!(matches!(
        layers.forward_train_with_lengths(xs.view(), Some(&[1, 5, 2]), &[]),
        Err(RnnError::Invalid(_))
    ));
    let cell = layers.cells()[0].clone();
    let rows = Array3::<f64>::zeros((5, 1, 3));
    // Sizes that increase, or more rows than the sizes say.
    assert!(BatchSizes::new(&[1, 2], 3).is_err());
    let sizes = BatchSizes::new(&[3, 1], 3).unwrap();
    assert!(matches!(
        cell.forward_packed(CellInput::Values(rows.view()), sizes, &[]),
        Err(RnnError::Shape { .. })
    ));
    // Picked rows: the matrix's width, its layout, rows inside it.
    let all = ndarray::Array2::<f64>::zeros((6, 3));
    let bad_row = CellInput::Picked {
        xs: all.view(),
        rows: &[0, 6],
    };
    assert!(matches!(
        cell.forward_packed(bad_row, BatchSizes::new(&[1, 1], 1).unwrap(), &[]),
        Err(RnnError::Invalid(_))
    ));
    let narrow = ndarray::Array2::<f64>::zeros((6, 2));
    let narrow = CellInput::Picked {
        xs: narrow.view(),
        rows: &[0, 1],
    };
    assert!(matches!(
        cell.forward_packed(narrow, BatchSizes::new(&[1, 1], 1).unwrap(), &[]),
        Err(RnnError::Shape { .. })
    ));
    let wide = ndarray::Array2::<f64>::zeros((3, 6));
    let strided = CellInput::Picked {
        xs: wide.t(),
        rows: &[0, 1],
    };
    assert!(matches!(
        cell.forward_packed(strided, BatchSizes::new(&[1, 1], 1).unwrap(), &[]),
        Err(RnnError::Invalid(_))
    ));
    // The output gradient of a packed trace has its packed shape.
    let rows = Array3::<f64>::zeros((4, 1, 3));
    let trace = cell
        .forward_train_packed(CellInput::Values(rows.view()), sizes, &[])
        .unwrap();
    assert!(matches!(
        cell.backward(&trace, Array3::zeros((2, 3, 4)).view(), &[]),
        Err(RnnError::Shape { .. })
    ));
}
