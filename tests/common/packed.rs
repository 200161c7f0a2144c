//! Variable-length batches, written out the slow way for the tests: the
//! sorting and packing of PyTorch's `pack_padded_sequence`, and each
//! sequence run alone at its own length through the full-length code.

use ndarray::{Array2, Array3, Axis, s};
use rnn::Cell;
use rnn::runtime::{BatchSizes, CellInput, Layers};

/// The sorting (longest first, ties in batch order) and the batch sizes.
pub struct Packing {
    /// Sorted position -> batch index.
    pub order: Vec<usize>,
    /// Sequences running at each step.
    pub sizes: Vec<usize>,
    /// `lengths` as given.
    pub lengths: Vec<usize>,
}

impl Packing {
    pub fn new(lengths: &[usize]) -> Packing {
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        order.sort_by_key(|&b| std::cmp::Reverse(lengths[b]));
        let steps = lengths.iter().copied().max().unwrap_or(0);
        let sizes = (0..steps).map(|t| lengths.iter().filter(|&&l| l > t).count()).collect();
        Packing {
            order,
            sizes,
            lengths: lengths.to_vec(),
        }
    }

    pub fn batch_sizes(&self) -> BatchSizes<'_> {
        BatchSizes::new(&self.sizes, self.lengths.len()).expect("valid sizes")
    }

    pub fn rows(&self) -> usize {
        self.sizes.iter().sum()
    }

    /// The padded `[T, B, w]` as packed rows `[N, 1, w]`.
    pub fn pack(&self, a: &Array3<f64>) -> Array3<f64> {
        let w = a.shape()[2];
        let mut out = Array3::zeros((self.rows(), 1, w));
        let mut p = 0;
        for (t, &n) in self.sizes.iter().enumerate() {
            for &b in &self.order[..n] {
                out.slice_mut(s![p, 0, ..]).assign(&a.slice(s![t, b, ..]));
                p += 1;
            }
        }
        out
    }

    /// Packed rows `[N, 1, w]` back into a zero-padded `[T, B, w]`.
    pub fn unpack(&self, a: &Array3<f64>, t_len: usize) -> Array3<f64> {
        let w = a.shape()[2];
        let mut out = Array3::zeros((t_len, self.lengths.len(), w));
        let mut p = 0;
        for (t, &n) in self.sizes.iter().enumerate() {
            for &b in &self.order[..n] {
                out.slice_mut(s![t, b, ..]).assign(&a.slice(s![p, 0, ..]));
                p += 1;
            }
        }
        out
    }

    /// The row `t * B + b` of the padded input each packed row is.
    pub fn padded_rows(&self) -> Vec<usize> {
        let batch = self.lengths.len();
        let mut rows = Vec::new();
        for (t, &n) in self.sizes.iter().enumerate() {
            rows.extend(self.order[..n].iter().map(|&b| t * batch + b));
        }
        rows
    }

    /// Rows of a `[B, w]` state in sorted order.
    pub fn sort(&self, a: &Array2<f64>) -> Array2<f64> {
        a.select(Axis(0), &self.order)
    }

    /// Rows of a sorted `[B, w]` state back in batch order.
    pub fn unsort(&self, a: &Array2<f64>) -> Array2<f64> {
        let mut out = a.clone();
        for (i, &b) in self.order.iter().enumerate() {
            out.row_mut(b).assign(&a.row(i));
        }
        out
    }
}

/// Everything a training step of a cell gives, in batch order and padded:
/// outputs, final states, parameter gradients, input and initial-state
/// gradients.
pub struct CellRun<C> {
    pub outputs: Array3<f64>,
    pub states: Vec<Array2<f64>>,
    pub grads: C,
    pub d_xs: Array3<f64>,
    pub d_init: Vec<Array2<f64>>,
}

/// A training step of `cell` on the packed batch (through
/// `forward_train_packed` and `backward`), unpacked into batch order; the
/// inference pass must give the same outputs and states.
pub fn cell_packed<C: Cell<f64>>(cell: &C, c: &super::Case, lengths: &[usize]) -> CellRun<C> {
    cell_packed_from(cell, c, lengths, false)
}

