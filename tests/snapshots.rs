//! insta snapshots of the emitted source of every shipped cell and of two
//! custom cells, so a change in generated code is seen and reviewed.
//! CI never writes snapshots (`INSTA_UPDATE=no`).

mod common;

use common::cells::*;
use rnn::prelude::*;

#[test]
fn emitted_source() {
    insta::assert_snapshot!("lstm_source", Lstm::<f32>::SOURCE);
    insta::assert_snapshot!("gru_source", Gru::<f32>::SOURCE);
    insta::assert_snapshot!("rnn_tanh_source", RnnTanh::<f32>::SOURCE);
    insta::assert_snapshot!("rnn_relu_source", RnnRelu::<f32>::SOURCE);
    insta::assert_snapshot!("layer_norm_lstm_source", LayerNormLstm::<f32>::SOURCE);
    insta::assert_snapshot!("layer_norm_gru_source", LayerNormGru::<f32>::SOURCE);
    insta::assert_snapshot!("mgu_source", Mgu::<f32>::SOURCE);
    insta::assert_snapshot!("elman_source", Elman::<f32>::SOURCE);
}

#[test]
fn plans_of_custom_cells() {
    insta::assert_snapshot!("mgu_plan", Mgu::<f32>::PLAN);
    insta::assert_snapshot!("elman_plan", Elman::<f32>::PLAN);
    insta::assert_snapshot!("concat_lstm_plan", ConcatLstm::<f32>::PLAN);
}

#[test]
fn transposed_weights_stay_products() {
    // `w.T @ x` is hoisted like any input product; `u.T @ h` runs per step.
    let plan = TransposedRnn::<f32>::PLAN;
    let words = plan.split("# forward flow").next().unwrap();
    assert!(
        words.contains("forward: w.T @ x does not depend on the state"),
        "{words}"
    );
    assert!(words.contains("forward: u.T @ h runs in the loop"), "{words}");
    assert!(words.contains("du.T = sum over steps of"), "{words}");
}

#[test]
fn concat_runs_as_one_product_per_part() {
    // `w @ concat(x, h)`: the input's block before the loop for all steps,
    // the state's in it, as the LSTM's two weights run.
    let plan = ConcatLstm::<f32>::PLAN;
    let words = plan.split("# forward flow").next().unwrap();
    assert!(words.contains("w[:, ..I] @ x"), "{words}");
    assert!(words.contains("w[:, I..I + H] @ h"), "{words}");
    assert!(
        words.contains("forward: w[:, ..I] @ x does not depend on the state"),
        "{words}"
    );
    assert!(
        words.contains("forward: w[:, I..I + H] @ h runs in the loop"),
        "{words}"
    );
    let lstm = Lstm::<f32>::PLAN;
    let count = |p: &str, what: &str| p.matches(what).count();
    assert_eq!(
        count(plan, "before the time loop"),
        count(lstm, "before the time loop"),
        "{plan}"
    );
}

#[test]
fn output_head_runs_after_the_loop() {
    // y = sigmoid(V h + c) feeds no state: forward computes it after the loop
    // for all steps, backward computes dL/dh from it before the loop.
    let plan = Elman::<f32>::PLAN;
    let fwd = plan
        .split("# training forward program")
        .nth(1)
        .unwrap()
        .split("# backward program")
        .next()
        .unwrap();
    assert!(fwd.contains("post: gemm g2"), "{fwd}");
    let bwd = plan.split("# backward program").nth(1).unwrap();
    assert!(bwd.contains("pre: gemmT g2"), "{bwd}");
}

#[test]
fn graphs_are_dot() {
    for dot in [
        Lstm::<f32>::STEP_DOT,
        Lstm::<f32>::UNROLLED_DOT,
        Mgu::<f32>::UNROLLED_DOT,
    ] {
        assert!(dot.starts_with("digraph"));
        assert!(dot.trim_end().ends_with('}'));
    }
    assert!(Lstm::<f32>::UNROLLED_DOT.contains("all steps at once"));
    assert!(Lstm::<f32>::UNROLLED_DOT.contains("saved for BPTT"));
    assert!(Mgu::<f32>::UNROLLED_DOT.contains("stacked g0"));
    assert!(Lstm::<f32>::SHAPES.iter().any(|(_, s)| *s == "[4 * H, I]"));
}
