//! Stacked bidirectional layers of the shipped cells: BPTT through two
//! layers and both directions against central finite differences in f64.

mod common;

use ndarray::Array3;
use rnn::prelude::*;
use rnn::runtime::Layers;

fn check<C: Cell<f64>>(layers: &Layers<f64, C>, t: usize, b: usize, seed: u64) -> f64 {
    let mut r = common::rng(seed);
    let xs = common::uniform3(&mut r, (t, b, layers.input_size()));
    let dirs = layers.num_directions() * layers.num_layers();
    let init: Vec<Array3<f64>> = layers
        .state_sizes()
        .iter()
        .map(|&w| common::uniform3(&mut r, (dirs, b, w)))
        .collect();
    let g = common::uniform3(&mut r, (t, b, layers.output_size()));
    let gs: Vec<Array3<f64>> = layers
        .state_sizes()
        .iter()
        .map(|&w| common::uniform3(&mut r, (dirs, b, w)))
        .collect();
    let loss = |l: &Layers<f64, C>, xs: &Array3<f64>| {
        let (out, states) = l.forward(xs.view(), &init).unwrap();
        (&out * &g).sum() + states.iter().zip(&gs).map(|(s, g)| (s * g).sum()).sum::<f64>()
    };
    let trace = layers.forward_train(xs.view(), &init).unwrap();
    let (grads, d_xs, _) = layers.backward(&trace, g.view(), &gs).unwrap();
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    let named = grads.named_params();
    for (p, (name, analytic)) in named.iter().enumerate() {
        let scale = analytic.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..analytic.len() {
            let bump = |d: f64| {
                let mut l2 = layers.clone();
                l2.named_params_mut()[p].1.as_slice_mut().unwrap()[i] += d;
                loss(&l2, &xs)
            };
            let n = (bump(eps) - bump(-eps)) / (2.0 * eps);
            let a = analytic.as_slice().unwrap()[i];
            let e = (a - n).abs() / (1e-4 + n.abs() + scale);
            assert!(e < 1e-6, "{name}[{i}]: bptt {a} vs finite difference {n}");
            worst = worst.max(e);
        }
    }
    for i in 0..xs.len() {
        let bump = |d: f64| {
            let mut x2 = xs.clone();
            x2.as_slice_mut().unwrap()[i] += d;
            loss(layers, &x2)
        };
        let n = (bump(eps) - bump(-eps)) / (2.0 * eps);
        let a = d_xs.as_slice().unwrap()[i];
        worst = worst.max((a - n).abs() / (1e-4 + n.abs()));
    }
    worst
}

#[test]
fn two_layer_bidirectional_lstm_and_gru() {
    let mut r = rnn::seeded_rng(3);
    let lstm = Layers::<f64, Lstm<f64>>::new(LstmDims { i: 3, h: 4 }, 2, true, &mut r).unwrap();
    let e = check(&lstm, 4, 2, 1);
    assert!(e < 1e-6, "lstm layers {e:e}");
    let gru = Layers::<f64, Gru<f64>>::new(GruDims { i: 3, h: 4 }, 2, true, &mut r).unwrap();
    let e = check(&gru, 4, 2, 2);
    assert!(e < 1e-6, "gru layers {e:e}");
    assert_eq!(gru.named_params()[4].0, "weight_ih_l0_reverse");
}
