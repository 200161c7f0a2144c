//! Initialisers for any model's named parameters, with PyTorch's rules.
//!
//! Every model here lists its parameters as `(name, tensor)` pairs
//! ([`crate::Cell::params_mut`],
//! [`crate::Layers::named_params_mut`],
//! [`SeqModel::named_params_mut`]); [`init_params`] fills the tensors whose
//! names match a pattern with one [`Init`]:
//!
//! - [`Init::Uniform`], [`Init::PytorchDefault`] (`U(-1/sqrt(H), 1/sqrt(H))`,
//!   what every recurrent cell's `new` draws), [`Init::Normal`];
//! - [`Init::XavierUniform`] and [`Init::XavierNormal`] (Glorot & Bengio
//!   2010, PyTorch's `xavier_uniform_` / `xavier_normal_`: `fan_in` is the
//!   number of columns, `fan_out` the number of rows of the whole 2-D
//!   tensor);
//! - [`Init::Orthogonal`] (Saxe et al. 2014, PyTorch's `orthogonal_`), per
//!   `[H, H]` gate block for stacked recurrent weights `[k*H, H]`;
//! - [`Init::Zeros`] and [`Init::Constant`].
//!
//! [`forget_bias`] sets an LSTM's forget-gate bias (Jozefowicz et al. 2015).
//!
//! Draws are deterministic: tensors in list order, elements in row-major
//! order, normal variates by Box–Muller from two uniforms each, all from the
//! caller's generator, so a seeded generator reproduces an initialisation
//! bit for bit. Orthogonal matrices come from a QR factorisation by
//! modified Gram–Schmidt with one re-orthogonalisation pass, in `f64`.
//!
//! # Patterns
//!
//! A pattern is a glob where `*` matches any run of characters. A pattern
//! with a `.` is matched against the full name (`rnn.weight_hh_l0`); one
//! without is matched against the part after the last `.` (`weight_hh_l0`),
//! so `weight_hh*` selects every recurrent weight and `bias*` every bias,
//! the head's included; `rnn.bias*` only the layers'.

use super::model::{SeqModel, standard_normal};
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array2, ArrayViewMutD};
use rand::Rng;

/// How to fill a parameter tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// `U(low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// PyTorch's default for recurrent layers, `U(-1/sqrt(hidden), 1/sqrt(hidden))`.
    PytorchDefault {
        /// The hidden size `H`.
        hidden: usize,
    },
    /// `N(mean, std^2)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// `U(-a, a)` with `a = gain * sqrt(6 / (fan_in + fan_out))` (2-D tensors).
    XavierUniform {
        /// Scale (see [`calculate_gain`]).
        gain: f64,
    },
    /// `N(0, std^2)` with `std = gain * sqrt(2 / (fan_in + fan_out))` (2-D tensors).
    XavierNormal {
        /// Scale (see [`calculate_gain`]).
        gain: f64,
    },
    /// A (semi-)orthogonal matrix times `gain`, as PyTorch's `orthogonal_`.
    /// A tensor `[k*H, H]` with `k > 1` (gates stacked) gets an independent
    /// orthogonal `[H, H]` block per gate; any other 2-D tensor `[R, C]`
    /// gets orthonormal columns (`R >= C`) or rows (`R < C`) as a whole.
    Orthogonal {
        /// Scale.
        gain: f64,
    },
    /// All zeros.
    Zeros,
    /// Every element the value.
    Constant(f64),
}

/// PyTorch's `nn.init.calculate_gain`: the recommended gain for a
/// nonlinearity (`linear`, `identity`, `sigmoid`, `tanh`, `relu`,
/// `leaky_relu` with `param` the negative slope, default 0.01, `selu`), or
/// `None` for an unknown name.
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> Option<f64> {
    match nonlinearity {
        "linear" | "identity" | "sigmoid" | "conv1d" | "conv2d" | "conv3d" => Some(1.0),
        "tanh" => Some(5.0 / 3.0),
        "relu" => Some(2.0_f64.sqrt()),
        "leaky_relu" => {
            let slope = param.unwrap_or(0.01);
            Some((2.0 / (1.0 + slope * slope)).sqrt())
        }
        "selu" => Some(0.75),
        _ => None,
    }
}

