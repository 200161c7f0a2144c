//! Tests of [`Layers`] with the hand-written [`TestRnn`] cell.

use super::*;
use crate::testing::{Kind, TestDims, TestRnn};
use ndarray::{Array2, Array3, Axis, s};
use rand::SeedableRng;
use rand::rngs::StdRng;

type L64 = Layers<f64, TestRnn<f64>>;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn randn3(r: &mut StdRng, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| 2.0 * r.random::<f64>() - 1.0)
}

fn dims(i: usize, h: usize, kind: Kind) -> TestDims {
    TestDims { i, h, kind }
}

fn params_of(l: &L64) -> Vec<(String, Vec<f64>)> {
    l.named_params()
        .into_iter()
        .map(|(n, v)| (n, v.iter().copied().collect()))
        .collect()
}

fn assert_close(a: &Array3<f64>, b: &Array3<f64>, tol: f64, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{what}: {x} vs {y}");
    }
}

#[test]
fn one_layer_unidirectional_equals_the_cell() {
    let mut r = rng(1);
    let d = dims(3, 5, Kind::Leaky);
    let layers = L64::new(d, 1, false, &mut r).unwrap();
    let cell = layers.cells()[0].clone();
    let xs = randn3(&mut r, (6, 2, 3));
    let init = vec![randn3(&mut r, (1, 2, 5)), randn3(&mut r, (1, 2, 5))];
    let cell_init: Vec<Array2<f64>> = init.iter().map(|s| s.index_axis(Axis(0), 0).to_owned()).collect();
    let (out, fin) = layers.forward(xs.view(), &init).unwrap();
    let want = cell.forward(xs.view(), &cell_init).unwrap();
    assert_eq!(out, want.outputs);
    for (a, b) in fin.iter().zip(&want.states) {
        assert_eq!(a.index_axis(Axis(0), 0), b);
    }
    let trace = layers.forward_train(xs.view(), &init).unwrap();
    assert_eq!(trace.out, out);
    let g = randn3(&mut r, (6, 2, 5));
    let gfin = vec![randn3(&mut r, (1, 2, 5)), randn3(&mut r, (1, 2, 5))];
    let cell_gfin: Vec<Array2<f64>> = gfin.iter().map(|s| s.index_axis(Axis(0), 0).to_owned()).collect();
    let (grads, d_xs, d_init) = layers.backward(&trace, g.view(), &gfin).unwrap();
    let ctrace = cell.forward_train(xs.view(), &cell_init).unwrap();
    let (cgrads, cin) = cell.backward(&ctrace, g.view(), &cell_gfin).unwrap();
    assert_eq!(grads.cells()[0], cgrads);
    assert_eq!(d_xs, cin.d_xs);
    for (a, b) in d_init.iter().zip(&cin.d_init) {
        assert_eq!(a.index_axis(Axis(0), 0), b);
    }
    // Empty init / d_final mean zeros.
    let zeros = layers.zero_state(2);
    assert_eq!(
        layers.forward(xs.view(), &[]).unwrap().0,
        layers.forward(xs.view(), &zeros).unwrap().0
    );
}

/// PyTorch's stacked bidirectional `nn.RNN` written out directly.
fn reference(layers: &L64, xs: &Array3<f64>, h0: &Array3<f64>) -> (Array3<f64>, Array3<f64>) {
    let (t_len, batch, _) = xs.dim();
    let dirs = layers.num_directions();
    let h = layers.cell_output_size();
    let mut input = xs.clone();
    let mut h_n = Array3::zeros((layers.cells().len(), batch, h));
    for l in 0..layers.num_layers() {
        let mut out = Array3::zeros((t_len, batch, dirs * h));
        for d in 0..dirs {
            let idx = l * dirs + d;
            let c = &layers.cells()[idx];
            let mut state = h0.index_axis(Axis(0), idx).to_owned();
            let order: Vec<usize> = if d == 0 {
                (0..t_len).collect()
            } else {
                (0..t_len).rev().collect()
            };
            for t in order {
                let a = input.index_axis(Axis(0), t).dot(&c.weight_ih.t())
                    + &c.bias_ih
                    + state.dot(&c.weight_hh.t())
                    + &c.bias_hh;
                state = a.mapv(f64::tanh);
                out.slice_mut(s![t, .., d * h..(d + 1) * h]).assign(&state);
            }
            h_n.index_axis_mut(Axis(0), idx).assign(&state);
        }
        input = out;
    }
    (input, h_n)
}

