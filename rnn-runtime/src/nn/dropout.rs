//! Inverted dropout (PyTorch's `nn.Dropout`): in training each value is
//! zeroed with probability `p` and the others are scaled by `1 / (1 - p)`,
//! so evaluation needs no rescaling; the backward pass multiplies the
//! gradient by the same mask.
//!
//! Masks come from a generator made for one pass from a seed and the pass
//! number ([`pass_rng`]), so a run is reproducible and a test can replay
//! the mask of a pass.

use crate::float::Float;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The generator of dropout pass `pass` of a model whose dropout seed is
/// `seed` (independent streams for different passes).
pub fn pass_rng(seed: u64, pass: u64) -> StdRng {
    // SplitMix64's increment spreads consecutive passes apart.
    StdRng::seed_from_u64(seed ^ pass.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Fills `mask` with dropout factors: `0` with probability `p`, else
/// `1 / (1 - p)`, one uniform draw per value in order.
///
/// ```
/// use rnn_runtime::nn::dropout::{draw_mask, pass_rng};
/// let mut m = vec![0.0_f32; 1000];
/// draw_mask(&mut m, 0.25, &mut pass_rng(7, 0));
/// let kept = m.iter().filter(|&&x| x > 0.0).count();
/// assert!(m.iter().all(|&x| x == 0.0 || (x - 1.0 / 0.75).abs() < 1e-6));
/// assert!((650..850).contains(&kept));
/// ```
pub fn draw_mask<F: Float, R: Rng + ?Sized>(mask: &mut [F], p: f64, rng: &mut R) {
    let keep = F::from_f64c(1.0 / (1.0 - p));
    for m in mask {
        *m = if rng.random::<f64>() < p { F::zero() } else { keep };
    }
}

/// `x *= mask`, elementwise.
///
/// Panics if the lengths differ.
pub fn apply_mask<F: Float>(x: &mut [F], mask: &[F]) {
    assert_eq!(x.len(), mask.len(), "one factor per value");
    for (x, &m) in x.iter_mut().zip(mask) {
        *x *= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_replay_and_differ() {
        let draw = |seed, pass| {
            let mut m = vec![0.0_f64; 64];
            draw_mask(&mut m, 0.5, &mut pass_rng(seed, pass));
            m
        };
        assert_eq!(draw(1, 3), draw(1, 3));
        assert_ne!(draw(1, 3), draw(1, 4));
        assert_ne!(draw(1, 3), draw(2, 3));
        let mut x = vec![2.0_f64; 64];
        let m = draw(1, 3);
        apply_mask(&mut x, &m);
        assert!(x.iter().zip(&m).all(|(&x, &m)| x == 2.0 * m));
    }
}
