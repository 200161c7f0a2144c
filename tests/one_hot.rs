//! One-hot inputs given as ids: every cell and stacked bidirectional layers
//! give the same outputs, states and parameter gradients as with the
//! one-hot vectors written out, whether the cell looks the ids up in its
//! weights (it reads its input only through products) or is handed the
//! vectors (it also reads the input elementwise). A one-hot input has no
//! input gradient.

mod common;

use common::cells::*;
use ndarray::{Array2, Array3};
use rand::Rng;
use rnn::prelude::*;
use rnn::runtime::{
    CellInput, Forward, InputGrads, Layers, LayersInputGrads, LayersOutput, LayersTrace, Trace, Workspace,
};

rnn::cell! {
    /// Reads its input elementwise as well (a skip connection), so one-hot
    /// ids are written out as vectors for it.
    pub cell Skip(H) {
        input x: [H];
        state h: [H];
        param w: [H, H];
        param u: [H, H];
        param b: [H];

        h = tanh(w @ x + u @ h + b) + 0.5 * x;
    }
}

fn ids_and_vectors(r: &mut impl Rng, t: usize, b: usize, v: usize) -> (Vec<usize>, Array3<f64>) {
    let ids: Vec<usize> = (0..t * b).map(|_| r.random_range(0..v)).collect();
    let mut xs = Array3::zeros((t, b, v));
    for (p, &id) in ids.iter().enumerate() {
        xs[(p / b, p % b, id)] = 1.0;
    }
    (ids, xs)
}

fn assert_close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

fn check_cell<C: Cell<f64>>(cell: &C, seed: u64) {
    let (t, b) = (5, 3);
    let mut r = common::rng(seed);
    let (ids, xs) = ids_and_vectors(&mut r, t, b, cell.input_size());
    let init: Vec<Array2<f64>> = cell
        .state_sizes()
        .iter()
        .map(|&w| common::uniform2(&mut r, (b, w)))
        .collect();
    let d_out = common::uniform3(&mut r, (t, b, cell.output_size()));
    let input = CellInput::OneHot {
        ids: &ids,
        len: t,
        batch: b,
    };
    let mut ws = Workspace::new();

    let dense = cell.forward(xs.view(), &init).unwrap();
    let mut looked_up = Forward::empty();
    cell.forward_input_ws(input, &init, &mut ws, &mut looked_up).unwrap();
    // The lookup adds the same terms as the product (the others are exact zeros).
    assert_eq!(dense.outputs, looked_up.outputs, "{}: inference outputs", C::NAME);
    assert_eq!(dense.states, looked_up.states, "{}: inference states", C::NAME);

    let trace = cell.forward_train(xs.view(), &init).unwrap();
    let mut ids_trace = Trace::empty();
    cell.forward_train_input_ws(input, &init, &mut ws, &mut ids_trace)
        .unwrap();
    assert!(ids_trace.one_hot && !trace.one_hot);
    assert_eq!(trace.outputs, ids_trace.outputs, "{}: training outputs", C::NAME);

    let (grads, g) = cell.backward(&trace, d_out.view(), &[]).unwrap();
    let mut ids_grads = C::zeros(cell.dims());
    let mut ids_g = InputGrads::empty();
    cell.backward_ws(&ids_trace, d_out.view(), &[], &mut ids_grads, &mut ws, &mut ids_g)
        .unwrap();
    for ((name, a), (_, e)) in ids_grads.params().iter().zip(grads.params().iter()) {
        assert_close(
            &format!("{} d{name}", C::NAME),
            a.as_slice().unwrap(),
            e.as_slice().unwrap(),
        );
    }
    assert_eq!(g.d_init, ids_g.d_init, "{}: initial-state gradients", C::NAME);
    assert_eq!(g.d_xs.dim(), (t, b, cell.input_size()));
    assert_eq!(
        ids_g.d_xs.dim(),
        (0, 0, 0),
        "{}: a one-hot input has no gradient",
        C::NAME
    );
}

