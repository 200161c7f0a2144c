//! Models whose previous output feeds the next input: teacher forcing,
//! free running and scheduled sampling (Bengio et al. 2015).
//!
//! Two kinds of model qualify: dense models whose head width equals the
//! input width (e.g. a sine regression, the output after the activation is
//! fed back), and token models whose head is a softmax over their own
//! vocabulary (the fed-back token is the argmax of the logits at
//! temperature 0, else a draw from `softmax(logits / temperature)`).
//!
//! The input at step 0 is always the true one. At step `t > 0`:
//!
//! - [`FeedMode::TeacherForcing`]: the true input;
//! - [`FeedMode::FreeRunning`]: the model's own output at `t - 1`;
//! - [`FeedMode::Scheduled`]: per sequence and step, the true input with
//!   probability `teacher_prob`, else the model's output (one uniform draw
//!   per `(t, b)`, `t` outer, then any token draw), with
//!   [`TeacherSchedule`] to decay the probability over training.
//!
//! # Training with fed-back outputs
//!
//! A fed-back value is treated as a constant, as PyTorch code does with
//! `.detach()`: no gradient flows from step `t`'s input into the output at
//! `t - 1` that produced it. Training is therefore exactly: roll the model
//! forward with inference, deciding each step's input as above
//! ([`feedback_input`]), then run [`SeqModel::loss_and_grad_into`] on the
//! input sequence so built ([`feedback_loss_and_grad_into`]). The loss and
//! gradient are those of a PyTorch loop that detaches what it feeds back.

use super::generate::{Generator, check_token_head};
use super::{SeqData, SeqInput, SeqInputBuf, SeqModel, SeqOutcome, SeqTarget};
use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use ndarray::{Array2, Array3, Axis};
use rand::Rng;

/// Where each step's input comes from (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FeedMode {
    /// The true input at every step.
    #[default]
    TeacherForcing,
    /// The model's own previous output at every step after the first.
    FreeRunning,
    /// The true input with probability `teacher_prob`, else the model's
    /// previous output, decided per sequence and step.
    Scheduled {
        /// Probability of the true input, in `[0, 1]`.
        teacher_prob: f64,
    },
}

/// A decaying teacher-forcing probability `eps_i` over training steps `i`
/// (Bengio et al. 2015, section 2.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TeacherSchedule {
    /// `eps_i = p`.
    Constant(f64),
    /// From `start` to `end` linearly over `steps` steps, then `end`.
    Linear {
        /// Probability at step 0.
        start: f64,
        /// Probability from step `steps` on.
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
    /// `eps_i = k^i` with `0 < k < 1`.
    Exponential {
        /// Decay per step.
        k: f64,
    },
    /// `eps_i = k / (k + exp(i / k))` with `k >= 1`.
    InverseSigmoid {
        /// Steepness (larger decays later).
        k: f64,
    },
}

impl TeacherSchedule {
    /// `eps_i`, clamped to `[0, 1]`.
    pub fn prob(&self, step: usize) -> f64 {
        let i = step as f64;
        let p = match *self {
            TeacherSchedule::Constant(p) => p,
            TeacherSchedule::Linear { start, end, steps } => {
                if step >= steps {
                    end
                } else {
                    start + (end - start) * (i / steps as f64)
                }
            }
            TeacherSchedule::Exponential { k } => k.powf(i),
            TeacherSchedule::InverseSigmoid { k } => k / (k + (i / k).exp()),
        };
        if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
    }

    /// [`FeedMode::Scheduled`] with the probability at `step`.
    pub fn mode(&self, step: usize) -> FeedMode {
        FeedMode::Scheduled {
            teacher_prob: self.prob(step),
        }
    }
}

/// Checks the model can feed its outputs back.
fn check_feedback<F: Float, C: Cell<F>>(model: &SeqModel<F, C>) -> Result<(), RnnError> {
    let cfg = model.config();
    if cfg.encoding.is_tokens() {
        return check_token_head(model);
    }
    if cfg.output_size != cfg.encoding.input_width() {
        return Err(RnnError::Invalid(format!(
            "feeding outputs back needs the head width ({}) to equal the input width ({})",
            cfg.output_size,
            cfg.encoding.input_width()
        )));
    }
    Ok(())
}

/// The next input rows `[B]` (tokens) or `[B, W]` (values) from the last step.
enum Next<F> {
    Tokens(Vec<usize>),
    Values(Array2<F>),
}

fn model_next<F: Float, C: Cell<F>, R: Rng + ?Sized>(
    g: &Generator<'_, F, C>,
    y: &Array2<F>,
    tokens: bool,
    temperature: f64,
    rng: &mut R,
) -> Result<Next<F>, RnnError> {
    if tokens {
        Ok(Next::Tokens(g.sample(temperature, rng)?))
    } else {
        Ok(Next::Values(y.clone()))
    }
}

