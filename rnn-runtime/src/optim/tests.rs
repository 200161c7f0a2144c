//! Optimiser updates against hand-computed PyTorch values.
use super::*;
use ndarray::{ArrayD, IxDyn, array};

/// Runs `steps` updates of a 2-element parameter with fixed gradients per step.
fn run<O: Optimizer<f64>>(opt: &mut O, p0: [f64; 2], grads: &[[f64; 2]]) -> Vec<f64> {
    let mut p = ArrayD::from_shape_vec(IxDyn(&[2]), p0.to_vec()).unwrap();
    for g in grads {
        let g = ArrayD::from_shape_vec(IxDyn(&[2]), g.to_vec()).unwrap();
        opt.step(&mut [p.view_mut()], &[g.view()]).unwrap();
    }
    p.into_raw_vec_and_offset().0
}

fn close(a: &[f64], b: &[f64]) {
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

const GRADS: [[f64; 2]; 3] = [[0.5, -1.0], [0.25, 2.0], [-0.5, 0.0]];

#[test]
fn defaults_are_pytorch_defaults() {
    assert_eq!(SgdConfig::default().lr, 1e-3);
    assert_eq!(AdagradConfig::default().lr, 1e-2);
    assert_eq!(AdagradConfig::default().eps, 1e-10);
    let a = AdamConfig::default();
    assert_eq!(
        (a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad),
        (1e-3, 0.9, 0.999, 1e-8, 0.0, false)
    );
}

#[test]
fn plain_sgd() {
    let mut o = Sgd::new(SgdConfig {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    // p = 1 - 0.1*(0.5+0.25-0.5), 2 - 0.1*(-1+2+0)
    close(&run(&mut o, [1.0, 2.0], &GRADS), &[0.975, 1.9]);
    assert_eq!(o.steps_taken(), 3);
}

#[test]
fn sgd_momentum_and_weight_decay() {
    // Hand computation of torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1), element 0:
    // k=1: g=0.5+0.1*1=0.6, b=0.6, p=1-0.06=0.94
    // k=2: g=0.25+0.094=0.344, b=0.54+0.344=0.884, p=0.94-0.0884=0.8516
    // k=3: g=-0.5+0.08516=-0.41484, b=0.7956-0.41484=0.38076, p=0.8516-0.038076=0.813524
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.1,
        ..Default::default()
    };
    let mut o = Sgd::new(cfg).unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    assert!((p[0] - 0.813524).abs() < 1e-12, "{p:?}");
}

#[test]
fn sgd_nesterov_and_dampening() {
    // Nesterov, lr 0.1, momentum 0.5, element 1 (p=2, g=-1, 2, 0):
    // k=1: b=-1, d=-1-0.5=-1.5, p=2.15
    // k=2: b=-0.5+2=1.5, d=2+0.75=2.75, p=1.875
    // k=3: b=0.75, d=0.375, p=1.8375
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.5,
        nesterov: true,
        ..Default::default()
    };
    let mut o = Sgd::new(cfg).unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    assert!((p[1] - 1.8375).abs() < 1e-12, "{p:?}");
    // Dampening 0.5, momentum 0.5, lr 1, element 1:
    // b=-1 (first step ignores dampening), p=3; b=-0.5+1=0.5, p=2.5; b=0.25, p=2.25
    let cfg = SgdConfig {
        lr: 1.0,
        momentum: 0.5,
        dampening: 0.5,
        ..Default::default()
    };
    let mut o = Sgd::new(cfg).unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    assert!((p[1] - 2.25).abs() < 1e-12, "{p:?}");
    assert!(
        Sgd::<f64>::new(SgdConfig {
            nesterov: true,
            ..Default::default()
        })
        .is_err()
    );
}

#[test]
fn adagrad_matches_hand_values() {
    // lr 0.1, lr_decay 0.5, initial acc 0.1, element 1: g = -1, 2, 0
    // k=1: clr=0.1, s=1.1, p=2+0.1/sqrt(1.1)
    // k=2: clr=0.1/1.5, s=5.1, p -= clr*2/sqrt(5.1)
    // k=3: g=0, no change
    let cfg = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.5,
        initial_accumulator_value: 0.1,
        ..Default::default()
    };
    let mut o = Adagrad::new(cfg).unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    let eps = 1e-10;
    let want = 2.0 + 0.1 / (1.1_f64.sqrt() + eps) - (0.1 / 1.5) * 2.0 / (5.1_f64.sqrt() + eps);
    assert!((p[1] - want).abs() < 1e-12, "{p:?} vs {want}");
}