/// [`cell_packed`], the cell reading its input rows from a packed copy, or
/// (`picked`) where they lie in the padded input (`CellInput::Picked`).
pub fn cell_packed_from<C: Cell<f64>>(cell: &C, c: &super::Case, lengths: &[usize], picked: bool) -> CellRun<C> {
    let t_len = c.xs.shape()[0];
    let p = Packing::new(lengths);
    let xs = p.pack(&c.xs);
    let all = c.xs.as_standard_layout();
    let all = all
        .view()
        .into_shape_with_order((t_len * lengths.len(), cell.input_size()))
        .expect("T*B rows");
    let rows = p.padded_rows();
    let input = || {
        if picked {
            CellInput::Picked { xs: all, rows: &rows }
        } else {
            CellInput::Values(xs.view())
        }
    };
    let init: Vec<Array2<f64>> = c.init.iter().map(|s| p.sort(s)).collect();
    let d_final: Vec<Array2<f64>> = c.d_final.iter().map(|s| p.sort(s)).collect();
    let d_out = p.pack(&c.d_out);
    let sizes = p.batch_sizes();
    let trace = cell
        .forward_train_packed(input(), sizes, &init)
        .expect("packed forward_train");
    let inferred = cell.forward_packed(input(), sizes, &init).expect("packed forward");
    assert_eq!(
        trace.outputs, inferred.outputs,
        "packed training and inference outputs differ"
    );
    assert_eq!(
        trace.states, inferred.states,
        "packed training and inference states differ"
    );
    let (grads, input) = cell.backward(&trace, d_out.view(), &d_final).expect("packed backward");
    CellRun {
        outputs: p.unpack(&trace.outputs, t_len),
        states: trace.states.iter().map(|s| p.unsort(s)).collect(),
        grads,
        d_xs: p.unpack(&input.d_xs, t_len),
        d_init: input.d_init.iter().map(|s| p.unsort(s)).collect(),
    }
}

/// The same step with each sequence run alone at its own length through
/// the full-length code (a sequence of length 0 passes its initial state
/// and its gradient straight through), gradients summed.
pub fn cell_alone<C: Cell<f64>>(cell: &C, c: &super::Case, lengths: &[usize]) -> CellRun<C> {
    let (t_len, batch) = (c.xs.shape()[0], c.xs.shape()[1]);
    let mut run = CellRun {
        outputs: Array3::zeros((t_len, batch, cell.output_size())),
        states: c.init.clone(),
        grads: C::zeros(cell.dims()),
        d_xs: Array3::zeros(c.xs.dim()),
        d_init: c.d_final.clone(),
    };
    for (b, &len) in lengths.iter().enumerate() {
        if len == 0 {
            continue;
        }
        let one = |a: &Array3<f64>| a.slice(s![..len, b..b + 1, ..]).to_owned();
        let row = |a: &Array2<f64>| a.slice(s![b..b + 1, ..]).to_owned();
        let init: Vec<Array2<f64>> = c.init.iter().map(row).collect();
        let d_final: Vec<Array2<f64>> = c.d_final.iter().map(row).collect();
        let trace = cell.forward_train(one(&c.xs).view(), &init).expect("forward_train");
        let input = cell
            .backward_into(&trace, one(&c.d_out).view(), &d_final, &mut run.grads)
            .expect("backward");
        run.outputs.slice_mut(s![..len, b..b + 1, ..]).assign(&trace.outputs);
        run.d_xs.slice_mut(s![..len, b..b + 1, ..]).assign(&input.d_xs);
        for k in 0..c.init.len() {
            run.states[k].row_mut(b).assign(&trace.states[k].row(0));
            run.d_init[k].row_mut(b).assign(&input.d_init[k].row(0));
        }
    }
    run
}

