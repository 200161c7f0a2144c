//! The float types cells are generic over (`f32` for speed, `f64` for checking).

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

/// A float the emitted code runs in: `f32` or `f64`.
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + crate::math::FastMath
    + crate::gemm::GemmKernel
    + 'static
{
    /// The safetensors dtype name (`F32` or `F64`).
    const DTYPE: &'static str;
    /// Converts a constant (rounding once for `f32`).
    fn from_f64c(x: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64c(self) -> f64;
}

impl Float for f32 {
    const DTYPE: &'static str = "F32";
    #[inline(always)]
    fn from_f64c(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64c(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "F64";
    #[inline(always)]
    fn from_f64c(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64c(self) -> f64 {
        self
    }
}

pub use crate::math::sigmoid;

/// PyTorch's `Hardsigmoid`: `clamp(x / 6 + 1/2, 0, 1)`.
#[inline(always)]
pub fn hard_sigmoid<F: Float>(x: F) -> F {
    let three = F::from_f64c(3.0);
    if x <= -three {
        F::zero()
    } else if x >= three {
        F::one()
    } else {
        x / F::from_f64c(6.0) + F::from_f64c(0.5)
    }
}

/// Derivative of [`hard_sigmoid`] (PyTorch's: `1/6` strictly inside `(-3, 3)`, else 0).
#[inline(always)]
pub fn hard_sigmoid_grad<F: Float>(x: F) -> F {
    let three = F::from_f64c(3.0);
    if x > -three && x < three {
        F::one() / F::from_f64c(6.0)
    } else {
        F::zero()
    }
}
