//! Bad sizes and mismatched traces through the public API are typed
//! `RnnError`s, never panics: every shipped cell (f32 and f64), stacked and
//! bidirectional `Layers`, and `SeqModel`.
//!
//! Each case runs under `catch_unwind`, so that a panic is reported as a
//! failure naming the case (with its message) rather than aborting the
//! test; every case is run and the failures are listed together.
//!
//! Decisions the cases pin down: a sequence of length 0 is valid (empty
//! outputs, the initial state as final state, the final-state gradient as
//! initial-state gradient); a batch of 0 sequences is
//! [`RnnError::Invalid`]; a cell with a size of 0 is
//! [`RnnError::Dimension`] at its first use (and at construction for
//! `Layers` and `SeqModel`).

use ndarray::{Array2, Array3, Axis};
use rnn::cells::{Gru, GruDims, Lstm, LstmDims, RnnRelu, RnnReluDims, RnnTanh, RnnTanhDims};
use rnn::prelude::*;
use rnn::runtime::Layers;
use rnn::runtime::cell::BatchSizes;
use rnn::{CellInput, SeqModelConfig, Workspace};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The error kind a case must end in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Shape,
    Dimension,
    Invalid,
    /// Valid input: the case checks its own result and returns `Ok`.
    Ok,
}

fn kind(e: &RnnError) -> Want {
    match e {
        RnnError::Shape { .. } => Want::Shape,
        RnnError::Dimension(_) => Want::Dimension,
        RnnError::Invalid(_) => Want::Invalid,
        _ => Want::Ok, // never expected by these cases
    }
}

/// Runs the cases, collects every failure (wrong variant, unexpected `Ok`,
/// panic) and fails once with all of them.
#[derive(Default)]
struct Cases {
    failures: Vec<String>,
    log: Vec<String>,
}

impl Cases {
    fn run<T>(&mut self, label: &str, want: Want, f: impl FnOnce() -> Result<T, RnnError>) {
        let got = catch_unwind(AssertUnwindSafe(f));
        let line = match got {
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let line = format!("{label}: PANIC {msg:?}");
                self.failures.push(line.clone());
                line
            }
            Ok(Ok(_)) if want == Want::Ok => format!("{label}: ok"),
            Ok(Ok(_)) => {
                let line = format!("{label}: Ok, expected {want:?}");
                self.failures.push(line.clone());
                line
            }
            Ok(Err(e)) => {
                let line = format!("{label}: {:?}: {e}", kind(&e));
                if kind(&e) != want {
                    self.failures.push(format!("{line} (expected {want:?})"));
                }
                line
            }
        };
        self.log.push(line);
    }

    fn finish(self) {
        // `cargo test -- --nocapture` shows every case and its result.
        for l in &self.log {
            println!("{l}");
        }
        assert!(self.failures.is_empty(), "failing cases:\n{}", self.failures.join("\n"));
    }
}

fn ok_if(cond: bool, what: &str) -> Result<(), RnnError> {
    if cond {
        Ok(())
    } else {
        Err(RnnError::Io {
            path: what.into(),
            source: std::io::Error::other("wrong result"),
        })
    }
}