/// Builds the input sequence the model sees under `mode` (see the
/// [module docs](self)): rolls the model forward from `init` (empty: zeros)
/// with inference, choosing each step's input. `temperature` is used for
/// fed-back tokens (0: argmax). [`FeedMode::TeacherForcing`] returns the
/// input unchanged without running the model.
///
/// Errors: [`RnnError::Invalid`] for a model that cannot feed back (see the
/// [module docs](self)), a bidirectional model (which cannot stream), or a
/// `teacher_prob` outside `[0, 1]`; the errors of [`SeqModel::encode`].
pub fn feedback_input<F: Float, C: Cell<F>, R: Rng + ?Sized>(
    model: &SeqModel<F, C>,
    input: &SeqInput<'_, F>,
    init: &[Array3<F>],
    mode: FeedMode,
    temperature: f64,
    rng: &mut R,
) -> Result<SeqInputBuf<F>, RnnError> {
    check_feedback(model)?;
    let own = |input: &SeqInput<'_, F>| -> Result<SeqInputBuf<F>, RnnError> {
        // Encoding checks ids and widths before anything is built.
        model.encode(input)?;
        Ok(match input.data() {
            SeqData::Tokens { ids, len, batch } => SeqInputBuf::Tokens {
                ids: ids.to_vec(),
                len,
                batch,
            },
            SeqData::Values(xs) => SeqInputBuf::Values(xs.as_standard_layout().into_owned()),
        })
    };
    let teacher_prob = match mode {
        FeedMode::TeacherForcing => return own(input),
        FeedMode::FreeRunning => 0.0,
        FeedMode::Scheduled { teacher_prob } => {
            if !(0.0..=1.0).contains(&teacher_prob) {
                return Err(RnnError::Invalid(format!(
                    "teacher_prob must be in [0, 1], got {teacher_prob}"
                )));
            }
            teacher_prob
        }
    };
    let scheduled = matches!(mode, FeedMode::Scheduled { .. });
    let mut built = own(input)?;
    let (len, batch) = (input.len(), input.batch());
    if len == 0 || batch == 0 {
        return Ok(built);
    }
    let tokens = model.config().encoding.is_tokens();
    let state = if init.is_empty() {
        model.zero_state(batch)
    } else {
        init.to_vec()
    };
    let mut g = Generator::with_state(model, state)?;
    let mut y = step_built(&mut g, &built, 0)?;
    for t in 1..len {
        let teach: Vec<bool> = (0..batch)
            .map(|_| scheduled && rng.random::<f64>() < teacher_prob)
            .collect();
        if teach.iter().any(|&k| !k) {
            let next = model_next(&g, &y, tokens, temperature, rng)?;
            match (&mut built, next) {
                (SeqInputBuf::Tokens { ids, .. }, Next::Tokens(drawn)) => {
                    for (b, id) in drawn.into_iter().enumerate() {
                        if !teach[b] {
                            ids[t * batch + b] = id;
                        }
                    }
                }
                (SeqInputBuf::Values(xs), Next::Values(v)) => {
                    for (b, row) in v.outer_iter().enumerate() {
                        if !teach[b] {
                            xs.index_axis_mut(Axis(0), t).row_mut(b).assign(&row);
                        }
                    }
                }
                _ => unreachable!("the encoding decides both"),
            }
        }
        y = step_built(&mut g, &built, t)?;
    }
    Ok(built)
}

/// Feeds step `t` of `built` to the generator.
fn step_built<F: Float, C: Cell<F>>(
    g: &mut Generator<'_, F, C>,
    built: &SeqInputBuf<F>,
    t: usize,
) -> Result<Array2<F>, RnnError> {
    match built {
        SeqInputBuf::Tokens { ids, batch, .. } => g.step_tokens(&ids[t * batch..(t + 1) * batch]),
        SeqInputBuf::Values(xs) => g.step_values(xs.index_axis(Axis(0), t)),
    }
}

/// Training under `mode`: [`feedback_input`], then
/// [`SeqModel::loss_and_grad_into`] on the built input (fed-back values are
/// constants, see the [module docs](self)). Returns the outcome and the
/// input the model saw.
#[allow(clippy::too_many_arguments)]
pub fn feedback_loss_and_grad_into<F: Float, C: Cell<F>, R: Rng + ?Sized>(
    model: &SeqModel<F, C>,
    input: &SeqInput<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    init: &[Array3<F>],
    mode: FeedMode,
    temperature: f64,
    rng: &mut R,
    grads: &mut SeqModel<F, C>,
) -> Result<(SeqOutcome<F>, SeqInputBuf<F>), RnnError> {
    let built = feedback_input(model, input, init, mode, temperature, rng)?;
    let out = model.loss_and_grad_into(&built.view(), target, mask, init, grads)?;
    Ok((out, built))
}

