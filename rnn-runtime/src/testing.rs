//! A hand-written cell for testing layers, checkpoints and parity without the
//! cell compiler: plain loops, written for clarity, not speed.
//!
//! * [`Kind::Tanh`] / [`Kind::Relu`]: exactly PyTorch's `nn.RNN` cell,
//!   `h' = act(W_ih x + b_ih + W_hh h + b_hh)`, one state `h`.
//! * [`Kind::Leaky`]: two states, `g = tanh(W_ih x + b_ih + W_hh h + b_hh)`,
//!   `c' = c/2 + g`, `h' = tanh(c')`; output `h'`. It exercises a second state.

#![allow(clippy::needless_range_loop)]

use crate::cell::{Cell, Forward, InputGrads, Trace, check_input, check_states};
use crate::error::RnnError;
use crate::float::Float;
use crate::workspace::Workspace;
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMutD};
use rand::Rng;

/// Which recurrence [`TestRnn`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PyTorch `nn.RNN(nonlinearity="tanh")`.
    Tanh,
    /// PyTorch `nn.RNN(nonlinearity="relu")`.
    Relu,
    /// Two-state leaky cell (see the module docs).
    Leaky,
}

/// Sizes of a [`TestRnn`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestDims {
    /// Input width.
    pub i: usize,
    /// Hidden width.
    pub h: usize,
    /// Recurrence.
    pub kind: Kind,
}

/// A vanilla RNN cell with hand-written BPTT.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRnn<F> {
    pub weight_ih: Array2<F>,
    pub weight_hh: Array2<F>,
    pub bias_ih: Array1<F>,
    pub bias_hh: Array1<F>,
    pub kind: Kind,
}

impl<F: Float> TestRnn<F> {
    fn act(&self, a: F) -> F {
        match self.kind {
            Kind::Relu => a.max(F::zero()),
            _ => a.tanh(),
        }
    }

    /// Derivative of the activation given its output `g`.
    fn act_grad(&self, g: F) -> F {
        match self.kind {
            Kind::Relu => {
                if g > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            _ => F::one() - g * g,
        }
    }

    fn leaky(&self) -> bool {
        self.kind == Kind::Leaky
    }

    fn dims_h(&self) -> usize {
        self.weight_hh.nrows()
    }

    /// One step for one batch row: returns `(g, c', h')`.
    fn cell_step(&self, x: &[F], h: &[F], c: &[F]) -> (Vec<F>, Vec<F>, Vec<F>) {
        let hs = self.dims_h();
        let half = F::from_f64c(0.5);
        let mut g = vec![F::zero(); hs];
        let mut c2 = vec![F::zero(); hs];
        let mut h2 = vec![F::zero(); hs];
        for j in 0..hs {
            let mut a = self.bias_ih[j] + self.bias_hh[j];
            for (k, &xv) in x.iter().enumerate() {
                a += self.weight_ih[[j, k]] * xv;
            }
            for (k, &hv) in h.iter().enumerate() {
                a += self.weight_hh[[j, k]] * hv;
            }
            g[j] = self.act(a);
            if self.leaky() {
                c2[j] = half * c[j] + g[j];
                h2[j] = c2[j].tanh();
            } else {
                h2[j] = g[j];
            }
        }
        (g, c2, h2)
    }
}

impl<F: Float> Cell<F> for TestRnn<F> {
    type Dims = TestDims;
    const NAME: &'static str = "TestRnn";
    const PARAM_NAMES: &'static [&'static str] = &["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
    const STATE_NAMES: &'static [&'static str] = &["h", "c"];

    fn new<R: Rng + ?Sized>(dims: TestDims, rng: &mut R) -> Self {
        let mut cell = Self::zeros(dims);
        let bound = 1.0 / (dims.h as f64).sqrt();
        for (_, mut p) in cell.params_mut() {
            for v in p.iter_mut() {
                *v = F::from_f64c((2.0 * rng.random::<f64>() - 1.0) * bound);
            }
        }
        cell
    }

    fn zeros(dims: TestDims) -> Self {
        TestRnn {
            weight_ih: Array2::zeros((dims.h, dims.i)),
            weight_hh: Array2::zeros((dims.h, dims.h)),
            bias_ih: Array1::zeros(dims.h),
            bias_hh: Array1::zeros(dims.h),
            kind: dims.kind,
        }
    }

    fn dims(&self) -> TestDims {
        TestDims {
            i: self.weight_ih.ncols(),
            h: self.dims_h(),
            kind: self.kind,
        }
    }

    fn with_input_size(dims: TestDims, input_size: usize) -> Result<TestDims, RnnError> {
        Ok(TestDims { i: input_size, ..dims })
    }

    fn input_size(&self) -> usize {
        self.weight_ih.ncols()
    }

    fn output_size(&self) -> usize {
        self.dims_h()
    }

    fn state_sizes(&self) -> Vec<usize> {
        if self.leaky() {
            vec![self.dims_h(); 2]
        } else {
            vec![self.dims_h()]
        }
    }

    fn params(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        vec![
            ("weight_ih", self.weight_ih.view().into_dyn()),
            ("weight_hh", self.weight_hh.view().into_dyn()),
            ("bias_ih", self.bias_ih.view().into_dyn()),
            ("bias_hh", self.bias_hh.view().into_dyn()),
        ]
    }

