//! A linear layer, `y = x W^T + b`, used as the output head of a
//! recurrent model (the seeds' `y_t = g(V h_t + c)` without the `g`).
//!
//! It maps rows `x[N, H]` (for a sequence, `[T, B, H]` flattened time-major
//! to `[T*B, H]`) to `y[N, O]`, with `weight [O, H]` and `bias [O]` in
//! PyTorch's `nn.Linear` layout, names and initialisation. Forward and
//! backward are one matrix product each through [`crate::gemm`]; like a
//! cell, the gradient has the layer's own type.

use crate::emitted::init::uniform_fill;
use crate::error::RnnError;
use crate::float::Float;
use crate::gemm::{gemm_nn, gemm_nt, gemm_tn};
use crate::params::Params;
use crate::workspace::Workspace;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD};
use rand::Rng;

/// A fully connected layer `y = x W^T + b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear<F> {
    /// `[out_features, in_features]`.
    pub weight: Array2<F>,
    /// `[out_features]`.
    pub bias: Array1<F>,
}

impl<F: Float> Linear<F> {
    /// Parameter names, in the order of [`Linear::params`] (PyTorch's).
    pub const PARAM_NAMES: &'static [&'static str] = &["weight", "bias"];

    /// A layer initialised as PyTorch's `nn.Linear`: weight, then bias, each
    /// from `U(-1/sqrt(in_features), 1/sqrt(in_features))`.
    pub fn new<R: Rng + ?Sized>(in_features: usize, out_features: usize, rng: &mut R) -> Self {
        let mut layer = Self::zeros(in_features, out_features);
        let bound = if in_features == 0 {
            0.0
        } else {
            1.0 / (in_features as f64).sqrt()
        };
        uniform_fill(layer.weight.as_slice_mut().expect("fresh array"), bound, rng);
        uniform_fill(layer.bias.as_slice_mut().expect("fresh array"), bound, rng);
        layer
    }

    /// A layer with every parameter zero (the starting point of a gradient).
    pub fn zeros(in_features: usize, out_features: usize) -> Self {
        Linear {
            weight: Array2::zeros((out_features, in_features)),
            bias: Array1::zeros(out_features),
        }
    }

    /// Width of an input row, `H`.
    pub fn in_features(&self) -> usize {
        self.weight.ncols()
    }

    /// Width of an output row, `O`.
    pub fn out_features(&self) -> usize {
        self.weight.nrows()
    }

    /// `[weight, bias]` with their names.
    pub fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        vec![
            ("weight", self.weight.view().into_dyn()),
            ("bias", self.bias.view().into_dyn()),
        ]
    }

    /// `[weight, bias]` with their names, mutably.
    pub fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        vec![
            ("weight", self.weight.view_mut().into_dyn()),
            ("bias", self.bias.view_mut().into_dyn()),
        ]
    }

    fn check(&self, what: &str, x: &ArrayView2<'_, F>, width: usize) -> Result<(), RnnError> {
        if x.ncols() != width {
            return Err(RnnError::shape(what, &[x.nrows(), width], x.shape()));
        }
        if self.bias.len() != self.weight.nrows() {
            return Err(RnnError::shape(
                "linear bias",
                &[self.weight.nrows()],
                self.bias.shape(),
            ));
        }
        Ok(())
    }

    /// `y[N, O] = x[N, H] W^T + b`.
    ///
    /// Errors: [`RnnError::Shape`] if `x` is not `[N, in_features]`.
    pub fn forward(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>, RnnError> {
        let mut y = Array2::<F>::zeros((x.nrows(), self.out_features()));
        self.forward_ws(x, &mut Workspace::new(), y.view_mut())?;
        Ok(y)
    }

    /// [`Linear::forward`] into `y[N, O]` (overwritten), with the product's
    /// buffers from `ws`: no allocation once `ws` has them.
    ///
    /// Errors: [`RnnError::Shape`] if `x` is not `[N, in_features]` or `y`
    /// not `[N, out_features]` in standard layout.
    pub fn forward_ws(
        &self,
        x: ArrayView2<'_, F>,
        ws: &mut Workspace<F>,
        mut y: ArrayViewMut2<'_, F>,
    ) -> Result<(), RnnError> {
        let (h, o) = (self.in_features(), self.out_features());
        self.check("linear input", &x, h)?;
        let n = x.nrows();
        check_out("linear output", &y, [n, o])?;
        for mut row in y.rows_mut() {
            row.assign(&self.bias);
        }
        let x = x.as_standard_layout();
        let w = self.weight.as_standard_layout();
        gemm_nt(
            ws,
            n,
            o,
            h,
            x.as_slice().expect("standard layout"),
            h,
            w.as_slice().expect("standard layout"),
            h,
            F::one(),
            y.as_slice_mut().expect("checked standard layout"),
            o,
        );
        Ok(())
    }

    /// Backward of [`Linear::forward`] at input `x[N, H]` given `dy[N, O]`:
    /// adds `dy^T x` to `grads.weight` and the column sums of `dy` to
    /// `grads.bias`, and returns `dx[N, H] = dy W`.
    ///
    /// Errors: [`RnnError::Shape`] if `x`, `dy` or `grads` do not fit.
    pub fn backward_into(
        &self,
        x: ArrayView2<'_, F>,
        dy: ArrayView2<'_, F>,
        grads: &mut Self,
    ) -> Result<Array2<F>, RnnError> {
        let mut dx = Array2::<F>::zeros((x.nrows(), self.in_features()));
        self.backward_ws(x, dy, grads, &mut Workspace::new(), dx.view_mut())?;
        Ok(dx)
    }

    /// [`Linear::backward_into`] writing `dx[N, H]` into `dx` (overwritten),
    /// with the products' buffers from `ws`: no allocation once `ws` has them.
    ///
    /// Errors: [`RnnError::Shape`] if `x`, `dy`, `grads` or `dx` do not fit.
    pub fn backward_ws(
        &self,
        x: ArrayView2<'_, F>,
        dy: ArrayView2<'_, F>,
        grads: &mut Self,
        ws: &mut Workspace<F>,
        mut dx: ArrayViewMut2<'_, F>,
    ) -> Result<(), RnnError> {
        let (h, o) = (self.in_features(), self.out_features());
        self.check("linear input", &x, h)?;
        let n = x.nrows();
        if dy.shape() != [n, o] {
            return Err(RnnError::shape("linear output gradient", &[n, o], dy.shape()));
        }
        if grads.weight.shape() != self.weight.shape() {
            return Err(RnnError::shape(
                "linear weight gradient",
                self.weight.shape(),
                grads.weight.shape(),
            ));
        }
        if grads.bias.shape() != self.bias.shape() {
            return Err(RnnError::shape(
                "linear bias gradient",
                self.bias.shape(),
                grads.bias.shape(),
            ));
        }
        check_out("linear input gradient", &dx, [n, h])?;
        let x = x.as_standard_layout();
        let dy = dy.as_standard_layout();
        let w = self.weight.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let dys = dy.as_slice().expect("standard layout");
        // dW[O, H] += dy[N, O]^T x[N, H]
        if !grads.weight.is_standard_layout() {
            grads.weight = grads.weight.as_standard_layout().into_owned();
        }
        let gw = grads.weight.as_slice_mut().expect("standard layout");
        gemm_tn(ws, o, h, n, dys, o, xs, h, F::one(), gw, h);
        // db[O] += the column sums of dy, added up row after row from zero
        // (as ndarray's `sum_axis(Axis(0))` does) before adding to db.
        let mut sums = ws.take(o);
        for row in dys.chunks_exact(o) {
            for (s, &d) in sums.iter_mut().zip(row) {
                *s += d;
            }
        }
        for (b, &s) in grads.bias.iter_mut().zip(&sums) {
            *b += s;
        }
        ws.give(sums);
        // dx[N, H] = dy[N, O] W[O, H]
        gemm_nn(
            ws,
            n,
            h,
            o,
            dys,
            o,
            w.as_slice().expect("standard layout"),
            h,
            F::zero(),
            dx.as_slice_mut().expect("checked standard layout"),
            h,
        );
        Ok(())
    }

    /// [`Linear::backward_into`] into fresh gradients: `(grads, dx)`.
    pub fn backward(&self, x: ArrayView2<'_, F>, dy: ArrayView2<'_, F>) -> Result<(Self, Array2<F>), RnnError> {
        let mut grads = Self::zeros(self.in_features(), self.out_features());
        let dx = self.backward_into(x, dy, &mut grads)?;
        Ok((grads, dx))
    }
}