/// Every per-cell case, for a cell type `C` over `F`. `dims(i, h)` builds
/// the cell's sizes; `other` is a trace of another cell type with the same
/// sizes (or `None` where none is given).
fn cell_cases<F: Float, C: Cell<F> + std::panic::RefUnwindSafe>(
    name: &str,
    dims: impl Fn(usize, usize) -> C::Dims,
    other: Option<Trace<F>>,
    cases: &mut Cases,
) {
    let label = |s: &str| format!("{name}: {s}");
    let mut rng = rnn::seeded_rng(7);
    let (i, h, t, b) = (3, 4, 5, 2);
    let cell = C::new(dims(i, h), &mut rng);
    let o = cell.output_size();
    let ns = cell.state_sizes().len();
    let xs = Array3::<F>::from_elem((t, b, i), F::from_f64c(0.25));
    let zero_state = |batch: usize| cell.zero_state(batch);

    // Batch 0, in every pass.
    cases.run(&label("forward, batch 0"), Want::Invalid, || {
        cell.forward(Array3::zeros((t, 0, i)).view(), &[])
    });
    cases.run(&label("forward, batch 0 and T 0"), Want::Invalid, || {
        cell.forward(Array3::zeros((0, 0, i)).view(), &[])
    });
    cases.run(&label("forward_train, batch 0"), Want::Invalid, || {
        cell.forward_train(Array3::zeros((t, 0, i)).view(), &[])
    });
    cases.run(&label("step, batch 0"), Want::Invalid, || {
        let mut s = zero_state(0);
        cell.step(Array2::zeros((0, i)).view(), &mut s)
    });
    cases.run(&label("forward_input_ws, one-hot batch 0"), Want::Invalid, || {
        let mut out = Forward::empty();
        cell.forward_input_ws(
            CellInput::OneHot {
                ids: &[],
                len: t,
                batch: 0,
            },
            &[],
            &mut Workspace::new(),
            &mut out,
        )
    });
    cases.run(&label("forward_packed, batch 0"), Want::Invalid, || {
        let sizes = BatchSizes::new(&[], 0)?;
        cell.forward_packed(CellInput::Values(Array3::zeros((0, 1, i)).view()), sizes, &[])
    });

    // Input widths.
    cases.run(&label("forward, input width 0"), Want::Shape, || {
        cell.forward(Array3::zeros((t, b, 0)).view(), &[])
    });
    cases.run(&label("forward, input width i+1"), Want::Shape, || {
        cell.forward(Array3::zeros((t, b, i + 1)).view(), &[])
    });
    cases.run(&label("forward_train, input width i-1"), Want::Shape, || {
        cell.forward_train(Array3::zeros((t, b, i - 1)).view(), &[])
    });
    cases.run(&label("step, input width i+1"), Want::Shape, || {
        let mut s = zero_state(b);
        cell.step(Array2::zeros((b, i + 1)).view(), &mut s)
    });
    cases.run(
        &label("forward_input_ws, one-hot id out of range"),
        Want::Invalid,
        || {
            let mut out = Forward::empty();
            let ids = vec![i; t * b];
            cell.forward_input_ws(
                CellInput::OneHot {
                    ids: &ids,
                    len: t,
                    batch: b,
                },
                &[],
                &mut Workspace::new(),
                &mut out,
            )
        },
    );
    cases.run(&label("forward_input_ws, one-hot ids != T*B"), Want::Shape, || {
        let mut out = Forward::empty();
        cell.forward_input_ws(
            CellInput::OneHot {
                ids: &[0, 1],
                len: t,
                batch: b,
            },
            &[],
            &mut Workspace::new(),
            &mut out,
        )
    });
    cases.run(&label("forward_input_ws, one-hot T*B overflows"), Want::Shape, || {
        let mut out = Forward::empty();
        cell.forward_input_ws(
            CellInput::OneHot {
                ids: &[0, 1],
                len: usize::MAX,
                batch: 2,
            },
            &[],
            &mut Workspace::new(),
            &mut out,
        )
    });
    cases.run(&label("forward_packed, rows != sum of sizes"), Want::Shape, || {
        let sizes = BatchSizes::new(&[2, 1], 2)?;
        cell.forward_packed(CellInput::Values(Array3::zeros((4, 1, i)).view()), sizes, &[])
    });

    // Sequence length 0 is valid: empty outputs, the initial state carried.
    let init: Vec<Array2<F>> = cell
        .state_sizes()
        .iter()
        .enumerate()
        .map(|(k, &w)| Array2::from_shape_fn((b, w), |(r, c)| F::from_f64c(0.1 * (k + r + c) as f64)))
        .collect();
    cases.run(&label("forward, T 0"), Want::Ok, || {
        let f = cell.forward(Array3::zeros((0, b, i)).view(), &init)?;
        ok_if(f.outputs.shape() == [0, b, o] && f.states == init, "T 0 forward")
    });
    cases.run(&label("forward_train + backward, T 0"), Want::Ok, || {
        let tr = cell.forward_train(Array3::zeros((0, b, i)).view(), &init)?;
        ok_if(tr.outputs.shape() == [0, b, o] && tr.states == init, "T 0 trace")?;
        let (g, ig) = cell.backward(&tr, Array3::zeros((0, b, o)).view(), &init)?;
        let zero = g.params().iter().all(|(_, p)| p.iter().all(|v| *v == F::zero()));
        ok_if(
            zero && ig.d_xs.shape() == [0, b, i] && ig.d_init == init,
            "T 0 backward",
        )
    });

    // States.
    cases.run(&label("forward, one state too many"), Want::Shape, || {
        let mut s = zero_state(b);
        s.push(Array2::zeros((b, h)));
        cell.forward(xs.view(), &s)
    });
    if ns > 1 {
        cases.run(&label("forward, one state too few"), Want::Shape, || {
            let mut s = zero_state(b);
            s.pop();
            cell.forward(xs.view(), &s)
        });
    }
    cases.run(&label("forward, state of another batch"), Want::Shape, || {
        cell.forward(xs.view(), &zero_state(b + 1))
    });
    cases.run(&label("forward_train, state of another width"), Want::Shape, || {
        let s: Vec<Array2<F>> = cell.state_sizes().iter().map(|&w| Array2::zeros((b, w + 1))).collect();
        cell.forward_train(xs.view(), &s)
    });
    cases.run(&label("step, no states"), Want::Shape, || {
        cell.step(xs.index_axis(Axis(0), 0), &mut [])
    });
    cases.run(&label("step, state of another batch"), Want::Shape, || {
        let mut s = zero_state(b + 1);
        cell.step(xs.index_axis(Axis(0), 0), &mut s)
    });
    cases.run(&label("step, state of another width"), Want::Shape, || {
        let mut s: Vec<Array2<F>> = cell.state_sizes().iter().map(|&w| Array2::zeros((b, w + 2))).collect();
        cell.step(xs.index_axis(Axis(0), 0), &mut s)
    });

    // Upstream gradients and gradient accumulators.
    let trace = cell.forward_train(xs.view(), &[]).expect("valid forward");
    let d_out = Array3::<F>::zeros((t, b, o));
    cases.run(&label("backward, valid"), Want::Ok, || {
        cell.backward(&trace, d_out.view(), &[])
    });
    cases.run(&label("backward, d_out of another width"), Want::Shape, || {
        cell.backward(&trace, Array3::zeros((t, b, o + 1)).view(), &[])
    });
    cases.run(&label("backward, d_out of another length"), Want::Shape, || {
        cell.backward(&trace, Array3::zeros((t + 1, b, o)).view(), &[])
    });
    cases.run(&label("backward, d_final count"), Want::Shape, || {
        cell.backward(&trace, d_out.view(), &vec![Array2::zeros((b, h)); 3])
    });
    cases.run(&label("backward, d_final of another batch"), Want::Shape, || {
        cell.backward(&trace, d_out.view(), &zero_state(b + 1))
    });
    cases.run(
        &label("backward_into, gradient of a bigger cell"),
        Want::Invalid,
        || {
            let mut g = C::zeros(dims(i, h + 1));
            cell.backward_into(&trace, d_out.view(), &[], &mut g)
        },
    );
    cases.run(
        &label("backward_into, gradient of a smaller cell"),
        Want::Invalid,
        || {
            let mut g = C::zeros(dims(i, h - 1));
            cell.backward_into(&trace, d_out.view(), &[], &mut g)
        },
    );
    cases.run(&label("backward, empty trace"), Want::Invalid, || {
        cell.backward(&Trace::empty(), Array3::zeros((0, 0, o)).view(), &[])
    });

    // Traces of other cells.
    for (what, ti, th) in [
        ("bigger hidden size", i, h + 2),
        ("smaller hidden size", i, h - 1),
        ("bigger input size", i + 2, h),
        ("smaller input size", i - 1, h),
    ] {
        cases.run(
            &label(&format!("backward, trace of a cell of {what}")),
            Want::Invalid,
            || {
                let foreign = C::new(dims(ti, th), &mut rnn::seeded_rng(3));
                let tr = foreign.forward_train(Array3::zeros((t, b, ti)).view(), &[])?;
                cell.backward(&tr, Array3::zeros((t, b, o)).view(), &[])
            },
        );
    }
    cases.run(
        &label("backward, trace of a bigger cell with d_out of its width"),
        Want::Invalid,
        || {
            let foreign = C::new(dims(i, h + 2), &mut rnn::seeded_rng(3));
            let tr = foreign.forward_train(Array3::zeros((t, b, i)).view(), &[])?;
            cell.backward(&tr, Array3::zeros((t, b, foreign.output_size())).view(), &[])
        },
    );
    if let Some(tr) = &other {
        cases.run(
            &label("backward, trace of another cell type of the same sizes"),
            Want::Invalid,
            || cell.backward(tr, Array3::zeros((t, b, o)).view(), &[]),
        );
    }
    cases.run(
        &label("backward, trace with its outputs replaced"),
        Want::Invalid,
        || {
            let mut tr = trace.clone();
            tr.outputs = Array3::zeros((t, b, o + 3));
            cell.backward(&tr, Array3::zeros((t, b, o)).view(), &[])
        },
    );
    cases.run(&label("backward, trace with its batch changed"), Want::Invalid, || {
        let mut tr = trace.clone();
        tr.batch = b + 1;
        tr.outputs = Array3::zeros((t, b + 1, o));
        cell.backward(&tr, Array3::zeros((t, b + 1, o)).view(), &[])
    });

    // Sizes of 0.
    for (what, zi, zh) in [("hidden size 0", i, 0), ("input size 0", 0, h)] {
        let z = C::new(dims(zi, zh), &mut rnn::seeded_rng(1));
        cases.run(&label(&format!("forward, cell of {what}")), Want::Dimension, || {
            z.forward(Array3::zeros((t, b, zi)).view(), &[])
        });
        cases.run(
            &label(&format!("forward_train, cell of {what}")),
            Want::Dimension,
            || z.forward_train(Array3::zeros((t, b, zi)).view(), &[]),
        );
        cases.run(&label(&format!("step, cell of {what}")), Want::Dimension, || {
            let mut s = z.zero_state(b);
            z.step(Array2::zeros((b, zi)).view(), &mut s)
        });
        cases.run(
            &label(&format!("backward, cell of {what}, its empty trace")),
            Want::Dimension,
            || z.backward(&Trace::empty(), Array3::zeros((0, 0, z.output_size())).view(), &[]),
        );
        cases.run(
            &label(&format!("backward, cell of {what}, another cell's trace")),
            Want::Dimension,
            || z.backward(&trace, Array3::zeros((t, b, z.output_size())).view(), &[]),
        );
    }
}

