//! `SeqModel` over sequences of different lengths, with the shipped cells:
//! gradients against central differences (per-step and pooled heads,
//! dropout on the input, between layers and before the head with replayed
//! masks, learned initial states), and every sequence's outputs and loss
//! against running that sequence alone.

use ndarray::{Array2, Array3, Axis, s};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rnn::cells::{Gru, GruDims, Lstm, LstmDims};
use rnn::runtime::model::{Activation, Dropout, Encoding, LossKind, Pooling};
use rnn::{Cell, SeqInput, SeqModel, SeqModelConfig, SeqTarget};

const T: usize = 4;
const LENGTHS: [usize; 3] = [4, 1, 3];

fn uniform3(rng: &mut StdRng, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| rng.random_range(-1.0..1.0))
}

/// Checks every parameter's gradient against central differences of the
/// loss, replaying dropout pass `pass` before each evaluation.
fn gradcheck<C: Cell<f64>>(
    what: &str,
    model: &SeqModel<f64, C>,
    loss: &dyn Fn(&SeqModel<f64, C>) -> f64,
    grads: &SeqModel<f64, C>,
    pass: u64,
) {
    let seed = model.dropout_state().0;
    let eps = 1e-6;
    let analytic = grads.named_params();
    for (p, (name, g)) in analytic.iter().enumerate() {
        // Every entry of small tensors, a spread of the larger ones.
        let step = (g.len() / 24).max(1);
        for k in (0..g.len()).step_by(step) {
            let at = |d: f64| {
                let mut m = model.clone();
                *m.named_params_mut()[p].1.iter_mut().nth(k).unwrap() += d;
                m.set_dropout_state(seed, pass);
                loss(&m)
            };
            let num = (at(eps) - at(-eps)) / (2.0 * eps);
            let ana = *g.iter().nth(k).unwrap();
            assert!(
                (num - ana).abs() <= 1e-7 * (1.0 + num.abs()),
                "{what} {name}[{k}]: numeric {num} vs analytic {ana}"
            );
        }
    }
}

fn check_model<C: Cell<f64>>(dims: C::Dims, name: &str, rng: &mut StdRng) {
    let b = LENGTHS.len();
    let ids: Vec<usize> = (0..T * b).map(|_| rng.random_range(0..5)).collect();
    let xs = uniform3(rng, (T, b, 3));
    let classes: Vec<usize> = (0..T * b).map(|_| rng.random_range(0..3)).collect();
    let values = Array3::from_shape_fn((T, b, 3), |_| rng.random::<f64>());
    let seq_classes: Vec<usize> = (0..b).map(|j| j % 3).collect();
    let seq_values = Array2::from_shape_fn((b, 3), |(i, j)| ((i + j) % 2) as f64);
    let heads = [
        (Activation::Softmax, LossKind::CrossEntropy),
        (Activation::Identity, LossKind::Mse),
        (Activation::Sigmoid, LossKind::BinaryCrossEntropy),
    ];
    for (e, enc) in [
        Encoding::OneHot { vocab: 5 },
        Encoding::Embedding { vocab: 5, dim: 3 },
        Encoding::Dense { width: 3 },
    ]
    .into_iter()
    .enumerate()
    {
        for (h, &(act, loss)) in heads.iter().enumerate() {
            for pooling in [Pooling::Steps, Pooling::Last, Pooling::Mean] {
                let bidir = (e + h) % 2 == 0;
                let dropout = Dropout {
                    input: if enc.is_tokens() && e == 0 { 0.0 } else { 0.2 },
                    layers: 0.3,
                    head: 0.2,
                };
                let config = SeqModelConfig::new(enc, 3, act, loss)
                    .layers(2)
                    .bidirectional(bidir)
                    .pooling(pooling)
                    .dropout(dropout)
                    .learn_init(true);
                let mut model = SeqModel::<f64, C>::new(dims, config, rng).unwrap();
                for a in model.initial_states_mut() {
                    a.mapv_inplace(|_| 0.5 * (rng.random::<f64>() - 0.5));
                }
                let input = if enc.is_tokens() {
                    SeqInput::tokens(&ids, T, b)
                } else {
                    SeqInput::values(xs.view())
                }
                .with_lengths(&LENGTHS);
                let target = match (pooling.per_sequence(), loss) {
                    (false, LossKind::CrossEntropy) => SeqTarget::Classes(&classes),
                    (false, _) => SeqTarget::Values(values.view()),
                    (true, LossKind::CrossEntropy) => SeqTarget::Classes(&seq_classes),
                    (true, _) => SeqTarget::Sequences(seq_values.view()),
                };
                let seed = model.dropout_state().0;
                model.set_dropout_state(seed, 3);
                let (outcome, grads) = model.loss_and_grad(&input, &target, None, &[]).unwrap();
                let what = format!("{name} {} {act:?}+{loss:?} {pooling:?} bi={bidir}", enc.name());
                gradcheck(
                    &what,
                    &model,
                    &|m| m.loss(&input, &target, None, &[]).unwrap(),
                    &grads,
                    3,
                );
                // Per step, padding does not count.
                if !pooling.per_sequence() {
                    assert_eq!(outcome.count, LENGTHS.iter().sum::<usize>(), "{what}");
                }
            }
        }
    }
}

