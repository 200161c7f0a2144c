//! Adam with bias correction and optional AMSGrad, as PyTorch computes it.

use super::{Optimizer, OptimizerState, Slots, TensorPairs, check_nonneg, invalid, lerp};
use crate::error::RnnError;
use crate::float::Float;
use ndarray::Zip;

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
        Ok(Adam {
            config,
            m: Slots::new(),
            v: Slots::new(),
            v_max: Slots::new(),
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
    fn update(&mut self, pairs: &mut dyn TensorPairs<F>) -> Result<(), RnnError> {
        let c = self.config;
        self.m.ensure(pairs, F::zero())?;
        self.v.ensure(pairs, F::zero())?;
        if c.amsgrad {
            self.v_max.ensure(pairs, F::zero())?;
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
        for i in 0..pairs.count() {
            let (mut p, g) = pairs.pair(i);
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

    fn state(&self) -> OptimizerState<F> {
        OptimizerState::of(
            "adam",
            self.steps,
            self.lr(),
            &[("m", &self.m), ("v", &self.v), ("v_max", &self.v_max)],
        )
    }

    fn set_state(&mut self, state: &OptimizerState<F>) -> Result<(), RnnError> {
        let bufs = state.check("adam", &["m", "v", "v_max"])?;
        let has_max = !bufs[2].is_empty();
        if self.config.amsgrad != has_max && !bufs[0].is_empty() {
            return Err(RnnError::Invalid(format!(
                "adam state {} the AMSGrad maximum, but these settings {} AMSGrad",
                if bufs[2].is_empty() { "lacks" } else { "has" },
                if self.config.amsgrad { "use" } else { "do not use" }
            )));
        }
        let mut b = bufs.into_iter();
        self.m.bufs = b.next().expect("slot");
        self.v.bufs = b.next().expect("slot");
        self.v_max.bufs = b.next().expect("slot");
        self.steps = state.steps;
        self.set_lr(state.lr);
        Ok(())
    }
}
