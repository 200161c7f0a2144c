//! The example programs' tasks, in their quick configurations, learn: each
//! test trains from scratch and checks the result against a threshold with
//! margin (checked over several seeds), and prints the report and the time.
//!
//! ```text
//! cargo test --test examples_learn -- --nocapture
//! ```

use rnn_examples::tasks::{
    CellKind, brackets, custom_cell, running_sum, sentence_completion, sine, vanishing_gradients,
};
use std::time::Instant;

/// The seed the tests use; `RNN_TEST_SEED` overrides it (for checking margins).
fn seed() -> u64 {
    std::env::var("RNN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Runs `f`, printing its report and wall time.
fn timed<R: std::fmt::Display>(name: &str, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let report = f();
    println!("{report}\n[{name}: {:.2} s]\n", start.elapsed().as_secs_f64());
    report
}

#[test]
fn running_sum_learns_the_carry_and_generalises_to_longer_numbers() {
    let config = running_sum::Config {
        seed: seed(),
        ..running_sum::Config::quick()
    };
    let report = timed("running_sum", || running_sum::run(&config).unwrap());
    assert!(
        report.final_loss < 0.3 * report.initial_loss,
        "loss {} -> {}",
        report.initial_loss,
        report.final_loss
    );
    let long = report.score(16).unwrap();
    assert!(long.bit_accuracy > 0.95, "16-bit bit accuracy {}", long.bit_accuracy);
    assert!(
        long.number_accuracy > 0.5,
        "16-bit number accuracy {}",
        long.number_accuracy
    );
}

#[test]
fn sentence_completion_answers_held_out_dishes_above_chance() {
    let config = sentence_completion::Config {
        seed: seed(),
        ..sentence_completion::Config::quick()
    };
    let report = timed("sentence_completion", || sentence_completion::run(&config).unwrap());
    assert!(
        report.final_loss < 0.5 * report.initial_loss,
        "loss {} -> {}",
        report.initial_loss,
        report.final_loss
    );
    assert!(
        report.test.accuracy > 5.0 * report.chance,
        "held-out accuracy {} vs chance {}",
        report.test.accuracy,
        report.chance
    );
    assert!(
        report.seen.accuracy > 0.9,
        "training-dish accuracy {}",
        report.seen.accuracy
    );
}

#[test]
fn vanishing_gradients_reach_further_through_gates() {
    let config = vanishing_gradients::Config {
        seed: seed(),
        ..vanishing_gradients::Config::quick()
    };
    let longest = *config.lengths.iter().max().unwrap();
    let report = timed("vanishing_gradients", || vanishing_gradients::run(&config).unwrap());
    let row = |cell, len| report.row(cell, len).unwrap();
    let base = |len| report.baseline(len);
    // The gradient reaching the first step: vanished for the vanilla RNN,
    // alive through the LSTM's forget gate (at initialisation, before any
    // training could change either).
    let (lstm, rnn) = (row(CellKind::Lstm, longest), row(CellKind::Rnn, longest));
    assert!(
        lstm.run.probe_init.first > 100.0 * rnn.run.probe_init.first,
        "first-step gradient at init, T = {longest}: lstm {} vs rnn {}",
        lstm.run.probe_init.first,
        rnn.run.probe_init.first
    );
    // At the shortest length the gated cells learn the task.
    let shortest = *config.lengths.iter().min().unwrap();
    for cell in [CellKind::Gru, CellKind::Lstm] {
        let mse = row(cell, shortest).run.score.mse;
        assert!(mse < 0.25 * base(shortest), "{cell} at T = {shortest}: test MSE {mse}");
    }
    // At the longest, the GRU learns and the vanilla RNN does not.
    let gru = row(CellKind::Gru, longest).run.score.mse;
    assert!(gru < 0.25 * base(longest), "gru at T = {longest}: test MSE {gru}");
    assert!(
        rnn.run.score.mse > 0.7 * base(longest),
        "rnn at T = {longest}: test MSE {} vs baseline {}",
        rnn.run.score.mse,
        base(longest)
    );
}

#[test]
fn custom_cell_trains_and_shows_its_code() {
    let config = custom_cell::Config {
        seed: seed(),
        ..custom_cell::Config::quick()
    };
    let report = timed("custom_cell", || custom_cell::run(&config).unwrap());
    let (first, last) = report.mgu.loss_ends();
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    assert!(
        report.mgu.score.mse < 0.25 * report.baseline,
        "test MSE {} vs baseline {}",
        report.mgu.score.mse,
        report.baseline
    );
    assert!(report.source.contains("pub struct Mgu"));
    assert!(report.functions().iter().any(|(_, f)| *f == "backward_ws"));
}

#[test]
fn sine_predicts_one_step_and_runs_free() {
    let config = sine::Config {
        seed: seed(),
        ..sine::Config::quick()
    };
    let report = timed("sine", || sine::run(&config).unwrap());
    assert!(
        report.final_loss < 0.5 * report.initial_loss,
        "loss {} -> {}",
        report.initial_loss,
        report.final_loss
    );
    let s = &report.score;
    assert!(
        s.teacher_forced < 0.25 * s.last_value,
        "one-step MSE {} vs repeating the last value {}",
        s.teacher_forced,
        s.last_value
    );
    assert!(
        s.free_running_early < 0.2 * s.zero,
        "free-running MSE {} vs predicting 0 {}",
        s.free_running_early,
        s.zero
    );
    let dir = std::env::temp_dir().join(format!("rnn-examples-learn-{}", std::process::id()));
    let path = dir.join("sine.svg");
    sine::write_plot(&report, &path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("free-running") && svg.contains("teacher-forced"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn brackets_are_classified_whatever_the_padding() {
    let config = brackets::Config {
        seed: seed(),
        ..brackets::Config::quick()
    };
    let report = timed("brackets", || brackets::run(&config).unwrap());
    let [with, without] = &report.scores;
    // The model that knows the lengths learns the task and never reads
    // padding: more of it changes no prediction.
    assert!(with.accuracy >= 0.95, "with lengths: {}", with.accuracy);
    assert!(with.padding_invariant);
    assert!(with.loss.1 < 0.2 * with.loss.0, "loss {:?}", with.loss);
    // The padded model is trained and scored on the same data; given one
    // string alone, without the padding it was trained with, it does worse.
    assert!(without.accuracy > 0.5 && !without.padding_invariant);
    assert!(
        with.accuracy_unpadded > without.accuracy_unpadded,
        "unpadded: {} with lengths, {} without",
        with.accuracy_unpadded,
        without.accuracy_unpadded
    );
}

#[test]
fn same_seed_same_report() {
    let config = running_sum::Config {
        steps: 20,
        test_bits: vec![8],
        test_size: 20,
        ..running_sum::Config::quick()
    };
    let a = running_sum::run(&config).unwrap();
    let b = running_sum::run(&config).unwrap();
    assert_eq!(a.losses, b.losses);
    assert_eq!(a.scores, b.scores);
}