/// Largest `|a - b| / (1 + |b|)` between two runs, over everything.
pub fn run_diff<C: Cell<f64>>(a: &CellRun<C>, b: &CellRun<C>) -> f64 {
    let mut x: Vec<ndarray::ArrayD<f64>> = vec![a.outputs.clone().into_dyn(), a.d_xs.clone().into_dyn()];
    let mut y: Vec<ndarray::ArrayD<f64>> = vec![b.outputs.clone().into_dyn(), b.d_xs.clone().into_dyn()];
    x.extend(a.states.iter().chain(&a.d_init).map(|s| s.clone().into_dyn()));
    y.extend(b.states.iter().chain(&b.d_init).map(|s| s.clone().into_dyn()));
    x.extend(a.grads.params().into_iter().map(|p| p.1.to_owned()));
    y.extend(b.grads.params().into_iter().map(|p| p.1.to_owned()));
    super::max_diff(x, y)
}

/// Random padded input, initial states and upstream gradients for layers.
pub struct LayersCase {
    pub xs: Array3<f64>,
    pub init: Vec<Array3<f64>>,
    pub d_out: Array3<f64>,
    pub d_final: Vec<Array3<f64>>,
}

pub fn layers_case<C: Cell<f64>>(layers: &Layers<f64, C>, t: usize, b: usize, seed: u64) -> LayersCase {
    let mut r = super::rng(seed);
    let rows = layers.cells().len();
    let xs = super::uniform3(&mut r, (t, b, layers.input_size()));
    let init = layers
        .state_sizes()
        .iter()
        .map(|&w| super::uniform3(&mut r, (rows, b, w)))
        .collect();
    let d_out = super::uniform3(&mut r, (t, b, layers.output_size()));
    let d_final = layers
        .state_sizes()
        .iter()
        .map(|&w| super::uniform3(&mut r, (rows, b, w)))
        .collect();
    LayersCase {
        xs,
        init,
        d_out,
        d_final,
    }
}

/// A training step of layers: output, final states, parameter gradients,
/// input and initial-state gradients.
pub struct LayersRun<C: Cell<f64>> {
    pub out: Array3<f64>,
    pub states: Vec<Array3<f64>>,
    pub grads: Layers<f64, C>,
    pub d_xs: Array3<f64>,
    pub d_init: Vec<Array3<f64>>,
}

/// A training step of `layers` with `lengths`; the inference pass must
/// give the same output and states.
pub fn layers_with_lengths<C: Cell<f64>>(layers: &Layers<f64, C>, c: &LayersCase, lengths: &[usize]) -> LayersRun<C> {
    let trace = layers
        .forward_train_with_lengths(c.xs.view(), Some(lengths), &c.init)
        .expect("forward_train_with_lengths");
    let (out, states) = layers
        .forward_with_lengths(c.xs.view(), Some(lengths), &c.init)
        .expect("forward_with_lengths");
    assert_eq!(trace.out, out, "training and inference outputs differ");
    assert_eq!(trace.states, states, "training and inference states differ");
    assert_eq!(trace.lengths(), Some(lengths));
    let (grads, d_xs, d_init) = layers.backward(&trace, c.d_out.view(), &c.d_final).expect("backward");
    LayersRun {
        out,
        states,
        grads,
        d_xs,
        d_init,
    }
}

/// The same step with each sequence run alone at its own length (no
/// lengths: the full-length path), gradients summed.
pub fn layers_alone<C: Cell<f64>>(layers: &Layers<f64, C>, c: &LayersCase, lengths: &[usize]) -> LayersRun<C> {
    let mut run = LayersRun {
        out: Array3::zeros((c.xs.shape()[0], c.xs.shape()[1], layers.output_size())),
        states: c.init.clone(),
        grads: layers.zeros_like(),
        d_xs: Array3::zeros(c.xs.dim()),
        d_init: c.d_final.clone(),
    };
    for (b, &len) in lengths.iter().enumerate() {
        if len == 0 {
            continue;
        }
        let steps = |a: &Array3<f64>| a.slice(s![..len, b..b + 1, ..]).to_owned();
        let rows = |a: &Array3<f64>| a.slice(s![.., b..b + 1, ..]).to_owned();
        let init: Vec<Array3<f64>> = c.init.iter().map(rows).collect();
        let d_final: Vec<Array3<f64>> = c.d_final.iter().map(rows).collect();
        let trace = layers.forward_train(steps(&c.xs).view(), &init).expect("forward_train");
        let (d_xs, d_init) = layers
            .backward_into(&trace, steps(&c.d_out).view(), &d_final, &mut run.grads)
            .expect("backward");
        run.out.slice_mut(s![..len, b..b + 1, ..]).assign(&trace.out);
        run.d_xs.slice_mut(s![..len, b..b + 1, ..]).assign(&d_xs);
        for (k, (st, d)) in trace.states.iter().zip(&d_init).enumerate() {
            run.states[k].slice_mut(s![.., b..b + 1, ..]).assign(st);
            run.d_init[k].slice_mut(s![.., b..b + 1, ..]).assign(d);
        }
    }
    run
}