    fn params_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        vec![
            ("weight_ih", self.weight_ih.view_mut().into_dyn()),
            ("weight_hh", self.weight_hh.view_mut().into_dyn()),
            ("bias_ih", self.bias_ih.view_mut().into_dyn()),
            ("bias_hh", self.bias_hh.view_mut().into_dyn()),
        ]
    }

    fn forward_ws(
        &self,
        xs: ArrayView3<'_, F>,
        init: &[Array2<F>],
        _ws: &mut Workspace<F>,
        out: &mut Forward<F>,
    ) -> Result<(), RnnError> {
        let t = self.forward_train(xs, init)?;
        *out = Forward {
            outputs: t.outputs,
            states: t.states,
        };
        Ok(())
    }

    /// saved = [xs, h history (T+1 steps), g (T steps)], all flattened.
    fn forward_train_ws(
        &self,
        xs: ArrayView3<'_, F>,
        init: &[Array2<F>],
        _ws: &mut Workspace<F>,
        trace: &mut Trace<F>,
    ) -> Result<(), RnnError> {
        let (t_len, batch) = check_input("xs", &xs, self.input_size())?;
        check_states("init", init, &self.state_sizes(), batch)?;
        let hs = self.dims_h();
        let zero = Array2::zeros((batch, hs));
        let mut h = init.first().unwrap_or(&zero).clone();
        let mut c = init.get(1).unwrap_or(&zero).clone();
        let mut h_hist = h.iter().copied().collect::<Vec<_>>();
        let mut g_all = Vec::with_capacity(t_len * batch * hs);
        let mut outputs = Array3::zeros((t_len, batch, hs));
        for t in 0..t_len {
            let mut h_new = Array2::zeros((batch, hs));
            let mut c_new = Array2::zeros((batch, hs));
            for b in 0..batch {
                let x: Vec<F> = xs.slice(ndarray::s![t, b, ..]).to_vec();
                let (g, c2, h2) = self.cell_step(&x, &h.row(b).to_vec(), &c.row(b).to_vec());
                g_all.extend_from_slice(&g);
                for j in 0..hs {
                    h_new[[b, j]] = h2[j];
                    c_new[[b, j]] = c2[j];
                    outputs[[t, b, j]] = h2[j];
                }
            }
            h = h_new;
            c = c_new;
            h_hist.extend(h.iter().copied());
        }
        let states = if self.leaky() { vec![h, c] } else { vec![h] };
        *trace = Trace {
            outputs,
            states,
            len: t_len,
            batch,
            batch_sizes: Vec::new(),
            saved: vec![xs.iter().copied().collect(), h_hist, g_all],
            ..Trace::empty()
        };
        Ok(())
    }

    fn backward_ws(
        &self,
        trace: &Trace<F>,
        d_out: ArrayView3<'_, F>,
        d_final: &[Array2<F>],
        grads: &mut Self,
        _ws: &mut Workspace<F>,
        input: &mut InputGrads<F>,
    ) -> Result<(), RnnError> {
        let (t_len, batch, hs, is) = (trace.len, trace.batch, self.dims_h(), self.input_size());
        if d_out.shape() != [t_len, batch, hs] {
            return Err(RnnError::shape("d_out", &[t_len, batch, hs], d_out.shape()));
        }
        check_states("d_final", d_final, &self.state_sizes(), batch)?;
        let (xs, h_hist, g_all) = (&trace.saved[0], &trace.saved[1], &trace.saved[2]);
        let half = F::from_f64c(0.5);
        let zero = Array2::zeros((batch, hs));
        let mut dh_next = d_final.first().unwrap_or(&zero).clone();
        let mut dc_next = d_final.get(1).unwrap_or(&zero).clone();
        let mut d_xs = Array3::zeros((t_len, batch, is));
        for t in (0..t_len).rev() {
            for b in 0..batch {
                let mut da = vec![F::zero(); hs];
                for j in 0..hs {
                    let dh = d_out[[t, b, j]] + dh_next[[b, j]];
                    let g = g_all[(t * batch + b) * hs + j];
                    if self.leaky() {
                        let h_new = h_hist[((t + 1) * batch + b) * hs + j];
                        let dc = dc_next[[b, j]] + dh * (F::one() - h_new * h_new);
                        da[j] = dc * self.act_grad(g);
                        dc_next[[b, j]] = half * dc;
                    } else {
                        da[j] = dh * self.act_grad(g);
                    }
                }
                for j in 0..hs {
                    for k in 0..is {
                        grads.weight_ih[[j, k]] += da[j] * xs[(t * batch + b) * is + k];
                        d_xs[[t, b, k]] += self.weight_ih[[j, k]] * da[j];
                    }
                    grads.bias_ih[j] += da[j];
                    grads.bias_hh[j] += da[j];
                }
                for k in 0..hs {
                    let mut acc = F::zero();
                    for j in 0..hs {
                        grads.weight_hh[[j, k]] += da[j] * h_hist[(t * batch + b) * hs + k];
                        acc += self.weight_hh[[j, k]] * da[j];
                    }
                    dh_next[[b, k]] = acc;
                }
            }
        }
        let d_init = if self.leaky() {
            vec![dh_next, dc_next]
        } else {
            vec![dh_next]
        };
        *input = InputGrads { d_xs, d_init };
        Ok(())
    }

    fn step(&self, x: ArrayView2<'_, F>, state: &mut [Array2<F>]) -> Result<Array2<F>, RnnError> {
        let xs = x.to_owned().insert_axis(ndarray::Axis(0));
        let f = self.forward(xs.view(), state)?;
        for (s, n) in state.iter_mut().zip(f.states) {
            *s = n;
        }
        Ok(f.outputs.index_axis_move(ndarray::Axis(0), 0))
    }
}
