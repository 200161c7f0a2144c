//! Drawing the next token from a row of logits: greedy (argmax) or from
//! `softmax(logits / temperature)`.
//!
//! Probabilities are computed in `f64` with the row maximum subtracted, so
//! any finite logits work; the draw uses one uniform number from the given
//! generator, so a seeded generator gives a reproducible sample.

use crate::error::RnnError;
use crate::float::Float;
use ndarray::ArrayView1;
use rand::Rng;

/// The index of the largest logit (the first one on ties).
///
/// Errors: [`RnnError::Invalid`] if `logits` is empty or holds a NaN.
pub fn argmax<F: Float>(logits: ArrayView1<'_, F>) -> Result<usize, RnnError> {
    let mut best: Option<(usize, F)> = None;
    for (i, &x) in logits.iter().enumerate() {
        if x.is_nan() {
            return Err(RnnError::Invalid(format!("logit {i} is NaN")));
        }
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
        .ok_or_else(|| RnnError::Invalid("cannot sample from no logits".into()))
}

/// Draws an index from `softmax(logits / temperature)`; a temperature of 0
/// is greedy ([`argmax`]).
///
/// Errors: [`RnnError::Invalid`] if `logits` is empty or not finite, or the
/// temperature is negative or NaN.
pub fn sample_logits<F: Float, R: Rng + ?Sized>(
    logits: ArrayView1<'_, F>,
    temperature: f64,
    rng: &mut R,
) -> Result<usize, RnnError> {
    if temperature.is_nan() || temperature < 0.0 {
        return Err(RnnError::Invalid(format!(
            "temperature must be >= 0, got {temperature}"
        )));
    }
    let best = argmax(logits)?;
    if temperature == 0.0 {
        return Ok(best);
    }
    if let Some(i) = logits.iter().position(|x| !x.is_finite()) {
        return Err(RnnError::Invalid(format!("logit {i} is not finite")));
    }
    let max = logits[best].to_f64c();
    let weights: Vec<f64> = logits
        .iter()
        .map(|&x| ((x.to_f64c() - max) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return Ok(i);
        }
        u -= w;
    }
    // Rounding left `u` just past the last weight: take the last positive one.
    Ok(weights.iter().rposition(|&w| w > 0.0).unwrap_or(best))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn greedy_and_errors() {
        let l = array![0.1_f32, 3.0, 3.0, -1.0];
        assert_eq!(argmax(l.view()).unwrap(), 1);
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(sample_logits(l.view(), 0.0, &mut rng).unwrap(), 1);
        assert!(sample_logits(l.view(), -1.0, &mut rng).is_err());
        assert!(sample_logits(array![f64::NAN].view(), 1.0, &mut rng).is_err());
        assert!(sample_logits(ndarray::Array1::<f64>::zeros(0).view(), 1.0, &mut rng).is_err());
    }

    #[test]
    fn frequencies_follow_the_tempered_softmax() {
        let l = array![0.0_f64, 1.0, 2.0];
        let t = 0.8;
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0usize; 3];
        let n = 40_000;
        for _ in 0..n {
            counts[sample_logits(l.view(), t, &mut rng).unwrap()] += 1;
        }
        let w: Vec<f64> = l.iter().map(|x| (x / t).exp()).collect();
        let z: f64 = w.iter().sum();
        for (c, w) in counts.iter().zip(&w) {
            assert!((*c as f64 / n as f64 - w / z).abs() < 0.01);
        }
        // Very low temperature is (almost surely) greedy; large logits do not overflow.
        let big = array![1000.0_f32, 0.0, 999.0];
        assert_eq!(sample_logits(big.view(), 1e-3, &mut rng).unwrap(), 0);
    }
}