/// Whether glob `pattern` (`*` = any run) matches all of `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matcher with one backtrack point (the last `*`).
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether `pattern` selects the parameter `name` (see the [module docs](self)).
pub fn matches(pattern: &str, name: &str) -> bool {
    let target = if pattern.contains('.') {
        name
    } else {
        name.rsplit('.').next().unwrap_or(name)
    };
    glob(pattern.as_bytes(), target.as_bytes())
}

/// `[rows, cols]` of a tensor of rank >= 2 (trailing axes flattened, as
/// PyTorch does), or an error naming it.
fn matrix_dims<F>(name: &str, t: &ArrayViewMutD<'_, F>, what: &str) -> Result<(usize, usize), RnnError> {
    if t.ndim() < 2 {
        return Err(RnnError::Invalid(format!(
            "{what} needs a tensor with at least 2 dimensions; `{name}` has shape {:?}",
            t.shape()
        )));
    }
    let rows = t.shape()[0];
    let cols = t.len().checked_div(rows).unwrap_or(0);
    Ok((rows, cols))
}

/// A `[rows, cols]` matrix with orthonormal columns (`rows >= cols`) or rows
/// (`rows < cols`): the `Q` of the QR factorisation of a standard normal
/// matrix, signs fixed so that `R` has a positive diagonal (PyTorch's
/// `orthogonal_` without the gain). Draws `rows * cols` normals row-major.
pub fn orthogonal<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Array2<f64> {
    let a = Array2::from_shape_simple_fn((rows, cols), || standard_normal(rng));
    let tall = if rows < cols { a.t().to_owned() } else { a };
    let (m, n) = tall.dim();
    let mut q = Array2::<f64>::zeros((m, n));
    for j in 0..n {
        let mut v = tall.column(j).to_owned();
        // Modified Gram–Schmidt, twice ("twice is enough" for orthogonality to rounding).
        for _ in 0..2 {
            for i in 0..j {
                let qi = q.column(i);
                let r = qi.dot(&v);
                v.scaled_add(-r, &qi);
            }
        }
        let norm = v.dot(&v).sqrt();
        if norm > 0.0 {
            v /= norm;
        }
        q.column_mut(j).assign(&v);
    }
    if rows < cols { q.t().to_owned() } else { q }
}

