//! Data-parallel training over MPI (feature `mpi`): [`Mpi`], the running
//! MPI environment, and [`MpiSync`], a [`GradientSync`] over its processes
//! (ranks), for [`Trainer::with_sync`].
//!
//! Run a program with `mpirun -np N`. Every rank builds the same model and
//! draws the same global batch from the same seed; [`Mpi::shard`] gives
//! each rank its rows of it. Gradients are summed with one all-reduce per
//! bucket of at most [`BUCKET`] values (a model of under a million
//! parameters is one message), so a step costs one or a few messages, not
//! one per tensor. Checkpoints are written by rank 0 only
//! ([`Mpi::is_root`]).
//!
//! ```no_run
//! use rnn_runtime::distributed::Mpi;
//! let mpi = Mpi::init()?;
//! let rows = mpi.shard(32); // this rank's rows of a global batch of 32
//! let sync = mpi.sync::<f32>(); // then `Trainer::with_sync(Box::new(sync), 100)`
//! # let _ = (rows, sync);
//! # Ok::<(), rnn_runtime::RnnError>(())
//! ```
//!
//! [`Trainer::with_sync`]: crate::train::Trainer::with_sync

use crate::error::RnnError;
use crate::float::Float;
use crate::params::Params;
use crate::train::sync::{fingerprint, flatten_into, unflatten_from};
use crate::train::{GradientSync, SyncStats};
use mpi::Threading;
use mpi::collective::SystemOperation;
/// The element types MPI can send (`f32`, `f64`, ...).
pub use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::ops::Range;
use std::time::{Duration, Instant};

/// The most values one all-reduce message carries (4 MiB of `f32`).
pub const BUCKET: usize = 1 << 20;

/// The MPI environment of this process: initialised by [`Mpi::init`],
/// finalised when dropped (keep it alive while training).
pub struct Mpi {
    universe: Universe,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mpi")
            .field("rank", &self.rank())
            .field("size", &self.size())
            .finish()
    }
}

impl Mpi {
    /// Initialises MPI (once per process), at the thread level that lets
    /// any one thread at a time call it (`MPI_THREAD_SERIALIZED`): a
    /// trainer may step inside a thread pool.
    ///
    /// Errors: [`RnnError::Distributed`] if MPI was initialised already, or
    /// if this MPI cannot be called from more than one thread.
    pub fn init() -> Result<Mpi, RnnError> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| RnnError::Distributed("MPI is initialised already (once per process)".into()))?;
        if level < Threading::Serialized {
            return Err(RnnError::Distributed(format!(
                "this MPI offers thread level {level:?}; training needs Serialized (one thread at a time, any thread)"
            )));
        }
        Ok(Mpi { universe })
    }

    /// This process's rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.universe.world().rank() as usize
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.universe.world().size() as usize
    }

    /// Whether this is rank 0, the one that writes checkpoints and reports.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// This rank's rows of a global batch of `rows` rows: consecutive
    /// blocks, the first `rows % size` ranks one row more.
    pub fn shard(&self, rows: usize) -> Range<usize> {
        shard(rows, self.rank(), self.size())
    }

    /// A [`GradientSync`] over every process.
    pub fn sync<F: Float + Equivalence>(&self) -> MpiSync<F> {
        MpiSync {
            world: self.universe.world(),
            send: Vec::new(),
            recv: Vec::new(),
            reduced_bytes: 0,
            reduce_time: Duration::ZERO,
            reductions: 0,
        }
    }

    /// Rank 0's `bytes` on every rank (a path, a seed).
    pub fn broadcast_bytes(&self, bytes: &mut [u8]) {
        self.universe.world().process_at_rank(0).broadcast_into(bytes);
    }

    /// Stops every process of the run (`MPI_Abort`) with exit status
    /// `code`: what a rank does on an error, so that the others do not
    /// wait for it forever in the next collective call.
    pub fn abort(&self, code: i32) -> ! {
        self.universe.world().abort(code)
    }

    /// Waits until every process gets here.
    pub fn barrier(&self) {
        self.universe.world().barrier();
    }
}

