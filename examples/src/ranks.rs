//! A program's place in a data-parallel run (`char_lm --distributed`):
//! [`Ranks`], rank 0 of 1 for an ordinary run, or a rank of `mpirun -np N`
//! with the `mpi` feature. Rank 0 reports, checkpoints and samples; every
//! rank trains on its shard of each global batch.

use rnn::runtime::optim::Optimizer;
use rnn::runtime::train::{Trainer, TrainerConfig};
use rnn::{Cell, Float, RnnError, SeqModel};
use std::ops::Range;

/// This process's rank among those training together.
#[derive(Debug)]
pub struct Ranks {
    #[cfg(feature = "mpi")]
    mpi: Option<rnn::runtime::distributed::Mpi>,
    rank: usize,
    size: usize,
}

impl Ranks {
    /// One process alone, or (`distributed`) this rank of the MPI run.
    ///
    /// Errors: [`RnnError::Invalid`] for `distributed` in a program built
    /// without the `mpi` feature; MPI's own errors.
    pub fn new(distributed: bool) -> Result<Ranks, RnnError> {
        if !distributed {
            return Ok(Ranks {
                #[cfg(feature = "mpi")]
                mpi: None,
                rank: 0,
                size: 1,
            });
        }
        #[cfg(feature = "mpi")]
        {
            let mpi = rnn::runtime::distributed::Mpi::init()?;
            let (rank, size) = (mpi.rank(), mpi.size());
            Ok(Ranks {
                mpi: Some(mpi),
                rank,
                size,
            })
        }
        #[cfg(not(feature = "mpi"))]
        Err(RnnError::Invalid(
            "--distributed: this program was built without MPI; build it with `--features mpi` \
             (README, \"Training on several processes\") and run it under mpirun"
                .into(),
        ))
    }

    /// This rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this rank reports, checkpoints and samples.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This rank's windows of a global batch of `batch`.
    pub fn shard(&self, batch: usize) -> Range<usize> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return mpi.shard(batch);
        }
        0..batch
    }

    /// A trainer of `model` that, on several ranks, trains with the others
    /// (gradients all-reduced, parameters checked every `check_every`
    /// steps; see `Trainer::with_sync`).
    ///
    /// Errors: the trainer's errors, and the first all-reduce's.
    pub fn trainer<F, C, O>(
        &self,
        model: SeqModel<F, C>,
        optimizer: O,
        config: TrainerConfig,
        check_every: usize,
    ) -> Result<Trainer<F, C, O>, RnnError>
    where
        F: Float + SyncFloat,
        C: Cell<F>,
        O: Optimizer<F>,
    {
        let trainer = Trainer::new(model, optimizer, config);
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return trainer.with_sync(Box::new(mpi.sync::<F>()), check_every.max(1));
        }
        let _ = check_every;
        Ok(trainer)
    }

    /// Ends the run after an error on this rank: stops every rank (an
    /// ordinary run just returns).
    pub fn abort_if_distributed(&self) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi
            && self.size > 1
        {
            mpi.abort(1);
        }
    }
}

/// The element types the ranks can exchange (`f32`, `f64`).
#[cfg(feature = "mpi")]
pub trait SyncFloat: rnn::runtime::distributed::Equivalence {}
#[cfg(feature = "mpi")]
impl<T: rnn::runtime::distributed::Equivalence> SyncFloat for T {}

/// The element types the ranks can exchange (any, without MPI).
#[cfg(not(feature = "mpi"))]
pub trait SyncFloat {}
#[cfg(not(feature = "mpi"))]
impl<T> SyncFloat for T {}

#[cfg(test)]
mod tests {
    use super::Ranks;

    #[test]
    fn one_process_is_rank_0_of_1_with_the_whole_batch() {
        let r = Ranks::new(false).unwrap();
        assert!(r.is_root());
        assert_eq!((r.rank(), r.size()), (0, 1));
        assert_eq!(r.shard(32), 0..32);
    }
}
