//! Stochastic gradient descent with PyTorch's momentum, dampening and
//! Nesterov options.

use super::{Optimizer, OptimizerState, Slots, TensorPairs, check_nonneg, invalid};
use crate::error::RnnError;
use crate::float::Float;
use ndarray::Zip;

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
            momentum: Slots::new(),
            steps: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn update(&mut self, pairs: &mut dyn TensorPairs<F>) -> Result<(), RnnError> {
        let c = self.config;
        let lr = F::from_f64c(c.lr);
        let wd = F::from_f64c(c.weight_decay);
        let mom = F::from_f64c(c.momentum);
        let keep = F::from_f64c(1.0 - c.dampening);
        let decay = c.weight_decay != 0.0;
        let first = self.momentum.bufs.is_empty();
        if c.momentum == 0.0 {
            for k in 0..pairs.count() {
                let (p, g) = pairs.pair(k);
                Zip::from(p).and(&g).for_each(|p, &g| {
                    let g = if decay { g + wd * *p } else { g };
                    *p += -lr * g;
                });
            }
        } else {
            self.momentum.ensure(pairs, F::zero())?;
            for (k, b) in self.momentum.bufs.iter_mut().enumerate() {
                let (p, g) = pairs.pair(k);
                Zip::from(p).and(&g).and(b).for_each(|p, &g, b| {
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

    fn state(&self) -> OptimizerState<F> {
        OptimizerState::of("sgd", self.steps, self.lr(), &[("momentum", &self.momentum)])
    }

    fn set_state(&mut self, state: &OptimizerState<F>) -> Result<(), RnnError> {
        let bufs = state.check("sgd", &["momentum"])?;
        let mut b = bufs.into_iter();
        self.momentum.bufs = b.next().expect("slot");
        self.steps = state.steps;
        self.set_lr(state.lr);
        Ok(())
    }
}