impl Init {
    /// Fills one tensor (named `name` in errors).
    ///
    /// Errors: [`RnnError::Invalid`] for Xavier or orthogonal on a tensor of
    /// rank < 2, a negative or non-finite scale, or `low > high`.
    pub fn fill<F: Float, R: Rng + ?Sized>(
        &self,
        name: &str,
        mut tensor: ArrayViewMutD<'_, F>,
        rng: &mut R,
    ) -> Result<(), RnnError> {
        let bad = |what: &str, v: f64| {
            Err(RnnError::Invalid(format!(
                "{what} must be finite and >= 0, got {v} (initialising `{name}`)"
            )))
        };
        let uniform = |t: &mut ArrayViewMutD<'_, F>, low: f64, high: f64, rng: &mut R| {
            for v in t.iter_mut() {
                *v = F::from_f64c(low + (high - low) * rng.random::<f64>());
            }
        };
        let normal = |t: &mut ArrayViewMutD<'_, F>, mean: f64, std: f64, rng: &mut R| {
            for v in t.iter_mut() {
                *v = F::from_f64c(mean + std * standard_normal(rng));
            }
        };
        match *self {
            Init::Uniform { low, high } => {
                if !(low.is_finite() && high.is_finite() && low <= high) {
                    return Err(RnnError::Invalid(format!(
                        "uniform bounds must be finite with low <= high, got [{low}, {high}] (initialising `{name}`)"
                    )));
                }
                uniform(&mut tensor, low, high, rng);
            }
            Init::PytorchDefault { hidden } => {
                if hidden == 0 {
                    return Err(RnnError::Invalid(format!(
                        "the hidden size must be at least 1 (initialising `{name}`)"
                    )));
                }
                let b = 1.0 / (hidden as f64).sqrt();
                uniform(&mut tensor, -b, b, rng);
            }
            Init::Normal { mean, std } => {
                if !(std.is_finite() && std >= 0.0 && mean.is_finite()) {
                    return bad("the standard deviation", std);
                }
                normal(&mut tensor, mean, std, rng);
            }
            Init::XavierUniform { gain } | Init::XavierNormal { gain } => {
                if !(gain.is_finite() && gain >= 0.0) {
                    return bad("the gain", gain);
                }
                let (fan_out, fan_in) = matrix_dims(name, &tensor, "Xavier initialisation")?;
                let sum = (fan_in + fan_out).max(1) as f64;
                if matches!(self, Init::XavierUniform { .. }) {
                    let a = gain * (6.0 / sum).sqrt();
                    uniform(&mut tensor, -a, a, rng);
                } else {
                    normal(&mut tensor, 0.0, gain * (2.0 / sum).sqrt(), rng);
                }
            }
            Init::Orthogonal { gain } => {
                if !(gain.is_finite() && gain >= 0.0) {
                    return bad("the gain", gain);
                }
                let (rows, cols) = matrix_dims(name, &tensor, "orthogonal initialisation")?;
                let blocks = if cols > 0 && rows > cols && rows % cols == 0 {
                    rows / cols
                } else {
                    1
                };
                let block_rows = rows / blocks.max(1);
                let mut values = Vec::with_capacity(rows * cols);
                for _ in 0..blocks {
                    values.extend(orthogonal(block_rows, cols, rng));
                }
                for (v, q) in tensor.iter_mut().zip(values) {
                    *v = F::from_f64c(gain * q);
                }
            }
            Init::Zeros => tensor.fill(F::zero()),
            Init::Constant(c) => tensor.fill(F::from_f64c(c)),
        }
        Ok(())
    }
}