/// Rank `rank`'s rows of `rows` split over `size` ranks (see [`Mpi::shard`]).
pub fn shard(rows: usize, rank: usize, size: usize) -> Range<usize> {
    let (base, extra) = (rows / size, rows % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// [`GradientSync`] over MPI's world communicator: the gradients are summed
/// with all-reduces of at most [`BUCKET`] values each, out of buffers kept
/// from step to step.
pub struct MpiSync<F> {
    world: SimpleCommunicator,
    send: Vec<F>,
    recv: Vec<F>,
    reduced_bytes: usize,
    reduce_time: Duration,
    reductions: usize,
}

// SAFETY: MPI runs at `MPI_THREAD_SERIALIZED` (see `Mpi::init`), so any
// thread may call it as long as calls do not overlap; every call goes
// through `&mut self`, which one thread holds at a time.
unsafe impl<F: Send> Send for MpiSync<F> {}

impl<F> std::fmt::Debug for MpiSync<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiSync")
            .field("rank", &self.world.rank())
            .field("reductions", &self.reductions)
            .finish()
    }
}

impl<F: Float + Equivalence> MpiSync<F> {
    /// Checks that every process flattened the same number of values (one
    /// all-reduce: the largest of `n` and of `-n` gives the largest and the
    /// smallest `n`).
    fn same_length(&self, what: &str) -> Result<(), RnnError> {
        let n = self.send.len() as i64;
        let mut max = [0i64; 2];
        self.world
            .all_reduce_into(&[n, -n][..], &mut max[..], SystemOperation::max());
        let (hi, lo) = (max[0], -max[1]);
        if lo != hi {
            return Err(RnnError::Distributed(format!(
                "the processes' {what} have different sizes ({lo} to {hi} values): do all ranks train the same model?"
            )));
        }
        Ok(())
    }
}

impl<F: Float + Equivalence> GradientSync<F> for MpiSync<F> {
    fn reduce(&mut self, grads: &mut dyn Params<F>, loss: f64, count: usize) -> Result<(f64, usize), RnnError> {
        let start = Instant::now();
        let local = [loss * count as f64, count as f64];
        let mut global = [0.0f64; 2];
        self.world
            .all_reduce_into(&local[..], &mut global[..], SystemOperation::sum());
        let total = global[1];
        let weight = F::from_f64(count as f64).expect("a count is a number");
        flatten_into(grads, weight, &mut self.send);
        self.same_length("gradients")?;
        self.recv.resize(self.send.len(), F::zero());
        for (s, r) in self.send.chunks(BUCKET).zip(self.recv.chunks_mut(BUCKET)) {
            self.world.all_reduce_into(s, r, SystemOperation::sum());
        }
        // No position counted anywhere: every gradient is zero already.
        let inv = if total > 0.0 { 1.0 / total } else { 0.0 };
        unflatten_from(&self.recv, F::from_f64(inv).expect("a number"), grads)?;
        self.reduced_bytes = self.send.len() * std::mem::size_of::<F>();
        self.reduce_time += start.elapsed();
        self.reductions += 1;
        let mean = if total > 0.0 { global[0] / total } else { 0.0 };
        Ok((mean, total as usize))
    }

    fn broadcast(&mut self, params: &mut dyn Params<F>) -> Result<(), RnnError> {
        flatten_into(params, F::one(), &mut self.send);
        self.same_length("parameters")?;
        self.world.process_at_rank(0).broadcast_into(&mut self.send[..]);
        unflatten_from(&self.send, F::one(), params)
    }

    fn check_same(&mut self, params: &dyn Params<F>, step: usize) -> Result<(), RnnError> {
        let mine = fingerprint(params);
        let mut all = vec![0u64; self.world.size() as usize];
        self.world.all_gather_into(&mine, &mut all[..]);
        let differ: Vec<String> = all
            .iter()
            .enumerate()
            .filter(|(_, f)| **f != all[0])
            .map(|(r, _)| r.to_string())
            .collect();
        if differ.is_empty() {
            return Ok(());
        }
        Err(RnnError::Distributed(format!(
            "after step {step} the parameters of rank(s) {} differ from rank 0's: the ranks drifted apart",
            differ.join(", ")
        )))
    }

    fn stats(&self) -> SyncStats {
        SyncStats {
            bytes_per_reduce: self.reduced_bytes,
            reduce_time: self.reduce_time,
            reductions: self.reductions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shard;

    #[test]
    fn shards_cover_the_batch_once_in_order() {
        for (rows, size) in [(8, 2), (7, 2), (5, 3), (2, 4)] {
            let parts: Vec<_> = (0..size).map(|r| shard(rows, r, size)).collect();
            assert_eq!(parts[0].start, 0);
            assert_eq!(parts[size - 1].end, rows);
            for w in parts.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(w[0].len() >= w[1].len() && w[0].len() <= w[1].len() + 1);
            }
        }
    }
}