#[test]
fn stacked_bidirectional_forward_matches_pytorch_semantics() {
    let mut r = rng(2);
    for (num_layers, bidir) in [(2, true), (3, true), (2, false), (1, true)] {
        let layers = L64::new(dims(3, 4, Kind::Tanh), num_layers, bidir, &mut r).unwrap();
        let n = layers.cells().len();
        let xs = randn3(&mut r, (5, 2, 3));
        let h0 = randn3(&mut r, (n, 2, 4));
        let (out, fin) = layers.forward(xs.view(), std::slice::from_ref(&h0)).unwrap();
        let (want_out, want_hn) = reference(&layers, &xs, &h0);
        assert_close(&out, &want_out, 1e-13, "out");
        assert_close(&fin[0], &want_hn, 1e-13, "h_n");
        assert_eq!(out.dim(), (5, 2, layers.output_size()));
    }
}

fn loss(layers: &L64, xs: &Array3<f64>, init: &[Array3<f64>], g: &Array3<f64>, gfin: &[Array3<f64>]) -> f64 {
    let (out, fin) = layers.forward(xs.view(), init).unwrap();
    (&out * g).sum() + fin.iter().zip(gfin).map(|(a, b)| (a * b).sum()).sum::<f64>()
}

fn check(what: &str, numeric: f64, analytic: f64) {
    let err = (numeric - analytic).abs();
    assert!(
        err <= 1e-7 * (1.0 + analytic.abs()),
        "{what}: numeric {numeric} vs analytic {analytic}"
    );
}

#[test]
fn gradients_match_finite_differences() {
    let eps = 1e-6;
    let mut r = rng(3);
    for (kind, num_layers, bidir) in [(Kind::Leaky, 2, true), (Kind::Tanh, 3, false), (Kind::Relu, 1, true)] {
        let layers = L64::new(dims(3, 4, kind), num_layers, bidir, &mut r).unwrap();
        let n = layers.cells().len();
        let (t_len, batch) = (4, 2);
        let xs = randn3(&mut r, (t_len, batch, 3));
        let init: Vec<Array3<f64>> = layers
            .state_sizes()
            .iter()
            .map(|&w| randn3(&mut r, (n, batch, w)))
            .collect();
        let g = randn3(&mut r, (t_len, batch, layers.output_size()));
        let gfin: Vec<Array3<f64>> = layers
            .state_sizes()
            .iter()
            .map(|&w| randn3(&mut r, (n, batch, w)))
            .collect();
        let trace = layers.forward_train(xs.view(), &init).unwrap();
        let (grads, d_xs, d_init) = layers.backward(&trace, g.view(), &gfin).unwrap();
        let f = |l: &L64, x: &Array3<f64>, i: &[Array3<f64>]| loss(l, x, i, &g, &gfin);

        let analytic = params_of(&grads);
        let names: Vec<String> = analytic.iter().map(|(n, _)| n.clone()).collect();
        for (p, name) in names.iter().enumerate() {
            for e in 0..analytic[p].1.len() {
                let mut plus = layers.clone();
                *plus.named_params_mut()[p].1.iter_mut().nth(e).unwrap() += eps;
                let mut minus = layers.clone();
                *minus.named_params_mut()[p].1.iter_mut().nth(e).unwrap() -= eps;
                let num = (f(&plus, &xs, &init) - f(&minus, &xs, &init)) / (2.0 * eps);
                check(&format!("{kind:?} {name}[{e}]"), num, analytic[p].1[e]);
            }
        }
        for e in 0..xs.len() {
            let (mut xp, mut xm) = (xs.clone(), xs.clone());
            *xp.iter_mut().nth(e).unwrap() += eps;
            *xm.iter_mut().nth(e).unwrap() -= eps;
            let num = (f(&layers, &xp, &init) - f(&layers, &xm, &init)) / (2.0 * eps);
            check(&format!("{kind:?} x[{e}]"), num, *d_xs.iter().nth(e).unwrap());
        }
        for k in 0..init.len() {
            for e in 0..init[k].len() {
                let (mut ip, mut im) = (init.clone(), init.clone());
                *ip[k].iter_mut().nth(e).unwrap() += eps;
                *im[k].iter_mut().nth(e).unwrap() -= eps;
                let num = (f(&layers, &xs, &ip) - f(&layers, &xs, &im)) / (2.0 * eps);
                check(
                    &format!("{kind:?} init{k}[{e}]"),
                    num,
                    *d_init[k].iter().nth(e).unwrap(),
                );
            }
        }
        // Accumulation: a second backward_into doubles the gradients.
        let mut acc = grads.clone();
        layers.backward_into(&trace, g.view(), &gfin, &mut acc).unwrap();
        for ((_, a), (_, b)) in params_of(&acc).iter().zip(&analytic) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - 2.0 * y).abs() <= 1e-12 * (1.0 + y.abs()));
            }
        }
    }
}