/// Largest `|a - b| / (1 + |b|)` between two runs of layers, over everything.
pub fn layers_diff<C: Cell<f64>>(a: &LayersRun<C>, b: &LayersRun<C>) -> f64 {
    let arrays = |r: &LayersRun<C>| {
        let mut v: Vec<ndarray::ArrayD<f64>> = vec![r.out.clone().into_dyn(), r.d_xs.clone().into_dyn()];
        v.extend(r.states.iter().chain(&r.d_init).map(|s| s.clone().into_dyn()));
        v.extend(r.grads.named_params().into_iter().map(|p| p.1.to_owned()));
        v
    };
    super::max_diff(arrays(a), arrays(b))
}

/// Largest scaled error of BPTT with `lengths` against central finite
/// differences of the loss `Σ out·G + Σ final·Gk`, over every parameter,
/// input and initial-state entry; and the largest input gradient at a
/// padding step (which must be 0).
pub fn layers_gradcheck<C: Cell<f64>>(layers: &Layers<f64, C>, c: &LayersCase, lengths: &[usize]) -> (f64, f64) {
    let loss = |l: &Layers<f64, C>, xs: &Array3<f64>, init: &[Array3<f64>]| {
        let (out, states) = l.forward_with_lengths(xs.view(), Some(lengths), init).unwrap();
        (&out * &c.d_out).sum() + states.iter().zip(&c.d_final).map(|(s, g)| (s * g).sum()).sum::<f64>()
    };
    let run = layers_with_lengths(layers, c, lengths);
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    let mut check = |analytic: &[f64], numeric: &[f64]| {
        let scale = numeric.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (a, n) in analytic.iter().zip(numeric) {
            worst = worst.max((a - n).abs() / (1e-4 + n.abs() + scale));
        }
    };
    let named = run.grads.named_params();
    for (p, (_, analytic)) in named.iter().enumerate() {
        let numeric: Vec<f64> = (0..analytic.len())
            .map(|i| {
                let bump = |d: f64| {
                    let mut l2 = layers.clone();
                    l2.named_params_mut()[p].1.as_slice_mut().unwrap()[i] += d;
                    loss(&l2, &c.xs, &c.init)
                };
                (bump(eps) - bump(-eps)) / (2.0 * eps)
            })
            .collect();
        check(&analytic.iter().copied().collect::<Vec<_>>(), &numeric);
    }
    let numeric: Vec<f64> = (0..c.xs.len())
        .map(|i| {
            let bump = |d: f64| {
                let mut x2 = c.xs.clone();
                x2.as_slice_mut().unwrap()[i] += d;
                loss(layers, &x2, &c.init)
            };
            (bump(eps) - bump(-eps)) / (2.0 * eps)
        })
        .collect();
    check(run.d_xs.as_slice().unwrap(), &numeric);
    for k in 0..c.init.len() {
        let numeric: Vec<f64> = (0..c.init[k].len())
            .map(|i| {
                let bump = |d: f64| {
                    let mut init = c.init.clone();
                    init[k].as_slice_mut().unwrap()[i] += d;
                    loss(layers, &c.xs, &init)
                };
                (bump(eps) - bump(-eps)) / (2.0 * eps)
            })
            .collect();
        check(run.d_init[k].as_slice().unwrap(), &numeric);
    }
    let mut padding: f64 = 0.0;
    for ((t, b, _), v) in run.d_xs.indexed_iter() {
        if t >= lengths[b] {
            padding = padding.max(v.abs());
        }
    }
    (worst, padding)
}