macro_rules! cells {
    ($cases:expr, $f:ty, $other_f:ty) => {{
        let tr = |c: &dyn Fn() -> Trace<$f>| Some(c());
        let xs = Array3::<$f>::zeros((5, 2, 3));
        let gru_tr = tr(&|| {
            Gru::<$f>::new(GruDims { i: 3, h: 4 }, &mut rnn::seeded_rng(2))
                .forward_train(xs.view(), &[])
                .unwrap()
        });
        let tanh_tr = tr(&|| {
            RnnTanh::<$f>::new(RnnTanhDims { i: 3, h: 4 }, &mut rnn::seeded_rng(2))
                .forward_train(xs.view(), &[])
                .unwrap()
        });
        let relu_tr = tr(&|| {
            RnnRelu::<$f>::new(RnnReluDims { i: 3, h: 4 }, &mut rnn::seeded_rng(2))
                .forward_train(xs.view(), &[])
                .unwrap()
        });
        let lstm_tr = tr(&|| {
            Lstm::<$f>::new(LstmDims { i: 3, h: 4 }, &mut rnn::seeded_rng(2))
                .forward_train(xs.view(), &[])
                .unwrap()
        });
        let f = stringify!($f);
        cell_cases::<$f, Lstm<$f>>(&format!("Lstm<{f}>"), |i, h| LstmDims { i, h }, gru_tr, $cases);
        cell_cases::<$f, Gru<$f>>(&format!("Gru<{f}>"), |i, h| GruDims { i, h }, lstm_tr, $cases);
        cell_cases::<$f, RnnTanh<$f>>(&format!("RnnTanh<{f}>"), |i, h| RnnTanhDims { i, h }, relu_tr, $cases);
        cell_cases::<$f, RnnRelu<$f>>(&format!("RnnRelu<{f}>"), |i, h| RnnReluDims { i, h }, tanh_tr, $cases);
        let _: Option<$other_f> = None;
    }};
}

