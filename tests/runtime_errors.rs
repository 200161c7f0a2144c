//! Wrong shapes at run time are a typed `Err` naming the tensor, never a panic.

use ndarray::{Array2, Array3};
use rnn::prelude::*;

fn lstm() -> Lstm<f64> {
    Lstm::new(LstmDims { i: 3, h: 4 }, &mut rnn::seeded_rng(0))
}

fn shape_err(e: RnnError, what: &str) {
    match e {
        RnnError::Shape { what: w, .. } => assert!(w.contains(what), "error names {w:?}, expected {what:?}"),
        other => panic!("expected a shape error for {what}, got {other}"),
    }
}

#[test]
fn wrong_input_width() {
    let e = lstm().forward(Array3::zeros((5, 2, 7)).view(), &[]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("[5, 2, 3]") && msg.contains("[5, 2, 7]"), "{msg}");
    shape_err(e, "xs");
}

#[test]
fn wrong_state_batch_and_count() {
    let cell = lstm();
    let xs = Array3::zeros((5, 2, 3));
    let bad_batch = vec![Array2::zeros((3, 4)), Array2::zeros((2, 4))];
    shape_err(cell.forward(xs.view(), &bad_batch).unwrap_err(), "init[0]");
    let one_state = vec![Array2::zeros((2, 4))];
    shape_err(
        cell.forward_train(xs.view(), &one_state).unwrap_err(),
        "number of states",
    );
    let mut state = vec![Array2::zeros((2, 4))];
    shape_err(
        cell.step(Array2::zeros((2, 3)).view(), &mut state).unwrap_err(),
        "number of states",
    );
}

#[test]
fn wrong_gradient_shapes() {
    let cell = lstm();
    let xs = Array3::zeros((5, 2, 3));
    let trace = cell.forward_train(xs.view(), &[]).unwrap();
    shape_err(
        cell.backward(&trace, Array3::zeros((5, 2, 5)).view(), &[]).unwrap_err(),
        "d_out",
    );
    let bad = vec![Array2::zeros((2, 4)), Array2::zeros((2, 5))];
    shape_err(
        cell.backward(&trace, Array3::zeros((5, 2, 4)).view(), &bad)
            .unwrap_err(),
        "d_final[1]",
    );
}

#[test]
fn trace_of_another_cell_is_rejected() {
    let gru = Gru::<f64>::new(GruDims { i: 3, h: 4 }, &mut rnn::seeded_rng(0));
    let trace = gru.forward_train(Array3::zeros((5, 2, 3)).view(), &[]).unwrap();
    let e = lstm()
        .backward(&trace, Array3::zeros((5, 2, 4)).view(), &[])
        .unwrap_err();
    assert!(matches!(e, RnnError::Invalid(_)), "{e}");
}

#[test]
fn empty_sequence_and_streaming_step() {
    let cell = lstm();
    let f = cell.forward(Array3::zeros((0, 2, 3)).view(), &[]).unwrap();
    assert_eq!(f.outputs.shape(), &[0, 2, 4]);
    // Streaming one step at a time equals the sequence forward.
    let xs = Array3::from_shape_fn((4, 2, 3), |(t, b, i)| (t as f64 - b as f64 + i as f64 * 0.3).sin());
    let whole = cell.forward(xs.view(), &[]).unwrap();
    let mut state = cell.zero_state(2);
    for t in 0..4 {
        let y = cell.step(xs.index_axis(ndarray::Axis(0), t), &mut state).unwrap();
        assert_eq!(y, whole.outputs.index_axis(ndarray::Axis(0), t));
    }
    assert_eq!(state, whole.states);
    let named = LstmState::from_vec(state).expect("two states");
    assert_eq!(named.c, whole.states[1]);
    assert_eq!(named.into_vec(), whole.states);
    assert!(LstmState::<f64>::from_vec(vec![]).is_none());
}
