//! The float types cells are generic over (`f32` for speed, `f64` for checking).
//!
//! [`Float`] is the top of the numeric base: `num_traits`' float, the
//! vectorisable functions of [`crate::math`] ([`FastMath`]), the matrix
//! product element of [`crate::gemm`] ([`GemmElem`]) and ndarray's scalar
//! traits. Those modules are bounded by their own traits, never by `Float`,
//! so nothing below this file depends on it.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

use crate::gemm::GemmElem;
use crate::math::FastMath;

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
    + FastMath
    + GemmElem
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
