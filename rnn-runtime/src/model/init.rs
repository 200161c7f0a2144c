//! Initialisers over a [`SeqModel`]'s parameters, selected by name
//! pattern (see [`crate::nn::init`]).

use super::SeqModel;
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::nn::init::{Init, forget_bias, init_params};
use rand::Rng;

impl<F: Float, C: Cell<F>> SeqModel<F, C> {
    /// [`init_params`] over this model's parameters.
    pub fn init_params<R: Rng + ?Sized>(&mut self, pattern: &str, init: Init, rng: &mut R) -> Result<usize, RnnError> {
        init_params(&mut self.named_params_mut(), pattern, init, rng)
    }

    /// [`forget_bias`] over this model's parameters.
    pub fn forget_bias(&mut self, value: f64) -> Result<usize, RnnError> {
        forget_bias(&mut self.named_params_mut(), value)
    }
}