/// Free-running generation: feeds `prefix` (at least one step) from the zero
/// state, then runs `n` steps on the model's own outputs. Returns the `n`
/// generated steps: values `[n, B, W]` (step 0 is the output after the last
/// prefix step, step `k` the output after feeding step `k - 1`) or token
/// ids `[n * B]` (drawn at `temperature`, 0: argmax).
///
/// Errors: [`RnnError::Invalid`] for an empty prefix and the errors of
/// [`feedback_input`].
pub fn free_run<F: Float, C: Cell<F>, R: Rng + ?Sized>(
    model: &SeqModel<F, C>,
    prefix: &SeqInput<'_, F>,
    n: usize,
    temperature: f64,
    rng: &mut R,
) -> Result<SeqInputBuf<F>, RnnError> {
    check_feedback(model)?;
    if prefix.is_empty() {
        return Err(RnnError::Invalid(
            "free running needs a prefix of at least one step".into(),
        ));
    }
    let batch = prefix.batch();
    let mut g = Generator::new(model, batch)?;
    let outs = g.feed(prefix)?;
    let mut y = outs.index_axis(Axis(0), outs.shape()[0] - 1).to_owned();
    let tokens = model.config().encoding.is_tokens();
    let mut ids = Vec::new();
    let mut values = Array3::zeros((n, batch, if tokens { 0 } else { model.output_size() }));
    for k in 0..n {
        let next = model_next(&g, &y, tokens, temperature, rng)?;
        let last = k + 1 == n;
        match next {
            Next::Tokens(drawn) => {
                if !last {
                    y = g.step_tokens(&drawn)?;
                }
                ids.extend(drawn);
            }
            Next::Values(v) => {
                values.index_axis_mut(Axis(0), k).assign(&v);
                if !last {
                    y = g.step_values(v.view())?;
                }
            }
        }
    }
    Ok(if tokens {
        SeqInputBuf::Tokens { ids, len: n, batch }
    } else {
        SeqInputBuf::Values(values)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Encoding, SeqModelConfig};
    use crate::testing::{Kind, TestDims, TestRnn};
    use ndarray::Array3;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    type M = SeqModel<f64, TestRnn<f64>>;

    fn dims() -> TestDims {
        TestDims {
            i: 0,
            h: 5,
            kind: Kind::Tanh,
        }
    }

    fn sine_model() -> (M, Array3<f64>) {
        let mut rng = StdRng::seed_from_u64(21);
        let model = M::new(dims(), SeqModelConfig::regression(1, 1).layers(2), &mut rng).unwrap();
        let (t, b) = (6, 3);
        let xs = Array3::from_shape_fn((t + 1, b, 1), |(t, b, _)| ((t as f64) * 0.4 + b as f64).sin());
        (model, xs)
    }

    #[test]
    fn teacher_forcing_is_plain_training() {
        let (model, seq) = sine_model();
        let xs = seq.slice(ndarray::s![..6, .., ..]);
        let ys = seq.slice(ndarray::s![1.., .., ..]);
        let input = SeqInput::values(xs);
        let target = SeqTarget::Values(ys);
        let mut rng = StdRng::seed_from_u64(0);
        let mut g1 = model.zeros_like();
        let (out, built) = feedback_loss_and_grad_into(
            &model,
            &input,
            &target,
            None,
            &[],
            FeedMode::TeacherForcing,
            0.0,
            &mut rng,
            &mut g1,
        )
        .unwrap();
        let (plain, g2) = model.loss_and_grad(&input, &target, None, &[]).unwrap();
        assert_eq!(out.loss, plain.loss);
        assert_eq!(built, SeqInputBuf::Values(xs.to_owned()));
        for ((_, a), (_, b)) in g1.named_params().iter().zip(g2.named_params().iter()) {
            assert_eq!(a, b);
        }
        // Scheduled with probability 1 is teacher forcing too.
        let sched = feedback_input(
            &model,
            &input,
            &[],
            FeedMode::Scheduled { teacher_prob: 1.0 },
            0.0,
            &mut rng,
        )
        .unwrap();
        assert_eq!(sched, built);
    }

    #[test]
    fn free_running_feeds_outputs_back() {
        let (model, seq) = sine_model();
        let xs = seq.slice(ndarray::s![..6, .., ..]);
        let input = SeqInput::values(xs);
        let mut rng = StdRng::seed_from_u64(0);
        let built = feedback_input(&model, &input, &[], FeedMode::FreeRunning, 0.0, &mut rng).unwrap();
        let SeqInputBuf::Values(b) = &built else {
            panic!("values expected")
        };
        let (y, _) = model.forward(&built.view(), &[]).unwrap();
        assert_eq!(b.index_axis(Axis(0), 0), xs.index_axis(Axis(0), 0));
        for t in 1..6 {
            for (p, q) in b.index_axis(Axis(0), t).iter().zip(y.index_axis(Axis(0), t - 1)) {
                assert!((p - q).abs() < 1e-13, "step {t}: {p} vs {q}");
            }
        }
        // Free-running generation continues from the prefix the same way.
        let generated = free_run(
            &model,
            &SeqInput::values(xs.slice(ndarray::s![..1, .., ..])),
            5,
            0.0,
            &mut rng,
        )
        .unwrap();
        let SeqInputBuf::Values(g) = generated else { panic!() };
        for t in 0..5 {
            for (p, q) in g.index_axis(Axis(0), t).iter().zip(b.index_axis(Axis(0), t + 1)) {
                assert!((p - q).abs() < 1e-13);
            }
        }
        // Scheduled: some of each, decided by the seeded generator.
        let mixed = |seed| {
            feedback_input(
                &model,
                &input,
                &[],
                FeedMode::Scheduled { teacher_prob: 0.5 },
                0.0,
                &mut StdRng::seed_from_u64(seed),
            )
            .unwrap()
        };
        assert_eq!(mixed(3), mixed(3));
        let SeqInputBuf::Values(m) = mixed(3) else { panic!() };
        let teacher = (1..6)
            .flat_map(|t| (0..3).map(move |b| (t, b)))
            .filter(|&(t, b)| m[(t, b, 0)] == xs[(t, b, 0)])
            .count();
        assert!(teacher > 0 && teacher < 15, "{teacher}");
        // Errors: head width differs from input width; bidirectional.
        let wide = M::new(dims(), SeqModelConfig::regression(1, 2), &mut rng).unwrap();
        assert!(feedback_input(&wide, &input, &[], FeedMode::FreeRunning, 0.0, &mut rng).is_err());
        let bi = M::new(dims(), SeqModelConfig::regression(1, 1).bidirectional(true), &mut rng).unwrap();
        assert!(feedback_input(&bi, &input, &[], FeedMode::FreeRunning, 0.0, &mut rng).is_err());
        assert!(
            feedback_input(
                &model,
                &input,
                &[],
                FeedMode::Scheduled { teacher_prob: 1.5 },
                0.0,
                &mut rng
            )
            .is_err()
        );
    }

    #[test]
    fn token_feedback_uses_argmax_and_schedules_decay() {
        let mut rng = StdRng::seed_from_u64(4);
        let cfg = SeqModelConfig::language_model(Encoding::OneHot { vocab: 4 }, 4);
        let model = M::new(dims(), cfg, &mut rng).unwrap();
        let ids = [0, 1, 2, 3, 1, 0, 3, 2];
        let input = SeqInput::tokens(&ids, 4, 2);
        let built = feedback_input(&model, &input, &[], FeedMode::FreeRunning, 0.0, &mut rng).unwrap();
        let SeqInputBuf::Tokens { ids: b, .. } = &built else {
            panic!()
        };
        let (y, _) = model.forward(&built.view(), &[]).unwrap();
        assert_eq!(&b[..2], &ids[..2]);
        for t in 1..4 {
            for k in 0..2 {
                let row = y.slice(ndarray::s![t - 1, k, ..]);
                let arg = crate::nn::sample::argmax(row).unwrap();
                assert_eq!(b[t * 2 + k], arg);
            }
        }
        let generated = free_run(&model, &SeqInput::tokens(&ids[..2], 1, 2), 3, 0.0, &mut rng).unwrap();
        let SeqInputBuf::Tokens { ids: g, len, batch } = generated else {
            panic!()
        };
        assert_eq!((len, batch), (3, 2));
        assert_eq!(&g[..], &b[2..]);
        // Schedules.
        let s = TeacherSchedule::InverseSigmoid { k: 10.0 };
        assert!(s.prob(0) > 0.9 && s.prob(100) < 0.01);
        assert!(s.prob(10) < s.prob(5));
        assert_eq!(TeacherSchedule::Exponential { k: 0.5 }.prob(2), 0.25);
        let lin = TeacherSchedule::Linear {
            start: 1.0,
            end: 0.2,
            steps: 4,
        };
        assert_eq!(lin.prob(2), 0.6);
        assert_eq!(lin.prob(9), 0.2);
        assert_eq!(lin.mode(0), FeedMode::Scheduled { teacher_prob: 1.0 });
    }
}