#[test]
fn gradients_with_lengths_dropout_and_learned_states_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(21);
    check_model::<Lstm<f64>>(LstmDims { i: 0, h: 3 }, "lstm", &mut rng);
    check_model::<Gru<f64>>(GruDims { i: 0, h: 3 }, "gru", &mut rng);
}

#[test]
fn each_sequence_is_what_it_would_be_alone() {
    let mut rng = StdRng::seed_from_u64(22);
    let b = LENGTHS.len();
    for pooling in [Pooling::Steps, Pooling::Last, Pooling::Mean] {
        let config = SeqModelConfig::regression(3, 2)
            .layers(2)
            .bidirectional(true)
            .pooling(pooling);
        let model = SeqModel::<f64, Lstm<f64>>::new(LstmDims { i: 0, h: 4 }, config, &mut rng).unwrap();
        let mut xs = uniform3(&mut rng, (T, b, 3));
        let input = SeqInput::values(xs.view()).with_lengths(&LENGTHS);
        let (y, states) = model.forward(&input, &[]).unwrap();
        for (j, &n) in LENGTHS.iter().enumerate() {
            let alone = xs.slice(s![..n, j..j + 1, ..]).to_owned();
            let (ya, sa) = model.forward(&SeqInput::values(alone.view()), &[]).unwrap();
            let got = if pooling.per_sequence() {
                y.slice(s![.., j..j + 1, ..]).to_owned()
            } else {
                y.slice(s![..n, j..j + 1, ..]).to_owned()
            };
            for (a, e) in got.iter().zip(ya.iter()) {
                assert!((a - e).abs() < 1e-12, "{pooling:?} sequence {j}: {a} vs {e}");
            }
            for (s_all, s_one) in states.iter().zip(&sa) {
                let a = s_all.index_axis(Axis(1), j);
                let e = s_one.index_axis(Axis(1), 0);
                for (a, e) in a.iter().zip(e.iter()) {
                    assert!((a - e).abs() < 1e-12, "{pooling:?} final state of {j}");
                }
            }
        }
        // Padding is never read: changing it changes nothing.
        let before = model.forward(&input, &[]).unwrap().0;
        xs.slice_mut(s![1.., 1, ..]).fill(7.0);
        let input = SeqInput::values(xs.view()).with_lengths(&LENGTHS);
        let after = model.forward(&input, &[]).unwrap().0;
        if pooling.per_sequence() {
            assert_eq!(before, after, "{pooling:?}");
        } else {
            assert_eq!(before.slice(s![..1, 1, ..]), after.slice(s![..1, 1, ..]));
        }
    }
}

#[test]
fn bad_lengths_are_errors() {
    let config = SeqModelConfig::regression(3, 2);
    let model = SeqModel::<f64, Gru<f64>>::new(GruDims { i: 0, h: 2 }, config, &mut StdRng::seed_from_u64(1)).unwrap();
    let xs = Array3::zeros((4, 2, 3));
    let ys = Array3::zeros((4, 2, 2));
    let target = SeqTarget::Values(ys.view());
    for lengths in [&[1usize][..], &[1, 5], &[1, 2, 3]] {
        let input = SeqInput::values(xs.view()).with_lengths(lengths);
        assert!(model.loss(&input, &target, None, &[]).is_err(), "{lengths:?}");
    }
    let pooled = SeqModel::<f64, Gru<f64>>::new(
        GruDims { i: 0, h: 2 },
        config.pooling(Pooling::Last),
        &mut StdRng::seed_from_u64(1),
    )
    .unwrap();
    let input = SeqInput::values(xs.view()).with_lengths(&[0, 4]);
    assert!(
        pooled.forward(&input, &[]).is_err(),
        "an empty sequence has no last step"
    );
}