#[test]
fn names_follow_pytorch_state_dict() {
    let mut layers = L64::zeros(dims(3, 4, Kind::Tanh), 2, true).unwrap();
    let names: Vec<String> = layers.named_params().into_iter().map(|(n, _)| n).collect();
    let mut want = Vec::new();
    for sfx in ["_l0", "_l0_reverse", "_l1", "_l1_reverse"] {
        for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
            want.push(format!("{p}{sfx}"));
        }
    }
    assert_eq!(names, want);
    let shapes: Vec<Vec<usize>> = layers.named_params().iter().map(|(_, v)| v.shape().to_vec()).collect();
    assert_eq!(shapes[0], vec![4, 3]);
    assert_eq!(shapes[8], vec![4, 8], "weight_ih_l1 takes D*H inputs");
    assert_eq!(layers.num_scalars(), 2 * (12 + 16 + 8) + 2 * (32 + 16 + 8));
    assert_eq!(param_name("bias_hh", 3, 1), "bias_hh_l3_reverse");
    assert_eq!(layers.named_params_mut().len(), 16);
}

#[test]
fn load_checks_every_name_and_shape() {
    let mut r = rng(4);
    let src = L64::new(dims(3, 4, Kind::Tanh), 2, true, &mut r).unwrap();
    let mut dst = L64::zeros(dims(3, 4, Kind::Tanh), 2, true).unwrap();
    let file = src.to_tensor_file();
    dst.load_from(&file).unwrap();
    assert_eq!(params_of(&dst), params_of(&src));

    let mut fresh = L64::zeros(dims(3, 4, Kind::Tanh), 2, true).unwrap();
    let before = params_of(&fresh);
    // Missing tensor.
    let mut missing = file.clone();
    missing.remove("weight_hh_l1_reverse");
    let err = fresh.load_from(&missing).unwrap_err().to_string();
    assert!(err.contains("missing parameters: weight_hh_l1_reverse"), "{err}");
    // Unknown extra tensor.
    let mut extra = file.clone();
    extra.insert("weight_ih_l2", ndarray::ArrayD::zeros(ndarray::IxDyn(&[4, 8])));
    let err = fresh.load_from(&extra).unwrap_err().to_string();
    assert!(err.contains("unexpected") && err.contains("weight_ih_l2"), "{err}");
    // Wrong shape names the tensor and both shapes.
    let mut bad = file.clone();
    bad.insert("bias_ih_l1", ndarray::ArrayD::zeros(ndarray::IxDyn(&[5])));
    let err = fresh.load_from(&bad).unwrap_err();
    assert!(
        matches!(&err, RnnError::Shape { what, expected, got } if what.contains("bias_ih_l1") && expected == &[4] && got == &[5]),
        "{err:?}"
    );
    // Nothing changed after the failures.
    assert_eq!(params_of(&fresh), before);
    // Named tensors directly.
    let views = file.views();
    fresh
        .load_named(views.iter().map(|(n, v)| (n.as_str(), v.clone())))
        .unwrap();
    assert_eq!(params_of(&fresh), params_of(&src));
}

