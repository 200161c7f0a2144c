//! Truncated backpropagation through time over one long batch of sequences.
//!
//! The `T` steps are cut into chunks of `k` steps (the last one may be
//! shorter). Each chunk runs from the state the previous chunk ended in,
//! with the state's values carried and its gradient stopped at the border
//! (PyTorch's `h = h.detach()` between chunks): [`SeqModel::loss_and_grad_into`]
//! treats its initial state as a constant, so chunk `c`'s gradient is that of
//! a fresh forward over chunk `c` from the carried state. After each chunk
//! the model is updated (optionally after clipping by global norm), so the
//! next chunk runs with the new parameters from the state the old ones
//! produced, exactly as a PyTorch TBPTT loop does.
//!
//! With `k >= T` there is one chunk and this is full BPTT.
//!
//! For a bidirectional model the carried state of a reverse direction is
//! the one it reached at the chunk's first step (what PyTorch's `h_n`
//! holds); carrying it forward is rarely meaningful, so TBPTT is for
//! unidirectional models in practice.

use crate::cell::Cell;
use crate::error::RnnError;
use crate::float::Float;
use crate::model::{SeqInput, SeqModel, SeqTarget};
use crate::optim::Optimizer;
use crate::optim::clip::params_norm;
use ndarray::Array3;
use std::ops::Range;

/// Settings of [`train_tbptt`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TbpttConfig {
    /// Steps per chunk, `k >= 1`.
    pub chunk_len: usize,
    /// Clip each chunk's gradients to this global L2 norm before the update.
    pub clip_norm: Option<f64>,
}

/// What one chunk did.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkReport {
    /// 0-based chunk number.
    pub index: usize,
    /// The steps `start..end` of the whole sequence this chunk covers.
    pub steps: Range<usize>,
    /// The chunk's mean loss over its counted positions.
    pub loss: f64,
    /// How many positions the mask counted in this chunk.
    pub count: usize,
    /// Global L2 norm of the chunk's gradient (before any clipping).
    pub grad_norm: f64,
    /// The gradient reaching each step of the chunk (see
    /// [`SeqOutcome::step_grad_norms`](crate::model::SeqOutcome)).
    pub step_grad_norms: Vec<f64>,
}

/// What [`train_tbptt`] and [`tbptt_for_each`] report.
#[derive(Debug, Clone)]
pub struct TbpttReport<F> {
    /// One entry per chunk, in order.
    pub chunks: Vec<ChunkReport>,
    /// The state after the last chunk (one `[L*D, B, width]` per cell state),
    /// to carry into the next batch of a stream.
    pub final_state: Vec<Array3<F>>,
}

impl<F> TbpttReport<F> {
    /// The mean loss over every counted position of the sequence (chunk
    /// losses weighted by their counts); 0 when nothing is counted.
    pub fn mean_loss(&self) -> f64 {
        let n = self.total_count();
        if n == 0 {
            return 0.0;
        }
        self.chunks.iter().map(|c| c.loss * c.count as f64).sum::<f64>() / n as f64
    }

    /// Counted positions over all chunks.
    pub fn total_count(&self) -> usize {
        self.chunks.iter().map(|c| c.count).sum()
    }
}

/// The chunks `0..k, k..2k, ...` of `0..total` (the last one may be shorter).
///
/// Errors: [`RnnError::Invalid`] if `k == 0`.
pub fn chunk_ranges(total: usize, k: usize) -> Result<Vec<Range<usize>>, RnnError> {
    if k == 0 {
        return Err(RnnError::Invalid("the TBPTT chunk length must be at least 1".into()));
    }
    Ok((0..total).step_by(k).map(|s| s..(s + k).min(total)).collect())
}

