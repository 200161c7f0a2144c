//! Learning-rate schedules: constant, step decay and cosine annealing.
//!
//! A schedule maps a base learning rate and a step count to the learning
//! rate of that step, in closed form, with PyTorch's formulas
//! (`StepLR`, `CosineAnnealingLR`). Apply it with [`Optimizer::set_lr`]
//! before each update, or with [`LrSchedule::apply`].

use super::Optimizer;
use crate::float::Float;

/// How the learning rate changes with the step count.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LrSchedule {
    /// The base learning rate at every step.
    #[default]
    Constant,
    /// `base * gamma^floor(step / step_size)` (PyTorch's `StepLR`).
    Step {
        /// Steps between decays (0 is treated as 1).
        step_size: usize,
        /// Multiplicative decay.
        gamma: f64,
    },
    /// `eta_min + (base - eta_min) (1 + cos(pi step / t_max)) / 2`
    /// (PyTorch's `CosineAnnealingLR`, closed form).
    Cosine {
        /// Half period in steps (0 is treated as 1).
        t_max: usize,
        /// The smallest learning rate.
        eta_min: f64,
    },
}

impl LrSchedule {
    /// The learning rate at `step` (0-based: step 0 gets `base`).
    pub fn lr(&self, base: f64, step: usize) -> f64 {
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::Step { step_size, gamma } => base * gamma.powi((step / step_size.max(1)) as i32),
            LrSchedule::Cosine { t_max, eta_min } => {
                let x = std::f64::consts::PI * step as f64 / t_max.max(1) as f64;
                eta_min + (base - eta_min) * (1.0 + x.cos()) / 2.0
            }
        }
    }

    /// Sets `opt`'s learning rate to the one for `step`.
    pub fn apply<F: Float, O: Optimizer<F> + ?Sized>(&self, opt: &mut O, base: f64, step: usize) {
        opt.set_lr(self.lr(base, step));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Sgd, SgdConfig};

    #[test]
    fn schedules_follow_pytorch() {
        assert_eq!(LrSchedule::Constant.lr(0.1, 1000), 0.1);
        let s = LrSchedule::Step {
            step_size: 3,
            gamma: 0.5,
        };
        let got: Vec<f64> = (0..7).map(|k| s.lr(1.0, k)).collect();
        assert_eq!(got, vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
        let c = LrSchedule::Cosine { t_max: 4, eta_min: 0.1 };
        assert!((c.lr(1.0, 0) - 1.0).abs() < 1e-15);
        assert!((c.lr(1.0, 2) - 0.55).abs() < 1e-15);
        assert!((c.lr(1.0, 4) - 0.1).abs() < 1e-15);
        let want1 = 0.1 + 0.9 * (1.0 + (std::f64::consts::PI / 4.0).cos()) / 2.0;
        assert!((c.lr(1.0, 1) - want1).abs() < 1e-15);
        let mut o = Sgd::<f32>::new(SgdConfig::default()).unwrap();
        s.apply(&mut o, 1.0, 6);
        assert_eq!(o.lr(), 0.25);
    }
}
