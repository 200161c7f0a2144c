//! Adagrad with PyTorch's learning-rate decay and initial accumulator.

use super::{Optimizer, OptimizerState, Slots, TensorPairs, check_nonneg};
use crate::error::RnnError;
use crate::float::Float;
use ndarray::Zip;

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
            sum: Slots::new(),
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AdagradConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    fn update(&mut self, pairs: &mut dyn TensorPairs<F>) -> Result<(), RnnError> {
        let c = self.config;
        self.sum.ensure(pairs, F::from_f64c(c.initial_accumulator_value))?;
        let k = self.steps + 1;
        let clr = F::from_f64c(c.lr / (1.0 + (k - 1) as f64 * c.lr_decay));
        let wd = F::from_f64c(c.weight_decay);
        let eps = F::from_f64c(c.eps);
        let decay = c.weight_decay != 0.0;
        for (i, s) in self.sum.bufs.iter_mut().enumerate() {
            let (p, g) = pairs.pair(i);
            Zip::from(p).and(&g).and(s).for_each(|p, &g, s| {
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

    fn state(&self) -> OptimizerState<F> {
        OptimizerState::of("adagrad", self.steps, self.lr(), &[("sum", &self.sum)])
    }

    fn set_state(&mut self, state: &OptimizerState<F>) -> Result<(), RnnError> {
        let bufs = state.check("adagrad", &["sum"])?;
        let mut b = bufs.into_iter();
        self.sum.bufs = b.next().expect("slot");
        self.steps = state.steps;
        self.set_lr(state.lr);
        Ok(())
    }
}