/// Runs every chunk of `input` (see the [module docs](self)): computes the
/// chunk's loss and gradient from the carried state, then calls
/// `on_chunk(model, grads, report)`, which may update the model (as
/// [`train_tbptt`] does) before the next chunk starts. `init` is the
/// state before step 0 (empty: zeros); `mask` is `[T*B]` (`None`: all).
///
/// Errors: [`RnnError::NonFinite`] (step = chunk index) if a chunk's loss is
/// NaN or infinite, the errors of [`SeqModel::loss_and_grad_into`], and any
/// error `on_chunk` returns (which stops the run).
#[allow(clippy::too_many_arguments)]
pub fn tbptt_for_each<F, C, G>(
    model: &mut SeqModel<F, C>,
    input: &SeqInput<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    init: &[Array3<F>],
    chunk_len: usize,
    mut on_chunk: G,
) -> Result<TbpttReport<F>, RnnError>
where
    F: Float,
    C: Cell<F>,
    G: FnMut(&mut SeqModel<F, C>, &mut SeqModel<F, C>, &ChunkReport) -> Result<(), RnnError>,
{
    let (total, batch) = (input.len(), input.batch());
    if let Some(m) = mask.filter(|m| m.len() != total * batch) {
        return Err(RnnError::shape("loss mask [T*B]", &[total * batch], &[m.len()]));
    }
    let mut grads = model.zeros_like();
    let mut state: Vec<Array3<F>> = init.to_vec();
    let mut chunks = Vec::new();
    for (index, steps) in chunk_ranges(total, chunk_len)?.into_iter().enumerate() {
        let x = input.slice_time(steps.clone())?;
        let y = target.slice_time(steps.clone(), batch)?;
        let m = mask.map(|m| &m[steps.start * batch..steps.end * batch]);
        let out = model.loss_and_grad_into(&x, &y, m, &state, &mut grads)?;
        if !out.loss.is_finite() {
            return Err(RnnError::NonFinite {
                what: format!("loss of TBPTT chunk {}..{}", steps.start, steps.end),
                step: index,
            });
        }
        let grad_norm = params_norm(&grads);
        let report = ChunkReport {
            index,
            steps,
            loss: out.loss,
            count: out.count,
            grad_norm,
            step_grad_norms: out.step_grad_norms,
        };
        on_chunk(model, &mut grads, &report)?;
        chunks.push(report);
        state = out.final_state;
    }
    if state.is_empty() {
        state = model.zero_state(batch);
    }
    Ok(TbpttReport {
        chunks,
        final_state: state,
    })
}