#[test]
fn shipped_cells_f64() {
    let mut cases = Cases::default();
    cells!(&mut cases, f64, f32);
    cases.finish();
}

#[test]
fn shipped_cells_f32() {
    let mut cases = Cases::default();
    cells!(&mut cases, f32, f64);
    cases.finish();
}

fn layers_cases<C: Cell<f64> + std::panic::RefUnwindSafe>(
    name: &str,
    dims: impl Fn(usize, usize) -> C::Dims,
    cases: &mut Cases,
) {
    let (i, h, t, b) = (3, 4, 5, 2);
    for (nl, bi) in [(2, false), (1, true), (2, true)] {
        let label = |s: &str| format!("{name} Layers({nl}, bidirectional {bi}): {s}");
        let layers = Layers::<f64, C>::new(dims(i, h), nl, bi, &mut rnn::seeded_rng(4)).unwrap();
        let nd = nl * layers.num_directions();
        let o = layers.output_size();
        let xs = Array3::from_shape_fn((t, b, i), |(a, c, d)| ((a + 2 * c + 3 * d) as f64).sin());
        cases.run(&label("new, hidden size 0"), Want::Dimension, || {
            Layers::<f64, C>::new(dims(i, 0), nl, bi, &mut rnn::seeded_rng(4))
        });
        cases.run(&label("zeros, input size 0"), Want::Dimension, || {
            Layers::<f64, C>::zeros(dims(0, h), nl, bi)
        });
        cases.run(&label("forward, batch 0"), Want::Invalid, || {
            layers.forward(Array3::zeros((t, 0, i)).view(), &[])
        });
        cases.run(&label("forward_train, batch 0"), Want::Invalid, || {
            layers.forward_train(Array3::zeros((t, 0, i)).view(), &[])
        });
        cases.run(&label("step, batch 0"), Want::Invalid, || {
            let mut s = layers.zero_state(0);
            layers.step(Array2::zeros((0, i)).view(), &mut s)
        });
        cases.run(&label("forward, input width 0"), Want::Shape, || {
            layers.forward(Array3::zeros((t, b, 0)).view(), &[])
        });
        cases.run(&label("forward, input width i+1"), Want::Shape, || {
            layers.forward(Array3::zeros((t, b, i + 1)).view(), &[])
        });
        // Bidirectional layers cannot stream: `Invalid` whatever the input.
        let step_want = if bi { Want::Invalid } else { Want::Shape };
        cases.run(&label("step, input width i+1"), step_want, || {
            let mut s = layers.zero_state(b);
            layers.step(Array2::zeros((b, i + 1)).view(), &mut s)
        });
        cases.run(&label("step, no states"), step_want, || {
            layers.step(xs.index_axis(Axis(0), 0), &mut [])
        });
        cases.run(&label("step, states of another batch"), step_want, || {
            let mut s = layers.zero_state(b + 1);
            layers.step(xs.index_axis(Axis(0), 0), &mut s)
        });
        let init: Vec<Array3<f64>> = layers
            .state_sizes()
            .iter()
            .map(|&w| Array3::from_shape_fn((nd, b, w), |(a, c, d)| 0.01 * (a + c + d) as f64))
            .collect();
        cases.run(&label("forward, T 0"), Want::Ok, || {
            let (out, st) = layers.forward(Array3::zeros((0, b, i)).view(), &init)?;
            ok_if(out.shape() == [0, b, o] && st == init, "T 0")
        });
        cases.run(&label("forward_train + backward, T 0"), Want::Ok, || {
            let tr = layers.forward_train(Array3::zeros((0, b, i)).view(), &init)?;
            let (_, d_xs, d_init) = layers.backward(&tr, Array3::zeros((0, b, o)).view(), &init)?;
            ok_if(d_xs.shape() == [0, b, i] && d_init == init, "T 0 backward")
        });
        cases.run(&label("forward, one state too many"), Want::Shape, || {
            let mut s = init.clone();
            s.push(Array3::zeros((nd, b, h)));
            layers.forward(xs.view(), &s)
        });
        cases.run(&label("forward, states of another layer count"), Want::Shape, || {
            let s: Vec<Array3<f64>> = init.iter().map(|a| Array3::zeros((nd + 1, b, a.shape()[2]))).collect();
            layers.forward(xs.view(), &s)
        });
        cases.run(&label("forward, states of another batch"), Want::Shape, || {
            layers.forward(xs.view(), &layers.zero_state(b + 1))
        });
        // Lengths.
        cases.run(&label("forward_with_lengths, a length past T"), Want::Invalid, || {
            layers.forward_with_lengths(xs.view(), Some(&[t + 1, 1]), &[])
        });
        cases.run(
            &label("forward_with_lengths, one length per sequence missing"),
            Want::Shape,
            || layers.forward_with_lengths(xs.view(), Some(&[t]), &[]),
        );
        cases.run(&label("forward_with_lengths, a length 0"), Want::Ok, || {
            let (out, st) = layers.forward_with_lengths(xs.view(), Some(&[0, t]), &init)?;
            let first_kept = st
                .iter()
                .zip(&init)
                .all(|(s, i)| s.index_axis(Axis(1), 0) == i.index_axis(Axis(1), 0));
            ok_if(out.shape() == [t, b, o] && first_kept, "length 0 keeps its state")
        });
        cases.run(&label("forward_with_lengths, all lengths 0"), Want::Ok, || {
            let (_, st) = layers.forward_with_lengths(xs.view(), Some(&[0, 0]), &init)?;
            ok_if(st == init, "all lengths 0")
        });
        // Backward.
        let trace = layers.forward_train(xs.view(), &[]).unwrap();
        let d_out = Array3::<f64>::zeros((t, b, o));
        cases.run(&label("backward, valid"), Want::Ok, || {
            layers.backward(&trace, d_out.view(), &[])
        });
        cases.run(&label("backward, d_out of another width"), Want::Shape, || {
            layers.backward(&trace, Array3::zeros((t, b, o + 1)).view(), &[])
        });
        cases.run(&label("backward, d_final of another batch"), Want::Shape, || {
            layers.backward(&trace, d_out.view(), &layers.zero_state(b + 1))
        });
        cases.run(&label("backward, empty trace"), Want::Shape, || {
            layers.backward(
                &rnn::runtime::layers::LayersTrace::empty(),
                Array3::zeros((0, 0, o)).view(),
                &[],
            )
        });
        cases.run(&label("backward_into, gradient of other layers"), Want::Invalid, || {
            let mut g = Layers::<f64, C>::zeros(dims(i, h + 1), nl, bi)?;
            layers.backward_into(&trace, d_out.view(), &[], &mut g)
        });
        // Another number of cells is a `Shape` error on the trace's cell count.
        for (what, th, tnl, tbi, want) in [
            ("bigger hidden size", h + 2, nl, bi, Want::Invalid),
            ("smaller hidden size", h - 1, nl, bi, Want::Invalid),
            ("one layer more", h, nl + 1, bi, Want::Shape),
            ("the other direction setting", h, nl, !bi, Want::Shape),
        ] {
            cases.run(&label(&format!("backward, trace of layers of {what}")), want, || {
                let foreign = Layers::<f64, C>::new(dims(i, th), tnl, tbi, &mut rnn::seeded_rng(5))?;
                let tr = foreign.forward_train(xs.view(), &[])?;
                layers.backward(&tr, d_out.view(), &[])
            });
        }
    }
}