#[test]
fn cells_give_the_same_numbers_for_ids_and_vectors() {
    let mut r = common::rng(1);
    check_cell(&Lstm::<f64>::new(LstmDims { i: 7, h: 4 }, &mut r), 2);
    check_cell(&Gru::<f64>::new(GruDims { i: 7, h: 4 }, &mut r), 3);
    check_cell(&RnnTanh::<f64>::new(RnnTanhDims { i: 7, h: 4 }, &mut r), 4);
    check_cell(&Mgu::<f64>::new(MguDims { i: 6, h: 3 }, &mut r), 5);
    check_cell(&Elman::<f64>::new(ElmanDims { i: 6, h: 3, o: 2 }, &mut r), 6);
    check_cell(&Skip::<f64>::new(SkipDims { h: 5 }, &mut r), 7);
    // The input's block of `w @ concat(x, h)` is looked up by id.
    check_cell(&ConcatLstm::<f64>::new(ConcatLstmDims { i: 7, h: 4 }, &mut r), 8);
    // And `w.T @ x`'s, in `w` transposed.
    check_cell(&TransposedRnn::<f64>::new(TransposedRnnDims { i: 7, h: 4 }, &mut r), 9);
}

#[test]
fn bidirectional_layers_give_the_same_numbers_for_ids_and_vectors() {
    let (t, b, v) = (6, 2, 5);
    let mut r = common::rng(8);
    let layers = Layers::<f64, Lstm<f64>>::new(LstmDims { i: v, h: 3 }, 2, true, &mut r).unwrap();
    let (ids, xs) = ids_and_vectors(&mut r, t, b, v);
    let d_out = common::uniform3(&mut r, (t, b, layers.output_size()));
    let mut ws = Workspace::new();

    let (out, states) = layers.forward(xs.view(), &[]).unwrap();
    let input = CellInput::OneHot {
        ids: &ids,
        len: t,
        batch: b,
    };
    let mut looked_up = LayersOutput::empty();
    layers.forward_ws(input, &[], &mut ws, &mut looked_up).unwrap();
    assert_eq!(out, looked_up.out);
    assert_eq!(states, looked_up.states);

    let trace = layers.forward_train(xs.view(), &[]).unwrap();
    let (grads, d_xs, d_init) = layers.backward(&trace, d_out.view(), &[]).unwrap();
    // Twice through the same workspace and trace: the second pass reuses the first's memory.
    let mut ids_trace = LayersTrace::empty();
    let mut ids_input_grads = LayersInputGrads::empty();
    for _ in 0..2 {
        layers.forward_train_ws(input, &[], &mut ws, &mut ids_trace).unwrap();
        assert_eq!(trace.out, ids_trace.out);
        let mut ids_grads = layers.zeros_like();
        layers
            .backward_ws(
                &ids_trace,
                d_out.view(),
                &[],
                &mut ids_grads,
                &mut ws,
                &mut ids_input_grads,
            )
            .unwrap();
        let (ids_dxs, ids_init) = (&ids_input_grads.d_xs, &ids_input_grads.d_init);
        for ((name, a), (_, e)) in ids_grads.named_params().iter().zip(grads.named_params().iter()) {
            assert_close(&format!("d{name}"), a.as_slice().unwrap(), e.as_slice().unwrap());
        }
        assert_eq!(&d_init, ids_init);
        assert_eq!(d_xs.dim(), (t, b, v));
        assert_eq!(ids_dxs.dim(), (0, 0, 0));
    }
}

#[test]
fn ids_outside_the_vocabulary_are_an_error() {
    let mut r = common::rng(9);
    let cell = Lstm::<f64>::new(LstmDims { i: 4, h: 3 }, &mut r);
    let mut ws = Workspace::new();
    let mut forward = |ids: &[usize]| {
        cell.forward_input_ws(
            CellInput::OneHot { ids, len: 1, batch: 2 },
            &[],
            &mut ws,
            &mut Forward::empty(),
        )
        .unwrap_err()
    };
    let err = forward(&[0, 4]);
    assert!(matches!(err, RnnError::Invalid(_)), "{err}");
    let err = forward(&[0]);
    assert!(matches!(err, RnnError::Shape { .. }), "{err}");
}
