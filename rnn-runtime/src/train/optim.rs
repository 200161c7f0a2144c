//! Optimisers with PyTorch's update rules: SGD (momentum, dampening,
//! Nesterov), Adagrad and Adam (bias-corrected, optional AMSGrad).
//!
//! Every optimiser implements [`Optimizer`], which updates any list of
//! ndarray tensors from a matching list of gradients, so the same optimiser
//! drives a cell, a stack of layers, an output head or all of them at once.
//! Per-parameter state (momentum buffers, moment estimates) is created on the
//! first step from the parameters' shapes and matched by position after
//! that. Each `Config` defaults to PyTorch's defaults, and every update is
//! written in the order PyTorch's single-tensor implementation computes it,
//! so `f32` results agree with PyTorch's to rounding. Weight decay is
//! PyTorch's L2 form, `g <- g + weight_decay * p`, applied before the update.

use crate::error::RnnError;
use crate::float::Float;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

/// Updates a list of parameter tensors from their gradients.
///
/// `params[k]` and `grads[k]` must have the same shape, and the list must be
/// the same (same length, same shapes, same order) at every step, because
/// per-parameter state is matched by position.
pub trait Optimizer<F: Float> {
    /// Applies one update to every parameter.
    ///
    /// Errors: [`RnnError::Shape`] if the lists differ in length, a gradient
    /// differs in shape from its parameter, or a parameter's shape differs
    /// from the one seen at the first step.
    fn step(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError>;

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate used by the next steps (for schedules).
    fn set_lr(&mut self, lr: f64);

    /// How many steps have been applied since creation or [`Optimizer::reset`].
    fn steps_taken(&self) -> usize;

    /// Forgets all per-parameter state and the step count.
    fn reset(&mut self);

    /// [`Optimizer::step`] on `(name, tensor)` lists such as
    /// [`crate::Cell::params_mut`] and [`crate::Cell::params`] return;
    /// checks that the names agree pairwise.
    fn step_named<N: AsRef<str>, M: AsRef<str>>(
        &mut self,
        params: &mut [(N, ArrayViewMutD<'_, F>)],
        grads: &[(M, ArrayViewD<'_, F>)],
    ) -> Result<(), RnnError>
    where
        Self: Sized,
    {
        if params.len() != grads.len() {
            return Err(RnnError::shape("gradient list", &[params.len()], &[grads.len()]));
        }
        for ((pn, _), (gn, _)) in params.iter().zip(grads) {
            if pn.as_ref() != gn.as_ref() {
                return Err(RnnError::Invalid(format!(
                    "parameter `{}` is paired with the gradient of `{}`",
                    pn.as_ref(),
                    gn.as_ref()
                )));
            }
        }
        let mut p: Vec<ArrayViewMutD<'_, F>> = params.iter_mut().map(|(_, v)| v.view_mut()).collect();
        let g: Vec<ArrayViewD<'_, F>> = grads.iter().map(|(_, v)| v.view()).collect();
        self.step(&mut p, &g)
    }
}

/// Checks the pairing of parameters and gradients.
fn check_lists<F>(params: &[ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError> {
    if params.len() != grads.len() {
        return Err(RnnError::shape("gradient list", &[params.len()], &[grads.len()]));
    }
    for (k, (p, g)) in params.iter().zip(grads).enumerate() {
        if p.shape() != g.shape() {
            return Err(RnnError::shape(
                format!("gradient of parameter {k}"),
                p.shape(),
                g.shape(),
            ));
        }
    }
    Ok(())
}

/// Per-parameter buffers, created at the first step with the parameters' shapes.
#[derive(Debug, Clone)]
struct Slots<F> {
    bufs: Vec<ArrayD<F>>,
}

impl<F: Float> Slots<F> {
    /// Makes sure there is one buffer per parameter, filled with `init` when new.
    fn ensure(&mut self, params: &[ArrayViewMutD<'_, F>], init: F) -> Result<(), RnnError> {
        if self.bufs.is_empty() {
            self.bufs = params.iter().map(|p| ArrayD::from_elem(p.raw_dim(), init)).collect();
            return Ok(());
        }
        if self.bufs.len() != params.len() {
            return Err(RnnError::shape("parameter list", &[self.bufs.len()], &[params.len()]));
        }
        for (k, (b, p)) in self.bufs.iter().zip(params).enumerate() {
            if b.shape() != p.shape() {
                return Err(RnnError::shape(format!("parameter {k}"), b.shape(), p.shape()));
            }
        }
        Ok(())
    }
}

fn invalid(msg: String) -> RnnError {
    RnnError::Invalid(msg)
}

fn check_nonneg(name: &str, v: f64) -> Result<(), RnnError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(format!("{name} must be finite and >= 0, got {v}")))
    }
}

/// PyTorch's `torch.lerp(a, b, w)` as its CPU kernel computes it; `small`
/// is `|w| < 0.5`, decided once per step by the caller.
#[inline(always)]
fn lerp<F: Float>(a: F, b: F, w: F, small: bool) -> F {
    if small {
        a + w * (b - a)
    } else {
        b - (b - a) * (F::one() - w)
    }
}

/// Settings of [`Sgd`]; `Default` is `torch.optim.SGD`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (PyTorch: `1e-3`).
    pub lr: f64,
    /// Momentum factor (0: plain SGD, `p <- p - lr g`).
    pub momentum: f64,
    /// Dampening of the momentum buffer update (0).
    pub dampening: f64,
    /// L2 weight decay (0).
    pub weight_decay: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// Stochastic gradient descent, `torch.optim.SGD`:
///
/// ```text
/// g <- g + wd p
/// b <- g                         (first step)
/// b <- momentum b + (1 - dampening) g   (later steps)
/// g <- g + momentum b  (Nesterov)  or  g <- b
/// p <- p - lr g
/// ```
///
/// With `momentum == 0` this is the plain rule `W <- W - eta dL/dW`.
#[derive(Debug, Clone)]
pub struct Sgd<F> {
    config: SgdConfig,
    momentum: Slots<F>,
    steps: usize,
}

impl<F: Float> Sgd<F> {
    /// An SGD optimiser; rejects negative or non-finite settings and
    /// Nesterov without momentum or with dampening (as PyTorch does).
    pub fn new(config: SgdConfig) -> Result<Self, RnnError> {
        check_nonneg("lr", config.lr)?;
        check_nonneg("momentum", config.momentum)?;
        check_nonneg("dampening", config.dampening)?;
        check_nonneg("weight_decay", config.weight_decay)?;
        if config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0) {
            return Err(invalid(
                "Nesterov momentum requires a momentum and zero dampening".into(),
            ));
        }
        Ok(Sgd {
            config,
            momentum: Slots { bufs: Vec::new() },
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError> {
        check_lists(params, grads)?;
        let c = self.config;
        let lr = F::from_f64c(c.lr);
        let wd = F::from_f64c(c.weight_decay);
        let mom = F::from_f64c(c.momentum);
        let keep = F::from_f64c(1.0 - c.dampening);
        let decay = c.weight_decay != 0.0;
        let first = self.momentum.bufs.is_empty();
        if c.momentum == 0.0 {
            for (p, g) in params.iter_mut().zip(grads) {
                Zip::from(p).and(g).for_each(|p, &g| {
                    let g = if decay { g + wd * *p } else { g };
                    *p += -lr * g;
                });
            }
        } else {
            self.momentum.ensure(params, F::zero())?;
            for ((p, g), b) in params.iter_mut().zip(grads).zip(&mut self.momentum.bufs) {
                Zip::from(p).and(g).and(b).for_each(|p, &g, b| {
                    let g = if decay { g + wd * *p } else { g };
                    *b = if first { g } else { *b * mom + keep * g };
                    let d = if c.nesterov { g + mom * *b } else { *b };
                    *p += -lr * d;
                });
            }
        }
        self.steps += 1;
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn reset(&mut self) {
        self.momentum.bufs.clear();
        self.steps = 0;
    }
}

/// Settings of [`Adagrad`]; `Default` is `torch.optim.Adagrad`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (PyTorch: `1e-2`).
    pub lr: f64,
    /// Learning-rate decay per step (0).
    pub lr_decay: f64,
    /// L2 weight decay (0).
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients (0).
    pub initial_accumulator_value: f64,
    /// Added to the root of the sum (`1e-10`).
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// Adagrad, `torch.optim.Adagrad`:
///
/// ```text
/// g <- g + wd p
/// clr = lr / (1 + (k - 1) lr_decay)      (k: 1-based step)
/// s <- s + g g
/// p <- p - clr g / (sqrt(s) + eps)
/// ```
#[derive(Debug, Clone)]
pub struct Adagrad<F> {
    config: AdagradConfig,
    sum: Slots<F>,
    steps: usize,
}

impl<F: Float> Adagrad<F> {
    /// An Adagrad optimiser; rejects negative or non-finite settings.
    pub fn new(config: AdagradConfig) -> Result<Self, RnnError> {
        check_nonneg("lr", config.lr)?;
        check_nonneg("lr_decay", config.lr_decay)?;
        check_nonneg("weight_decay", config.weight_decay)?;
        check_nonneg("initial_accumulator_value", config.initial_accumulator_value)?;
        check_nonneg("eps", config.eps)?;
        Ok(Adagrad {
            config,
            sum: Slots { bufs: Vec::new() },
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    fn step(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError> {
        check_lists(params, grads)?;
        let c = self.config;
        self.sum.ensure(params, F::from_f64c(c.initial_accumulator_value))?;
        let k = self.steps + 1;
        let clr = F::from_f64c(c.lr / (1.0 + (k - 1) as f64 * c.lr_decay));
        let wd = F::from_f64c(c.weight_decay);
        let eps = F::from_f64c(c.eps);
        let decay = c.weight_decay != 0.0;
        for ((p, g), s) in params.iter_mut().zip(grads).zip(&mut self.sum.bufs) {
            Zip::from(p).and(g).and(s).for_each(|p, &g, s| {
                let g = if decay { g + wd * *p } else { g };
                *s += g * g;
                let std = s.sqrt() + eps;
                *p += -clr * g / std;
            });
        }
        self.steps = k;
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn reset(&mut self) {
        self.sum.bufs.clear();
        self.steps = 0;
    }
}

/// Settings of [`Adam`]; `Default` is `torch.optim.Adam`'s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (PyTorch: `1e-3`).
    pub lr: f64,
    /// Decay of the first-moment estimate (`0.9`).
    pub beta1: f64,
    /// Decay of the second-moment estimate (`0.999`).
    pub beta2: f64,
    /// Added to the denominator (`1e-8`).
    pub eps: f64,
    /// L2 weight decay (0).
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad; `false`).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

/// Adam with bias correction, `torch.optim.Adam`:
///
/// ```text
/// g <- g + wd p
/// m <- b1 m + (1 - b1) g            (computed as torch.lerp(m, g, 1 - b1))
/// v <- b2 v + (1 - b2) g g
/// v_max <- max(v_max, v)            (AMSGrad only; then v_max replaces v below)
/// p <- p - (lr / (1 - b1^k)) m / (sqrt(v) / sqrt(1 - b2^k) + eps)
/// ```
///
/// with `k` the 1-based step count; this is the update of CHARLM section 3.
#[derive(Debug, Clone)]
pub struct Adam<F> {
    config: AdamConfig,
    m: Slots<F>,
    v: Slots<F>,
    v_max: Slots<F>,
    steps: usize,
}

impl<F: Float> Adam<F> {
    /// An Adam optimiser; rejects negative or non-finite settings and betas
    /// outside `[0, 1)`.
    pub fn new(config: AdamConfig) -> Result<Self, RnnError> {
        check_nonneg("lr", config.lr)?;
        check_nonneg("eps", config.eps)?;
        check_nonneg("weight_decay", config.weight_decay)?;
        for (name, b) in [("beta1", config.beta1), ("beta2", config.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(invalid(format!("{name} must be in [0, 1), got {b}")));
            }
        }
        let empty = || Slots { bufs: Vec::new() };
        Ok(Adam {
            config,
            m: empty(),
            v: empty(),
            v_max: empty(),
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }
}

/// The per-step constants of an Adam update, in the parameters' float type.
struct AdamScalars<F> {
    neg_step_size: F,
    bc2_sqrt: F,
    w1: F,
    small: bool,
    b2: F,
    w2: F,
    eps: F,
    wd: F,
}

/// The Adam update (without AMSGrad) over contiguous slices of equal length.
#[inline(never)]
fn adam_slices<F: Float, const DECAY: bool>(p: &mut [F], g: &[F], m: &mut [F], v: &mut [F], k: &AdamScalars<F>) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = if DECAY { g + k.wd * *p } else { g };
        *m = lerp(*m, g, k.w1, k.small);
        *v = *v * k.b2 + k.w2 * g * g;
        let denom = v.sqrt() / k.bc2_sqrt + k.eps;
        *p += k.neg_step_size * *m / denom;
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<(), RnnError> {
        check_lists(params, grads)?;
        let c = self.config;
        self.m.ensure(params, F::zero())?;
        self.v.ensure(params, F::zero())?;
        if c.amsgrad {
            self.v_max.ensure(params, F::zero())?;
        }
        let k = self.steps + 1;
        // Scalars in f64 as PyTorch computes them in Python, rounded once.
        let bc1 = 1.0 - c.beta1.powi(k as i32);
        let bc2 = 1.0 - c.beta2.powi(k as i32);
        let neg_step_size = F::from_f64c(-(c.lr / bc1));
        let bc2_sqrt = F::from_f64c(bc2.sqrt());
        let w1 = F::from_f64c(1.0 - c.beta1);
        let small = (1.0 - c.beta1).abs() < 0.5;
        let b2 = F::from_f64c(c.beta2);
        let w2 = F::from_f64c(1.0 - c.beta2);
        let eps = F::from_f64c(c.eps);
        let wd = F::from_f64c(c.weight_decay);
        let decay = c.weight_decay != 0.0;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let m = &mut self.m.bufs[i];
            let v = &mut self.v.bufs[i];
            if c.amsgrad {
                let vm = &mut self.v_max.bufs[i];
                Zip::from(p).and(g).and(m).and(v).and(vm).for_each(|p, &g, m, v, vm| {
                    let g = if decay { g + wd * *p } else { g };
                    *m = lerp(*m, g, w1, small);
                    *v = *v * b2 + w2 * g * g;
                    *vm = vm.max(*v);
                    let denom = vm.sqrt() / bc2_sqrt + eps;
                    *p += neg_step_size * *m / denom;
                });
            } else if let (Some(ps), Some(gs), Some(ms), Some(vs)) =
                (p.as_slice_mut(), g.as_slice(), m.as_slice_mut(), v.as_slice_mut())
            {
                // Contiguous fast path (the usual case): plain slices vectorise.
                let k = AdamScalars {
                    neg_step_size,
                    bc2_sqrt,
                    w1,
                    small,
                    b2,
                    w2,
                    eps,
                    wd,
                };
                if decay {
                    adam_slices::<F, true>(ps, gs, ms, vs, &k);
                } else {
                    adam_slices::<F, false>(ps, gs, ms, vs, &k);
                }
            } else {
                Zip::from(p).and(g).and(m).and(v).for_each(|p, &g, m, v| {
                    let g = if decay { g + wd * *p } else { g };
                    *m = lerp(*m, g, w1, small);
                    *v = *v * b2 + w2 * g * g;
                    let denom = v.sqrt() / bc2_sqrt + eps;
                    *p += neg_step_size * *m / denom;
                });
            }
        }
        self.steps = k;
        Ok(())
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn steps_taken(&self) -> usize {
        self.steps
    }

    fn reset(&mut self) {
        self.m.bufs.clear();
        self.v.bufs.clear();
        self.v_max.bufs.clear();
        self.steps = 0;
    }
}

#[cfg(test)]
mod tests {
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
}
