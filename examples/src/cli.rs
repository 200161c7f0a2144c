//! Command-line value checks shared by the programs: each parses one
//! option's text and says the accepted range when it is outside it, so a
//! bad setting stops the program before any work (clap prints the message
//! with the option's name and exits with status 2).
//!
//! ```
//! use rnn_examples::cli::{at_least_one, positive_finite};
//! assert_eq!(at_least_one("3"), Ok(3));
//! assert!(at_least_one("0").unwrap_err().contains(">= 1"));
//! assert!(positive_finite("nan").unwrap_err().contains("finite"));
//! ```

/// A whole number >= 1 (sizes, counts).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    let v: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a whole number >= 1, got {s:?}"))?;
    if v == 0 {
        return Err("must be >= 1, got 0".into());
    }
    Ok(v)
}

fn finite(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("expected a number, got {s:?}"))?;
    if !v.is_finite() {
        return Err(format!("must be a finite number, got {s}"));
    }
    Ok(v)
}

/// A finite number > 0 (learning rates, clipping norms).
pub fn positive_finite(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v <= 0.0 {
        return Err(format!("must be a finite number > 0, got {s}"));
    }
    Ok(v)
}

/// A gradient clipping norm: a finite number > 0 (the message points to
/// `--no-clip`, the way to turn clipping off).
pub fn clip_norm(s: &str) -> Result<f64, String> {
    positive_finite(s).map_err(|e| format!("{e} (--no-clip turns clipping off)"))
}

/// A sampling temperature: a finite number >= 0 (0: always the most likely).
pub fn temperature(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if v < 0.0 {
        return Err(format!("must be a finite number >= 0 (0: greedy), got {s}"));
    }
    Ok(v)
}

/// A probability in [0, 1) (dropout).
pub fn probability(s: &str) -> Result<f64, String> {
    let v = finite(s)?;
    if !(0.0..1.0).contains(&v) {
        return Err(format!("must be in [0, 1), got {s}"));
    }
    Ok(v)
}

/// The most threads a program takes: the machine's available parallelism.
pub fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A thread count in 1..=[`max_threads`].
pub fn threads(s: &str) -> Result<usize, String> {
    let v = at_least_one(s)?;
    let max = max_threads();
    if v > max {
        return Err(format!(
            "must be in 1..={max} (the available parallelism of this machine), got {v}"
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced_with_their_bounds_in_the_message() {
        assert_eq!(at_least_one(" 7"), Ok(7));
        assert!(at_least_one("-1").unwrap_err().contains("whole number"));
        assert_eq!(positive_finite("2e-3"), Ok(2e-3));
        for bad in ["0", "-3", "inf", "nan", "x"] {
            assert!(positive_finite(bad).is_err(), "{bad}");
        }
        assert!(clip_norm("0").unwrap_err().contains("--no-clip"));
        assert_eq!(temperature("0"), Ok(0.0));
        assert!(temperature("-1").unwrap_err().contains(">= 0"));
        assert!(temperature("nan").is_err());
        assert_eq!(probability("0.25"), Ok(0.25));
        assert!(probability("1").is_err());
        assert_eq!(threads("1"), Ok(1));
        assert!(threads("100000").unwrap_err().contains("available parallelism"));
        assert!(threads("0").is_err());
    }
}