/// Fills every parameter whose name `pattern` selects (see the
/// [module docs](self)) with `init`, in list order; returns how many
/// tensors were filled.
///
/// Errors: [`RnnError::Invalid`] if the pattern selects nothing (the
/// message lists the names), and those of [`Init::fill`].
pub fn init_params<F: Float, N: AsRef<str>, R: Rng + ?Sized>(
    params: &mut [(N, ArrayViewMutD<'_, F>)],
    pattern: &str,
    init: Init,
    rng: &mut R,
) -> Result<usize, RnnError> {
    let mut count = 0;
    for (name, tensor) in params.iter_mut() {
        if matches(pattern, name.as_ref()) {
            init.fill(name.as_ref(), tensor.view_mut(), rng)?;
            count += 1;
        }
    }
    if count == 0 {
        let names: Vec<&str> = params.iter().map(|(n, _)| n.as_ref()).collect();
        return Err(RnnError::Invalid(format!(
            "pattern `{pattern}` selects no parameter (parameters: {})",
            names.join(", ")
        )));
    }
    Ok(count)
}

/// Sets an LSTM's forget-gate bias to `value`: rows `H..2H` (gate order
/// i, f, g, o) of every `bias_ih*` become `value` and of every `bias_hh*`
/// become 0, so their sum, the bias the gate sees, is `value` (1 is the
/// usual choice). Returns how many tensors were changed.
///
/// `H` comes from the recurrent weight of the same layer and direction
/// (`weight_hh* [4*H, H]`, matched by name suffix), or, when there is none,
/// from the bias length over 4.
///
/// Errors: [`RnnError::Invalid`] if there is no `bias_ih*` parameter, or a
/// bias or its `weight_hh` does not have an LSTM's shape (so a GRU's
/// `[3*H]` biases or a vanilla cell's `[H]` are refused).
pub fn forget_bias<F: Float, N: AsRef<str>>(
    params: &mut [(N, ArrayViewMutD<'_, F>)],
    value: f64,
) -> Result<usize, RnnError> {
    // H of every recurrent weight, by the name its biases share.
    let hidden: Vec<(String, Option<usize>)> = params
        .iter()
        .filter_map(|(n, t)| {
            let n = n.as_ref();
            let (prefix, local) = n.rsplit_once('.').map_or(("", n), |(p, l)| (p, l));
            let rest = local.strip_prefix("weight_hh")?;
            let lstm = t.ndim() == 2 && t.shape()[0] == 4 * t.shape()[1];
            Some((format!("{prefix}.{rest}"), lstm.then_some(t.shape()[1])))
        })
        .collect();
    let mut count = 0;
    let mut seen_ih = false;
    for (name, tensor) in params.iter_mut() {
        let name = name.as_ref();
        let (prefix, local) = name.rsplit_once('.').map_or(("", name), |(p, l)| (p, l));
        let (v, rest) = if let Some(rest) = local.strip_prefix("bias_ih") {
            seen_ih = true;
            (value, rest)
        } else if let Some(rest) = local.strip_prefix("bias_hh") {
            (0.0, rest)
        } else {
            continue;
        };
        let key = format!("{prefix}.{rest}");
        let h = match hidden.iter().find(|(k, _)| *k == key) {
            Some((_, Some(h))) => Some(*h),
            Some((_, None)) => None,
            None if tensor.len() % 4 == 0 => Some(tensor.len() / 4),
            None => None,
        };
        let h = match h {
            Some(h) if tensor.ndim() == 1 && tensor.len() == 4 * h && h > 0 => h,
            _ => {
                return Err(RnnError::Invalid(format!(
                    "forget_bias needs LSTM parameters (weight_hh [4*H, H], biases [4*H]); `{name}` has shape {:?}",
                    tensor.shape()
                )));
            }
        };
        for x in tensor.iter_mut().skip(h).take(h) {
            *x = F::from_f64c(v);
        }
        count += 1;
    }
    if !seen_ih {
        return Err(RnnError::Invalid(
            "forget_bias found no `bias_ih` parameter (is the cell an LSTM?)".into(),
        ));
    }
    Ok(count)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn orthogonal_blocks_are_orthonormal() {
        let mut rng = StdRng::seed_from_u64(1);
        let h = 6;
        let mut w = ArrayD::<f64>::zeros(IxDyn(&[4 * h, h]));
        Init::Orthogonal { gain: 1.0 }
            .fill("weight_hh_l0", w.view_mut(), &mut rng)
            .unwrap();
        let w = w.into_dimensionality::<ndarray::Ix2>().unwrap();
        for k in 0..4 {
            let b = w.slice(ndarray::s![k * h..(k + 1) * h, ..]);
            let qtq = b.t().dot(&b);
            let qqt = b.dot(&b.t());
            for i in 0..h {
                for j in 0..h {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((qtq[(i, j)] - want).abs() < 1e-10, "block {k} Q^T Q [{i},{j}]");
                    assert!((qqt[(i, j)] - want).abs() < 1e-10, "block {k} Q Q^T [{i},{j}]");
                }
            }
        }
        // Blocks differ from each other.
        assert_ne!(w.slice(ndarray::s![0..h, ..]), w.slice(ndarray::s![h..2 * h, ..]));
        // Wide and tall whole matrices: orthonormal rows / columns, with gain.
        for (r, c) in [(3, 7), (7, 3), (5, 5)] {
            let mut t = ArrayD::<f64>::zeros(IxDyn(&[r, c]));
            Init::Orthogonal { gain: 2.0 }
                .fill("w", t.view_mut(), &mut rng)
                .unwrap();
            let t = t.into_dimensionality::<ndarray::Ix2>().unwrap() / 2.0;
            let g = if r >= c { t.t().dot(&t) } else { t.dot(&t.t()) };
            for ((i, j), v) in g.indexed_iter() {
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
        }
        // R's diagonal is positive: Q^T A has a positive diagonal, so Q is
        // the sign-fixed factor PyTorch returns.
        let mut r1 = StdRng::seed_from_u64(9);
        let mut r2 = StdRng::seed_from_u64(9);
        let a = Array2::from_shape_simple_fn((5, 3), || standard_normal(&mut r1));
        let q = orthogonal(5, 3, &mut r2);
        let r = q.t().dot(&a);
        for i in 0..3 {
            assert!(r[(i, i)] > 0.0);
            for j in 0..i {
                assert!(r[(i, j)].abs() < 1e-10, "R is upper triangular");
            }
        }
        let mut v = ArrayD::<f64>::zeros(IxDyn(&[4]));
        assert!(
            Init::Orthogonal { gain: 1.0 }
                .fill("bias", v.view_mut(), &mut rng)
                .is_err()
        );
    }

    #[test]
    fn xavier_bounds_and_variance() {
        let mut rng = StdRng::seed_from_u64(2);
        let (rows, cols) = (200, 300);
        let mut w = ArrayD::<f64>::zeros(IxDyn(&[rows, cols]));
        Init::XavierUniform { gain: 1.5 }
            .fill("w", w.view_mut(), &mut rng)
            .unwrap();
        let a = 1.5 * (6.0 / (rows + cols) as f64).sqrt();
        assert!(w.iter().all(|x| x.abs() <= a));
        let n = w.len() as f64;
        let var = w.iter().map(|x| x * x).sum::<f64>() / n;
        // Variance of U(-a, a) is a^2 / 3 = gain^2 * 2 / (fan_in + fan_out).
        assert!((var / (a * a / 3.0) - 1.0).abs() < 0.02, "{var}");
        Init::XavierNormal { gain: 1.0 }
            .fill("w", w.view_mut(), &mut rng)
            .unwrap();
        let std = (2.0 / (rows + cols) as f64).sqrt();
        let mean = w.iter().sum::<f64>() / n;
        let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01 * std * 10.0);
        assert!((var.sqrt() / std - 1.0).abs() < 0.02, "{var}");
        let mut b = ArrayD::<f64>::zeros(IxDyn(&[3]));
        assert!(matches!(
            Init::XavierUniform { gain: 1.0 }.fill("bias", b.view_mut(), &mut rng),
            Err(RnnError::Invalid(_))
        ));
        assert_eq!(calculate_gain("tanh", None), Some(5.0 / 3.0));
        assert_eq!(calculate_gain("nope", None), None);
    }

    #[test]
    fn patterns_select_by_name() {
        assert!(matches("weight_hh*", "rnn.weight_hh_l0"));
        assert!(matches("weight_hh*", "weight_hh"));
        assert!(!matches("weight_hh*", "rnn.weight_ih_l0"));
        assert!(matches("bias*", "head.bias"));
        assert!(matches("rnn.bias*", "rnn.bias_ih_l1_reverse"));
        assert!(!matches("rnn.bias*", "head.bias"));
        assert!(matches("*", "embed.weight"));
        assert!(matches("*_reverse", "rnn.weight_ih_l0_reverse"));
        assert!(matches("w*h*_l*", "weight_hh_l3"));
        assert!(!matches("weight", "weight_hh"));
    }

    #[test]
    fn patterns_apply_to_a_model() {
        use crate::testing::{Kind, TestDims, TestRnn};
        use crate::train::model::{Encoding, SeqModelConfig};
        let mut rng = StdRng::seed_from_u64(6);
        let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 4, dim: 3 }, 4).layers(2);
        let dims = TestDims {
            i: 0,
            h: 3,
            kind: Kind::Tanh,
        };
        let mut model = SeqModel::<f64, TestRnn<f64>>::new(dims, cfg, &mut rng).unwrap();
        let before = model.clone();
        assert_eq!(
            model
                .init_params("weight_hh*", Init::Orthogonal { gain: 1.0 }, &mut rng)
                .unwrap(),
            2
        );
        assert_eq!(model.init_params("rnn.bias*", Init::Zeros, &mut rng).unwrap(), 4);
        for ((name, a), (_, b)) in model.named_params().iter().zip(before.named_params().iter()) {
            let local = name.rsplit('.').next().unwrap();
            if local.starts_with("weight_hh") {
                let w = a.view().into_dimensionality::<ndarray::Ix2>().unwrap();
                let g = w.t().dot(&w);
                assert!(
                    g.indexed_iter()
                        .all(|((i, j), v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10)
                );
            } else if name.starts_with("rnn.bias") {
                assert!(a.iter().all(|&v| v == 0.0));
            } else {
                assert_eq!(a, b, "{name} untouched");
            }
        }
        // The test cell's biases are [H], not an LSTM's [4*H].
        assert!(model.forget_bias(1.0).is_err());
        assert!(model.init_params("nothing*", Init::Zeros, &mut rng).is_err());
    }

    #[test]
    fn forget_bias_rows_and_selection() {
        let h = 3;
        let mut bih = ArrayD::<f32>::from_elem(IxDyn(&[4 * h]), 0.5);
        let mut bhh = ArrayD::<f32>::from_elem(IxDyn(&[4 * h]), 0.25);
        let mut w = ArrayD::<f32>::from_elem(IxDyn(&[4 * h, 2]), 0.5);
        let mut w_hh = ArrayD::<f32>::from_elem(IxDyn(&[4 * h, h]), 0.5);
        {
            let mut params = vec![
                ("rnn.weight_ih_l0", w.view_mut()),
                ("rnn.weight_hh_l0", w_hh.view_mut()),
                ("rnn.bias_ih_l0", bih.view_mut()),
                ("rnn.bias_hh_l0", bhh.view_mut()),
            ];
            assert_eq!(forget_bias(&mut params, 1.0).unwrap(), 2);
        }
        for r in 0..4 * h {
            let forget = (h..2 * h).contains(&r);
            assert_eq!(bih[r], if forget { 1.0 } else { 0.5 });
            assert_eq!(bhh[r], if forget { 0.0 } else { 0.25 });
            assert_eq!(bih[r] + bhh[r], if forget { 1.0 } else { 0.75 });
        }
        // A vanilla cell of H = 4 has [4] biases; its weight_hh [4, 4] gives it away.
        let mut whh = ArrayD::<f32>::zeros(IxDyn(&[4, 4]));
        let mut b4 = ArrayD::<f32>::zeros(IxDyn(&[4]));
        assert!(
            forget_bias(
                &mut [("rnn.weight_hh_l0", whh.view_mut()), ("rnn.bias_ih_l0", b4.view_mut())],
                1.0
            )
            .is_err()
        );
        let mut odd = ArrayD::<f32>::zeros(IxDyn(&[6]));
        assert!(forget_bias(&mut [("bias_ih", odd.view_mut())], 1.0).is_err());
        assert!(forget_bias(&mut [("weight", w.view_mut())], 1.0).is_err());
        // init_params: pattern selection, determinism, no-match error.
        let mut rng = StdRng::seed_from_u64(3);
        let mut a = ArrayD::<f64>::zeros(IxDyn(&[4, 2]));
        let mut b = ArrayD::<f64>::zeros(IxDyn(&[4]));
        let n = init_params(
            &mut [("x.weight_ih", a.view_mut()), ("x.bias", b.view_mut())],
            "weight*",
            Init::Constant(2.0),
            &mut rng,
        )
        .unwrap();
        assert_eq!(n, 1);
        assert!(a.iter().all(|&v| v == 2.0) && b.iter().all(|&v| v == 0.0));
        assert!(init_params(&mut [("x.bias", b.view_mut())], "weight*", Init::Zeros, &mut rng).is_err());
        let draw = |seed| {
            let mut t = ArrayD::<f64>::zeros(IxDyn(&[3, 3]));
            let mut r = StdRng::seed_from_u64(seed);
            init_params(
                &mut [("w", t.view_mut())],
                "*",
                Init::Normal { mean: 0.0, std: 1.0 },
                &mut r,
            )
            .unwrap();
            t
        };
        assert_eq!(draw(4), draw(4));
        assert_ne!(draw(4), draw(5));
    }
}