/// Checks that an output buffer is `want` in standard layout.
fn check_out<F>(what: &str, a: &ArrayViewMut2<'_, F>, want: [usize; 2]) -> Result<(), RnnError> {
    if a.shape() != want || !a.is_standard_layout() {
        return Err(RnnError::shape(format!("{what} (standard layout)"), &want, a.shape()));
    }
    Ok(())
}

impl<F: Float> Params<F> for Linear<F> {
    fn param_count(&self) -> usize {
        2
    }

    fn param(&self, k: usize) -> ArrayViewD<'_, F> {
        match k {
            0 => self.weight.view().into_dyn(),
            1 => self.bias.view().into_dyn(),
            _ => panic!("a linear layer has 2 parameters, asked for {k}"),
        }
    }

    fn param_mut(&mut self, k: usize) -> ArrayViewMutD<'_, F> {
        match k {
            0 => self.weight.view_mut().into_dyn(),
            1 => self.bias.view_mut().into_dyn(),
            _ => panic!("a linear layer has 2 parameters, asked for {k}"),
        }
    }

    fn param_name(&self, k: usize) -> String {
        Self::PARAM_NAMES[k].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// A scalar loss of the output, `sum(y * r)` for a fixed `r`.
    fn loss(l: &Linear<f64>, x: &Array2<f64>, r: &Array2<f64>) -> f64 {
        (&l.forward(x.view()).unwrap() * r).sum()
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = StdRng::seed_from_u64(7);
        let (n, h, o) = (5, 4, 3);
        let lin = Linear::<f64>::new(h, o, &mut rng);
        let x = Array2::from_shape_fn((n, h), |(i, j)| ((i * h + j) as f64 * 0.37).sin());
        let r = Array2::from_shape_fn((n, o), |(i, j)| ((i * o + j) as f64 * 0.71).cos());
        let (g, dx) = lin.backward(x.view(), r.view()).unwrap();
        let eps = 1e-6;
        let fd = |f: &dyn Fn(f64) -> f64| (f(eps) - f(-eps)) / (2.0 * eps);
        for i in 0..o {
            for j in 0..h {
                let num = fd(&|d| {
                    let mut l = lin.clone();
                    l.weight[(i, j)] += d;
                    loss(&l, &x, &r)
                });
                assert!((num - g.weight[(i, j)]).abs() < 1e-8);
            }
            let num = fd(&|d| {
                let mut l = lin.clone();
                l.bias[i] += d;
                loss(&l, &x, &r)
            });
            assert!((num - g.bias[i]).abs() < 1e-8);
        }
        for i in 0..n {
            for j in 0..h {
                let num = fd(&|d| {
                    let mut xx = x.clone();
                    xx[(i, j)] += d;
                    loss(&lin, &xx, &r)
                });
                assert!((num - dx[(i, j)]).abs() < 1e-8);
            }
        }
    }

    #[test]
    fn forward_and_init_follow_pytorch() {
        let mut rng = StdRng::seed_from_u64(0);
        let lin = Linear::<f32>::new(256, 65, &mut rng);
        assert_eq!(lin.weight.shape(), &[65, 256]);
        assert!(lin.weight.iter().chain(&lin.bias).all(|w| w.abs() <= 1.0 / 16.0));
        let l = Linear {
            weight: ndarray::array![[1.0_f64, 2.0], [0.0, -1.0], [3.0, 0.5]],
            bias: ndarray::array![0.5, 0.0, -1.0],
        };
        let y = l.forward(ndarray::array![[1.0, 1.0], [2.0, -2.0]].view()).unwrap();
        assert_eq!(y, ndarray::array![[3.5, -1.0, 2.5], [-1.5, 2.0, 4.0]]);
        // Transposed (non-standard) input works too.
        let xt = ndarray::array![[1.0, 2.0], [1.0, -2.0]];
        assert_eq!(l.forward(xt.t()).unwrap(), y);
        match l.forward(Array2::zeros((2, 3)).view()) {
            Err(RnnError::Shape { expected, got, .. }) => {
                assert_eq!(expected, vec![2, 2]);
                assert_eq!(got, vec![2, 3]);
            }
            other => panic!("expected a shape error, got {other:?}"),
        }
        assert!(
            l.backward(Array2::zeros((2, 2)).view(), Array2::zeros((2, 2)).view())
                .is_err()
        );
    }
}