/// Truncated BPTT with an update per chunk: [`tbptt_for_each`] whose
/// callback is [`SeqModel::apply_gradients`] with `config.clip_norm`.
#[allow(clippy::too_many_arguments)]
pub fn train_tbptt<F, C, O>(
    model: &mut SeqModel<F, C>,
    optimizer: &mut O,
    input: &SeqInput<'_, F>,
    target: &SeqTarget<'_, F>,
    mask: Option<&[bool]>,
    init: &[Array3<F>],
    config: &TbpttConfig,
) -> Result<TbpttReport<F>, RnnError>
where
    F: Float,
    C: Cell<F>,
    O: Optimizer<F>,
{
    tbptt_for_each(model, input, target, mask, init, config.chunk_len, |m, g, _| {
        m.apply_gradients(g, optimizer, config.clip_norm).map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Encoding, SeqModelConfig};
    use crate::optim::{Sgd, SgdConfig};
    use crate::testing::{Kind, TestDims, TestRnn};
    use ndarray::{Axis, s};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    type M = SeqModel<f64, TestRnn<f64>>;

    fn setup() -> (M, Vec<usize>, Vec<usize>, Vec<bool>) {
        let mut rng = StdRng::seed_from_u64(11);
        let cfg = SeqModelConfig::language_model(Encoding::Embedding { vocab: 5, dim: 3 }, 5).layers(2);
        let dims = TestDims {
            i: 0,
            h: 4,
            kind: Kind::Leaky,
        };
        let model = M::new(dims, cfg, &mut rng).unwrap();
        let (t, b) = (7, 2);
        let ids: Vec<usize> = (0..t * b).map(|i| (i * 3 + 1) % 5).collect();
        let next: Vec<usize> = (0..t * b).map(|i| (i * 2 + 3) % 5).collect();
        let mask: Vec<bool> = (0..t * b).map(|i| i % 5 != 2).collect();
        (model, ids, next, mask)
    }

    fn flat(m: &M) -> Vec<f64> {
        m.named_params()
            .iter()
            .flat_map(|(_, v)| v.iter().copied().collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn one_chunk_is_full_bptt() {
        let (model, ids, next, mask) = setup();
        let input = SeqInput::tokens(&ids, 7, 2);
        let target = SeqTarget::Classes(&next);
        let (full, grads) = model.loss_and_grad(&input, &target, Some(&mask), &[]).unwrap();
        let mut m = model.clone();
        let mut seen = Vec::new();
        let report = tbptt_for_each(&mut m, &input, &target, Some(&mask), &[], 7, |_, g, _| {
            seen.push(flat(g));
            Ok(())
        })
        .unwrap();
        assert_eq!(report.chunks.len(), 1);
        assert_eq!(report.mean_loss(), full.loss);
        assert_eq!(seen[0], flat(&grads));
        assert_eq!(report.final_state, full.final_state);
        // And with an update: the same SGD step as on the full gradient.
        let cfg = SgdConfig {
            lr: 0.1,
            ..SgdConfig::default()
        };
        let mut a = model.clone();
        train_tbptt(
            &mut a,
            &mut Sgd::new(cfg).unwrap(),
            &input,
            &target,
            Some(&mask),
            &[],
            &TbpttConfig {
                chunk_len: 10,
                clip_norm: None,
            },
        )
        .unwrap();
        let mut b = model.clone();
        let mut g = grads.clone();
        b.apply_gradients(&mut g, &mut Sgd::new(cfg).unwrap(), None).unwrap();
        assert_eq!(flat(&a), flat(&b));
    }

    #[test]
    fn chunks_carry_state_and_stop_gradients() {
        let (model, ids, next, mask) = setup();
        let (t, b, k) = (7, 2, 3);
        let input = SeqInput::tokens(&ids, t, b);
        let target = SeqTarget::Classes(&next);
        // Without updates, the carried state makes chunk outputs equal one
        // full forward's at the same steps.
        let mut m = model.clone();
        let report = tbptt_for_each(&mut m, &input, &target, None, &[], k, |_, _, _| Ok(())).unwrap();
        assert_eq!(
            report.chunks.iter().map(|c| c.steps.clone()).collect::<Vec<_>>(),
            vec![0..3, 3..6, 6..7]
        );
        let (full_out, full_fin) = model.forward(&input, &[]).unwrap();
        let (_, s1) = model.forward(&input.slice_time(0..3).unwrap(), &[]).unwrap();
        let (out2, _) = model.forward(&input.slice_time(3..6).unwrap(), &s1).unwrap();
        for (x, y) in out2.iter().zip(full_out.slice(s![3..6, .., ..])) {
            assert!((x - y).abs() < 1e-14);
        }
        for (a, b) in report.final_state.iter().zip(&full_fin) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-14);
            }
        }
        // Chunk 2's gradient (after an SGD update on chunk 1) equals that of
        // a fresh forward from the carried, detached state.
        let cfg = SgdConfig {
            lr: 0.5,
            ..SgdConfig::default()
        };
        let mut opt = Sgd::new(cfg).unwrap();
        let mut m = model.clone();
        let mut grads_seen = Vec::new();
        let mut models_seen = Vec::new();
        tbptt_for_each(&mut m, &input, &target, Some(&mask), &[], k, |m, g, _| {
            models_seen.push(m.clone());
            grads_seen.push(flat(g));
            m.apply_gradients(g, &mut opt, None).map(|_| ())
        })
        .unwrap();
        let m0 = &models_seen[0];
        let m1 = &models_seen[1];
        assert_ne!(flat(m0), flat(m1), "chunk 1 updated the model");
        let carried = m0.forward(&input.slice_time(0..3).unwrap(), &[]).unwrap().1;
        let (o2, g2) = m1
            .loss_and_grad(
                &input.slice_time(3..6).unwrap(),
                &target.slice_time(3..6, b).unwrap(),
                Some(&mask[3 * b..6 * b]),
                &carried,
            )
            .unwrap();
        assert_eq!(grads_seen[1], flat(&g2));
        assert_eq!(o2.step_grad_norms.len(), 3);
        assert!(chunk_ranges(5, 0).is_err());
        assert_eq!(chunk_ranges(0, 3).unwrap().len(), 0);
        assert_eq!(full_out.len_of(Axis(0)), 7);
    }
}