#[test]
fn save_and_load_a_file() {
    let mut r = rng(5);
    let src = L64::new(dims(2, 3, Kind::Leaky), 2, false, &mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("rnn-layers-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    src.save(&path, &BTreeMap::new()).unwrap();
    let mut dst = L64::zeros(src.dims(), 2, false).unwrap();
    dst.load_file(&path).unwrap();
    assert_eq!(params_of(&dst), params_of(&src));
    let header = crate::io::read_header(&path).unwrap();
    assert_eq!(header.metadata["cell"], "TestRnn");
    assert_eq!(header.metadata["num_layers"], "2");
    // An f32 model loads the f64 file (rounded).
    let mut narrow = Layers::<f32, TestRnn<f32>>::zeros(src.dims(), 2, false).unwrap();
    narrow.load_file(&path).unwrap();
    assert_eq!(
        narrow.cells()[1].weight_hh[[0, 1]],
        src.cells()[1].weight_hh[[0, 1]] as f32
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn step_matches_forward() {
    let mut r = rng(6);
    let layers = L64::new(dims(3, 4, Kind::Leaky), 3, false, &mut r).unwrap();
    let xs = randn3(&mut r, (5, 2, 3));
    let init: Vec<Array3<f64>> = (0..2).map(|_| randn3(&mut r, (3, 2, 4))).collect();
    let (out, fin) = layers.forward(xs.view(), &init).unwrap();
    let mut state = init.clone();
    for t in 0..5 {
        let y = layers.step(xs.index_axis(Axis(0), t), &mut state).unwrap();
        for (a, b) in y.iter().zip(out.index_axis(Axis(0), t)) {
            assert!((a - b).abs() < 1e-14);
        }
    }
    for (a, b) in state.iter().zip(&fin) {
        assert_close(a, b, 1e-14, "step state");
    }
    let bi = L64::new(dims(3, 4, Kind::Tanh), 1, true, &mut r).unwrap();
    assert!(matches!(
        bi.step(xs.index_axis(Axis(0), 0), &mut bi.zero_state(2)),
        Err(RnnError::Invalid(_))
    ));
    assert!(matches!(
        layers.step(xs.index_axis(Axis(0), 0), &mut []),
        Err(RnnError::Shape { .. })
    ));
}

#[test]
fn wrong_shapes_are_errors() {
    let mut r = rng(7);
    let layers = L64::new(dims(3, 4, Kind::Leaky), 2, true, &mut r).unwrap();
    let xs = randn3(&mut r, (5, 2, 3));
    let shape_err = |e: RnnError| assert!(matches!(e, RnnError::Shape { .. }), "{e:?}");
    shape_err(layers.forward(randn3(&mut r, (5, 2, 4)).view(), &[]).unwrap_err());
    shape_err(layers.forward(xs.view(), &[Array3::zeros((4, 2, 4))]).unwrap_err());
    shape_err(
        layers
            .forward(xs.view(), &[Array3::zeros((4, 2, 4)), Array3::zeros((2, 2, 4))])
            .unwrap_err(),
    );
    shape_err(
        layers
            .forward_train(xs.view(), &[Array3::zeros((4, 3, 4)), Array3::zeros((4, 2, 4))])
            .unwrap_err(),
    );
    let trace = layers.forward_train(xs.view(), &[]).unwrap();
    shape_err(
        layers
            .backward(&trace, Array3::zeros((5, 2, 4)).view(), &[])
            .unwrap_err(),
    );
    shape_err(
        layers
            .backward(&trace, Array3::zeros((4, 2, 8)).view(), &[])
            .unwrap_err(),
    );
    shape_err(
        layers
            .backward(&trace, Array3::zeros((5, 2, 8)).view(), &[Array3::zeros((4, 2, 4))])
            .unwrap_err(),
    );
    // A trace from other layers.
    let small = L64::new(dims(3, 4, Kind::Leaky), 1, true, &mut r).unwrap();
    let other = small.forward_train(xs.view(), &[]).unwrap();
    shape_err(
        layers
            .backward(&other, Array3::zeros((5, 2, 8)).view(), &[])
            .unwrap_err(),
    );
    // Gradients of another shape.
    let mut ok = small.zeros_like();
    assert!(
        small
            .backward_into(&other, Array3::zeros((5, 2, 8)).view(), &[], &mut ok)
            .is_ok()
    );
    assert!(matches!(
        layers.backward_into(&trace, Array3::zeros((5, 2, 8)).view(), &[], &mut small.zeros_like()),
        Err(RnnError::Invalid(_))
    ));
    // Construction errors.
    assert!(matches!(
        L64::zeros(dims(3, 4, Kind::Tanh), 0, false),
        Err(RnnError::Invalid(_))
    ));
    let cells = layers.cells().to_vec();
    assert!(matches!(
        L64::from_cells(cells.clone(), 2, false),
        Err(RnnError::Dimension(_))
    ));
    let mut swapped = cells.clone();
    swapped.swap(0, 2);
    assert!(matches!(L64::from_cells(swapped, 2, true), Err(RnnError::Dimension(_))));
    assert!(L64::from_cells(cells, 2, true).is_ok());
    // Zero-length sequences are fine.
    let (out, fin) = layers.forward(Array3::zeros((0, 2, 3)).view(), &[]).unwrap();
    assert_eq!(out.dim(), (0, 2, 8));
    assert_eq!(fin[1].dim(), (4, 2, 4));
}