#[test]
fn layers_of_shipped_cells() {
    let mut cases = Cases::default();
    layers_cases::<Lstm<f64>>("Lstm", |i, h| LstmDims { i, h }, &mut cases);
    layers_cases::<Gru<f64>>("Gru", |i, h| GruDims { i, h }, &mut cases);
    layers_cases::<RnnTanh<f64>>("RnnTanh", |i, h| RnnTanhDims { i, h }, &mut cases);
    layers_cases::<RnnRelu<f64>>("RnnRelu", |i, h| RnnReluDims { i, h }, &mut cases);
    cases.finish();
}

type Model = SeqModel<f64, Gru<f64>>;

fn model_cases(cases: &mut Cases) {
    use rnn::runtime::model::{Encoding, Pooling};
    let (h, t, b, w, out, vocab) = (4, 5, 2, 3, 2, 6);
    let dims = GruDims { i: 0, h };
    let regression = SeqModelConfig::regression(w, out).layers(2).bidirectional(true);
    let lm = SeqModelConfig::language_model(Encoding::Embedding { vocab, dim: 3 }, vocab);
    let pooled = SeqModelConfig::new(
        Encoding::OneHot { vocab },
        out,
        rnn::runtime::model::Activation::Softmax,
        rnn::runtime::model::LossKind::CrossEntropy,
    )
    .pooling(Pooling::Last);
    let label = |s: &str| format!("SeqModel: {s}");
    cases.run(&label("new, hidden size 0"), Want::Dimension, || {
        Model::new(GruDims { i: 0, h: 0 }, regression, &mut rnn::seeded_rng(0))
    });
    cases.run(&label("new, output size 0"), Want::Invalid, || {
        Model::new(dims, SeqModelConfig::regression(w, 0), &mut rnn::seeded_rng(0))
    });
    cases.run(&label("new, dense width 0"), Want::Invalid, || {
        Model::new(dims, SeqModelConfig::regression(0, out), &mut rnn::seeded_rng(0))
    });
    cases.run(&label("new, layers 0"), Want::Invalid, || {
        Model::new(dims, regression.layers(0), &mut rnn::seeded_rng(0))
    });
    let reg = Model::new(dims, regression, &mut rnn::seeded_rng(0)).unwrap();
    let lmm = Model::new(dims, lm, &mut rnn::seeded_rng(0)).unwrap();
    let pool = Model::new(dims, pooled, &mut rnn::seeded_rng(0)).unwrap();
    let xs = Array3::from_shape_fn((t, b, w), |(a, c, d)| ((a + c + d) as f64).cos());
    let ys = Array3::<f64>::zeros((t, b, out));
    let ids: Vec<usize> = (0..t * b).map(|k| k % vocab).collect();
    let classes: Vec<usize> = (0..t * b).map(|k| k % vocab).collect();

    // Batch 0 and sequence length 0.
    cases.run(&label("forward, values batch 0"), Want::Invalid, || {
        reg.forward(&SeqInput::values(Array3::zeros((t, 0, w)).view()), &[])
    });
    cases.run(&label("forward, tokens batch 0"), Want::Invalid, || {
        lmm.forward(&SeqInput::tokens(&[], t, 0), &[])
    });
    cases.run(&label("loss_and_grad, values batch 0"), Want::Invalid, || {
        let z = Array3::zeros((t, 0, out));
        reg.loss_and_grad(
            &SeqInput::values(Array3::zeros((t, 0, w)).view()),
            &SeqTarget::Values(z.view()),
            None,
            &[],
        )
    });
    cases.run(&label("generator, batch 0"), Want::Invalid, || {
        lmm.generator(0).map(|_| ())
    });
    cases.run(&label("forward, T 0"), Want::Ok, || {
        let (y, st) = reg.forward(&SeqInput::values(Array3::zeros((0, b, w)).view()), &[])?;
        ok_if(y.shape() == [0, b, out] && st == reg.zero_state(b), "T 0")
    });
    // No step counts: loss 0 over 0 positions, zero gradient (as with a
    // mask that is false everywhere).
    let nothing_counted = |(o, g): (rnn::runtime::model::SeqOutcome<f64>, Model)| {
        let zero = g.named_params().iter().all(|(_, p)| p.iter().all(|v| *v == 0.0));
        ok_if(o.loss == 0.0 && o.count == 0 && zero, "nothing counted")
    };
    cases.run(&label("loss, T 0"), Want::Ok, || {
        let z = Array3::zeros((0, b, out));
        let l = reg.loss(
            &SeqInput::values(Array3::zeros((0, b, w)).view()),
            &SeqTarget::Values(z.view()),
            None,
            &[],
        )?;
        ok_if(l == 0.0, "loss 0")
    });
    cases.run(&label("loss_and_grad, T 0"), Want::Ok, || {
        let z = Array3::zeros((0, b, out));
        nothing_counted(reg.loss_and_grad(
            &SeqInput::values(Array3::zeros((0, b, w)).view()),
            &SeqTarget::Values(z.view()),
            None,
            &[],
        )?)
    });
    cases.run(&label("loss_and_grad, pooled, T 0"), Want::Invalid, || {
        pool.loss_and_grad(&SeqInput::tokens(&[], 0, b), &SeqTarget::Classes(&[0, 1]), None, &[])
    });

    // Inputs.
    cases.run(&label("forward, values of another width"), Want::Shape, || {
        reg.forward(&SeqInput::values(Array3::zeros((t, b, w + 1)).view()), &[])
    });
    cases.run(&label("forward, values width 0"), Want::Shape, || {
        reg.forward(&SeqInput::values(Array3::zeros((t, b, 0)).view()), &[])
    });
    cases.run(&label("forward, tokens into a dense model"), Want::Invalid, || {
        reg.forward(&SeqInput::tokens(&ids, t, b), &[])
    });
    cases.run(&label("forward, values into a token model"), Want::Invalid, || {
        lmm.forward(&SeqInput::values(xs.view()), &[])
    });
    cases.run(&label("forward, token id out of range"), Want::Invalid, || {
        let bad = vec![vocab; t * b];
        lmm.forward(&SeqInput::tokens(&bad, t, b), &[])
    });
    cases.run(&label("forward, ids != T*B"), Want::Shape, || {
        lmm.forward(&SeqInput::tokens(&ids[1..], t, b), &[])
    });
    cases.run(&label("forward, T*B overflows"), Want::Shape, || {
        lmm.forward(&SeqInput::tokens(&ids, usize::MAX, 2), &[])
    });
    cases.run(&label("forward, init of another batch"), Want::Shape, || {
        reg.forward(&SeqInput::values(xs.view()), &reg.zero_state(b + 1))
    });
    cases.run(&label("forward, init count"), Want::Shape, || {
        let mut s = reg.zero_state(b);
        s.push(s[0].clone());
        reg.forward(&SeqInput::values(xs.view()), &s)
    });

    // Lengths.
    cases.run(&label("forward, a length past T"), Want::Invalid, || {
        reg.forward(&SeqInput::values(xs.view()).with_lengths(&[t + 1, 2]), &[])
    });
    cases.run(&label("forward, lengths count"), Want::Shape, || {
        reg.forward(&SeqInput::values(xs.view()).with_lengths(&[t, 2, 1]), &[])
    });
    cases.run(&label("forward, a length 0"), Want::Ok, || {
        reg.forward(&SeqInput::values(xs.view()).with_lengths(&[0, t]), &[])
    });
    cases.run(&label("loss_and_grad, a length 0"), Want::Ok, || {
        reg.loss_and_grad(
            &SeqInput::values(xs.view()).with_lengths(&[0, t]),
            &SeqTarget::Values(ys.view()),
            None,
            &[],
        )
    });
    cases.run(&label("loss_and_grad, all lengths 0"), Want::Ok, || {
        nothing_counted(reg.loss_and_grad(
            &SeqInput::values(xs.view()).with_lengths(&[0, 0]),
            &SeqTarget::Values(ys.view()),
            None,
            &[],
        )?)
    });
    // A head that pools each sequence needs a step of every sequence.
    cases.run(&label("loss_and_grad, pooled, a length 0"), Want::Invalid, || {
        pool.loss_and_grad(
            &SeqInput::tokens(&ids, t, b).with_lengths(&[t, 0]),
            &SeqTarget::Classes(&[0, 1]),
            None,
            &[],
        )
    });
    cases.run(&label("loss_and_grad, pooled, a length past T"), Want::Invalid, || {
        pool.loss_and_grad(
            &SeqInput::tokens(&ids, t, b).with_lengths(&[t + 3, 1]),
            &SeqTarget::Classes(&[0, 1]),
            None,
            &[],
        )
    });

    // Targets, masks, gradients.
    cases.run(
        &label("loss_and_grad, values target of another width"),
        Want::Shape,
        || {
            let z = Array3::zeros((t, b, out + 1));
            reg.loss_and_grad(&SeqInput::values(xs.view()), &SeqTarget::Values(z.view()), None, &[])
        },
    );
    cases.run(
        &label("loss_and_grad, values target of another length"),
        Want::Shape,
        || {
            let z = Array3::zeros((t - 1, b, out));
            reg.loss_and_grad(&SeqInput::values(xs.view()), &SeqTarget::Values(z.view()), None, &[])
        },
    );
    cases.run(
        &label("loss_and_grad, classes into an MSE model"),
        Want::Invalid,
        || reg.loss_and_grad(&SeqInput::values(xs.view()), &SeqTarget::Classes(&classes), None, &[]),
    );
    cases.run(&label("loss_and_grad, class count"), Want::Shape, || {
        lmm.loss_and_grad(
            &SeqInput::tokens(&ids, t, b),
            &SeqTarget::Classes(&classes[1..]),
            None,
            &[],
        )
    });
    cases.run(&label("loss_and_grad, class out of range"), Want::Invalid, || {
        let bad = vec![vocab; t * b];
        lmm.loss_and_grad(&SeqInput::tokens(&ids, t, b), &SeqTarget::Classes(&bad), None, &[])
    });
    cases.run(&label("loss_and_grad, pooled class count"), Want::Shape, || {
        pool.loss_and_grad(&SeqInput::tokens(&ids, t, b), &SeqTarget::Classes(&[0]), None, &[])
    });
    cases.run(&label("loss_and_grad, mask length"), Want::Shape, || {
        let mask = vec![true; t * b + 1];
        reg.loss_and_grad(
            &SeqInput::values(xs.view()),
            &SeqTarget::Values(ys.view()),
            Some(&mask),
            &[],
        )
    });
    cases.run(&label("loss_and_grad, mask all false"), Want::Ok, || {
        let mask = vec![false; t * b];
        nothing_counted(reg.loss_and_grad(
            &SeqInput::values(xs.view()),
            &SeqTarget::Values(ys.view()),
            Some(&mask),
            &[],
        )?)
    });
    // Streaming generation.
    cases.run(
        &label("generator step_tokens, ids of another batch"),
        Want::Shape,
        || lmm.generator(b)?.step_tokens(&[0]),
    );
    cases.run(&label("generator step_tokens, id out of range"), Want::Invalid, || {
        lmm.generator(b)?.step_tokens(&[0, vocab])
    });
    cases.run(
        &label("generator prime, ids not a multiple of B"),
        Want::Invalid,
        || lmm.generator(b)?.prime(&[0, 1, 2]),
    );
    cases.run(
        &label("generator step_values, values of another width"),
        Want::Shape,
        || {
            let r1 = Model::new(dims, SeqModelConfig::regression(w, out), &mut rnn::seeded_rng(0))?;
            r1.generator(b)?.step_values(Array2::zeros((b, w + 1)).view())
        },
    );
    cases.run(&label("generator, bidirectional model"), Want::Invalid, || {
        reg.generator(b).map(|_| ())
    });
    cases.run(
        &label("loss_and_grad_into, gradient of another model"),
        Want::Invalid,
        || {
            let mut g = Model::zeros(GruDims { i: 0, h: h + 1 }, regression)?;
            reg.loss_and_grad_into(
                &SeqInput::values(xs.view()),
                &SeqTarget::Values(ys.view()),
                None,
                &[],
                &mut g,
            )
        },
    );
}

#[test]
fn seq_model() {
    let mut cases = Cases::default();
    model_cases(&mut cases);
    cases.finish();
}
