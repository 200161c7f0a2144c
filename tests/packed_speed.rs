//! Timing, not a check (ignored by default): a training step over a batch
//! of sequences of different lengths against the same batch at full
//! length, for the shipped cells on the small and medium sizes of the
//! benchmark workload. The lengths are uniform in `1..=T` (a fixed draw),
//! so the packed batch has about half the rows and should take about half
//! the time. Run on one pinned core:
//!
//! ```text
//! taskset -c 0 cargo test --release --test packed_speed -- --ignored --nocapture
//! ```

use ndarray::Array3;
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnTanh, RnnTanhDims};
use rnn::runtime::{BatchSizes, Cell, CellInput, Layers, LayersInputGrads, LayersTrace, Scratch, Workspace};
use std::time::Instant;

/// Deterministic values in `[-1, 1]`, different for each `seed`.
fn wave(shape: (usize, usize, usize), seed: f32) -> Array3<f32> {
    let mut k = 0.0_f32;
    Array3::from_shape_simple_fn(shape, || {
        k += 1.0;
        (k * 0.37 + seed).sin()
    })
}

/// `b` lengths uniform in `1..=t` (a fixed pseudo-random draw, unsorted).
fn lengths(t: usize, b: usize) -> Vec<usize> {
    let mut x = 2024u64;
    (0..b)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            1 + (x >> 33) as usize % t
        })
        .collect()
}

/// Median and minimum of `reps` timings (ms) of `step`, after 3 warm-ups.
fn time(reps: usize, mut step: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        step();
    }
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            step();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

/// Full and packed training steps of one cell, through a `Scratch`.
fn cell_steps<C: Cell<f32>>(cell: &C, t: usize, b: usize, reps: usize) -> [(f64, f64); 2] {
    let (i, h) = (cell.input_size(), cell.output_size());
    let xs = wave((t, b, i), 0.0);
    let d_out = wave((t, b, h), 1.0);
    let mut lens = lengths(t, b);
    lens.sort_by(|x, y| y.cmp(x));
    let sizes: Vec<usize> = (0..lens[0]).map(|s| lens.iter().filter(|&&l| l > s).count()).collect();
    let rows: usize = sizes.iter().sum();
    let pxs = wave((rows, 1, i), 0.0);
    let pd_out = wave((rows, 1, h), 1.0);
    let bs = BatchSizes::new(&sizes, b).unwrap();
    let mut s = Scratch::new(cell.dims());
    let full = time(reps, || {
        s.train_step(cell, CellInput::Values(xs.view()), &[], d_out.view(), &[])
            .unwrap()
    });
    let packed = time(reps, || {
        s.train_step_packed(cell, CellInput::Values(pxs.view()), bs, &[], pd_out.view(), &[])
            .unwrap()
    });
    [full, packed]
}

/// Full and variable-length training steps of bidirectional layers
/// (sorting, packing and unpacking included).
fn layers_steps<C: Cell<f32>>(layers: &Layers<f32, C>, t: usize, b: usize, reps: usize) -> [(f64, f64); 2] {
    let xs = wave((t, b, layers.input_size()), 0.0);
    let d_out = wave((t, b, layers.output_size()), 1.0);
    let lens = lengths(t, b);
    let mut ws = Workspace::new();
    let mut trace = LayersTrace::empty();
    let mut ig = LayersInputGrads::empty();
    let mut grads = layers.zeros_like();
    let mut step = |lengths: Option<&[usize]>| {
        grads.fill_zero();
        layers
            .forward_train_ws_with_lengths(CellInput::Values(xs.view()), lengths, &[], &mut ws, &mut trace)
            .unwrap();
        layers
            .backward_ws(&trace, d_out.view(), &[], &mut grads, &mut ws, &mut ig)
            .unwrap();
    };
    let full = time(reps, || step(None));
    let packed = time(reps, || step(Some(&lens)));
    [full, packed]
}

fn report(what: &str, t: usize, b: usize, [full, packed]: [(f64, f64); 2]) {
    let lens = lengths(t, b);
    let mean = lens.iter().sum::<usize>() as f64 / (t * b) as f64;
    println!(
        "{what:<28} full {:>8.3} ms (min {:>8.3})  lengths {:>8.3} ms (min {:>8.3})  ratio {:.3} (min {:.3}); rows {:.3} of full",
        full.0,
        full.1,
        packed.0,
        packed.1,
        packed.0 / full.0,
        packed.1 / full.1,
        mean
    );
}

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn variable_length_steps_cost_their_rows() {
    rnn::runtime::gemm::set_threads(1).unwrap();
    let mut rng = rnn::seeded_rng(0);
    for (name, t, b, i, h, reps) in [("small", 64, 32, 64, 128, 41), ("medium", 64, 32, 256, 256, 15)] {
        let lstm = Lstm::<f32>::new(LstmDims { i, h }, &mut rng);
        report(&format!("LSTM {name}"), t, b, cell_steps(&lstm, t, b, reps));
        let gru = Gru::<f32>::new(GruDims { i, h }, &mut rng);
        report(&format!("GRU {name}"), t, b, cell_steps(&gru, t, b, reps));
        let rnn = RnnTanh::<f32>::new(RnnTanhDims { i, h }, &mut rng);
        report(&format!("RNN tanh {name}"), t, b, cell_steps(&rnn, t, b, reps));
        let layers = Layers::<f32, Lstm<f32>>::new(LstmDims { i, h }, 2, true, &mut rng).unwrap();
        report(
            &format!("LSTM x2 bidir layers {name}"),
            t,
            b,
            layers_steps(&layers, t, b, reps.div_ceil(4)),
        );
    }
}