#[test]
fn adam_matches_hand_values() {
    // Bias-corrected Adam, lr 0.01, element 0: g = 0.5, 0.25, -0.5
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    let mut o = Adam::new(AdamConfig {
        lr,
        ..Default::default()
    })
    .unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    let (mut m, mut v, mut want) = (0.0_f64, 0.0_f64, 1.0_f64);
    for (k, g) in [0.5_f64, 0.25, -0.5].into_iter().enumerate() {
        let k = k as i32 + 1;
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        want -= lr * (m / (1.0 - b1.powi(k))) / ((v / (1.0 - b2.powi(k))).sqrt() + eps);
    }
    assert!((p[0] - want).abs() < 1e-12, "{p:?} vs {want}");
    // The first step of Adam moves every coordinate by about lr. Written
    // out: m = 0.05, v = 0.00025, m_hat = 0.5, v_hat = 0.25 (element 0),
    // m_hat = -1, v_hat = 1 (element 1).
    let mut o = Adam::new(AdamConfig {
        lr,
        ..Default::default()
    })
    .unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS[..1]);
    close(&p, &[1.0 - 0.01 * 0.5 / (0.5 + 1e-8), 2.0 + 0.01 / (1.0 + 1e-8)]);
}

#[test]
fn adam_weight_decay_and_amsgrad() {
    let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1);
    let cfg = AdamConfig {
        lr,
        weight_decay: wd,
        amsgrad: true,
        ..Default::default()
    };
    let mut o = Adam::new(cfg).unwrap();
    let p = run(&mut o, [1.0, 2.0], &GRADS);
    let (mut m, mut v, mut vmax, mut want) = (0.0_f64, 0.0_f64, 0.0_f64, 2.0_f64);
    for (k, g) in [-1.0_f64, 2.0, 0.0].into_iter().enumerate() {
        let k = k as i32 + 1;
        let g = g + wd * want;
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        vmax = vmax.max(v);
        want -= lr / (1.0 - b1.powi(k)) * m / (vmax.sqrt() / (1.0 - b2.powi(k)).sqrt() + eps);
    }
    assert!((p[1] - want).abs() < 1e-12, "{p:?} vs {want}");
}

#[test]
fn works_on_several_tensors_and_checks_shapes() {
    let mut w = array![[1.0_f64, 2.0], [3.0, 4.0]].into_dyn();
    let mut b = array![1.0_f64].into_dyn();
    let gw = ArrayD::from_elem(IxDyn(&[2, 2]), 1.0);
    let gb = ArrayD::from_elem(IxDyn(&[1]), -1.0);
    let mut o = Sgd::new(SgdConfig {
        lr: 0.5,
        ..Default::default()
    })
    .unwrap();
    o.step(&mut [w.view_mut(), b.view_mut()], &[gw.view(), gb.view()])
        .unwrap();
    assert_eq!(w, array![[0.5, 1.5], [2.5, 3.5]].into_dyn());
    assert_eq!(b, array![1.5].into_dyn());
    match o.step(&mut [w.view_mut(), b.view_mut()], &[gw.view(), gw.view()]) {
        Err(RnnError::Shape { expected, got, .. }) => {
            assert_eq!(expected, vec![1]);
            assert_eq!(got, vec![2, 2]);
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(o.step(&mut [w.view_mut()], &[gw.view(), gb.view()]).is_err());
    // Stateful optimisers reject a parameter list that changed shape.
    let mut a = Adam::new(AdamConfig::default()).unwrap();
    a.step(&mut [b.view_mut()], &[gb.view()]).unwrap();
    assert!(a.step(&mut [w.view_mut()], &[gw.view()]).is_err());
    // Named form checks the pairing.
    let mut named = [("w", w.view_mut())];
    assert!(a.step_named(&mut named, &[("b", gb.view())]).is_err());
}

#[test]
fn f32_adam_is_close_to_f64() {
    let mut o32 = Adam::<f32>::new(AdamConfig {
        lr: 2e-3,
        ..Default::default()
    })
    .unwrap();
    let mut o64 = Adam::<f64>::new(AdamConfig {
        lr: 2e-3,
        ..Default::default()
    })
    .unwrap();
    let mut p32 = ArrayD::<f32>::from_elem(IxDyn(&[3]), 0.5);
    let mut p64 = ArrayD::<f64>::from_elem(IxDyn(&[3]), 0.5);
    for k in 0..20 {
        let g: Vec<f64> = (0..3).map(|i| ((k * 3 + i) as f64).sin()).collect();
        let g64 = ArrayD::from_shape_vec(IxDyn(&[3]), g.clone()).unwrap();
        let g32 = g64.mapv(|x| x as f32);
        o32.step(&mut [p32.view_mut()], &[g32.view()]).unwrap();
        o64.step(&mut [p64.view_mut()], &[g64.view()]).unwrap();
    }
    for (a, b) in p32.iter().zip(&p64) {
        assert!((*a as f64 - b).abs() < 1e-6);
    }
}
