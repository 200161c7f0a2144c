//! Shared helpers for the integration tests: random data, finite-difference
//! gradcheck, and the largest difference between two runs.
#![allow(dead_code)]

pub mod cells;
pub mod packed;

use ndarray::{Array2, Array3, ArrayD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rnn::Cell;

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn uniform3(rng: &mut StdRng, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| rng.random_range(-1.0..1.0))
}

pub fn uniform2(rng: &mut StdRng, shape: (usize, usize)) -> Array2<f64> {
    Array2::from_shape_fn(shape, |_| rng.random_range(-1.0..1.0))
}

/// Random inputs, initial states and upstream gradients for a cell.
pub struct Case {
    pub xs: Array3<f64>,
    pub init: Vec<Array2<f64>>,
    pub d_out: Array3<f64>,
    pub d_final: Vec<Array2<f64>>,
}

pub fn case<C: Cell<f64>>(cell: &C, t: usize, b: usize, seed: u64) -> Case {
    let mut r = rng(seed);
    let xs = uniform3(&mut r, (t, b, cell.input_size()));
    let init = cell.state_sizes().iter().map(|&w| uniform2(&mut r, (b, w))).collect();
    let d_out = uniform3(&mut r, (t, b, cell.output_size()));
    let d_final = cell.state_sizes().iter().map(|&w| uniform2(&mut r, (b, w))).collect();
    Case {
        xs,
        init,
        d_out,
        d_final,
    }
}

/// `L = Σ out·G + Σ_k final_k·Gk`, the loss the fixtures use.
pub fn loss<C: Cell<f64>>(cell: &C, c: &Case) -> f64 {
    let f = cell.forward(c.xs.view(), &c.init).expect("forward");
    let mut l = (&f.outputs * &c.d_out).sum();
    for (s, g) in f.states.iter().zip(&c.d_final) {
        l += (s * g).sum();
    }
    l
}

/// Largest scaled error `|a - n| / (1e-4 + |n| + max|n| of the tensor)` over
/// every parameter, input and initial-state entry, comparing BPTT `a` with
/// central finite differences `n`.
pub fn gradcheck<C: Cell<f64>>(cell: &C, t: usize, b: usize, seed: u64) -> f64 {
    let c = case(cell, t, b, seed);
    let trace = cell.forward_train(c.xs.view(), &c.init).expect("forward_train");
    let inference = cell.forward(c.xs.view(), &c.init).expect("forward");
    assert_eq!(
        trace.outputs, inference.outputs,
        "training and inference forward differ"
    );
    let (grads, input) = cell.backward(&trace, c.d_out.view(), &c.d_final).expect("backward");
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    let mut check = |analytic: &[f64], numeric: &[f64]| {
        let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, n) in analytic.iter().zip(numeric) {
            // The 1e-4 floor: finite differences of an O(1) loss carry ~1e-10 of
            // rounding, which is all a tensor of tiny gradients would show.
            worst = worst.max((a - n).abs() / (1e-4 + n.abs() + scale));
        }
    };
    let n_params = cell.params().len();
    for p in 0..n_params {
        let len = cell.params()[p].1.len();
        let mut numeric = Vec::with_capacity(len);
        for i in 0..len {
            let bump = |delta: f64| {
                let mut c2 = cell.clone();
                {
                    let mut ps = c2.params_mut();
                    let v = ps[p].1.as_slice_mut().expect("contiguous");
                    v[i] += delta;
                }
                loss(&c2, &c)
            };
            numeric.push((bump(eps) - bump(-eps)) / (2.0 * eps));
        }
        let analytic: Vec<f64> = grads.params()[p].1.iter().copied().collect();
        check(&analytic, &numeric);
    }
    // Inputs.
    let mut numeric = Vec::new();
    for i in 0..c.xs.len() {
        let bump = |delta: f64| {
            let mut c2 = Case {
                xs: c.xs.clone(),
                init: c.init.clone(),
                d_out: c.d_out.clone(),
                d_final: c.d_final.clone(),
            };
            c2.xs.as_slice_mut().expect("contiguous")[i] += delta;
            loss(cell, &c2)
        };
        numeric.push((bump(eps) - bump(-eps)) / (2.0 * eps));
    }
    check(input.d_xs.as_slice().expect("contiguous"), &numeric);
    // Initial states.
    for k in 0..c.init.len() {
        let mut numeric = Vec::new();
        for i in 0..c.init[k].len() {
            let bump = |delta: f64| {
                let mut c2 = Case {
                    xs: c.xs.clone(),
                    init: c.init.clone(),
                    d_out: c.d_out.clone(),
                    d_final: c.d_final.clone(),
                };
                c2.init[k].as_slice_mut().expect("contiguous")[i] += delta;
                loss(cell, &c2)
            };
            numeric.push((bump(eps) - bump(-eps)) / (2.0 * eps));
        }
        check(input.d_init[k].as_slice().expect("contiguous"), &numeric);
    }
    worst
}

/// Largest `|a - b| / (1 + |b|)` over two lists of tensors.
pub fn max_diff(a: impl IntoIterator<Item = ArrayD<f64>>, b: impl IntoIterator<Item = ArrayD<f64>>) -> f64 {
    let mut worst: f64 = 0.0;
    for (x, y) in a.into_iter().zip(b) {
        assert_eq!(x.shape(), y.shape());
        for (p, q) in x.iter().zip(y.iter()) {
            worst = worst.max((p - q).abs() / (1.0 + q.abs()));
        }
    }
    worst
}
