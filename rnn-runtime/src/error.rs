//! The one error type of the runtime.

/// Everything that can go wrong at run time, with enough detail to fix it.
#[derive(Debug, thiserror::Error)]
pub enum RnnError {
    /// A tensor had the wrong shape.
    #[error("shape mismatch for {what}: expected {expected:?}, got {got:?}")]
    Shape {
        /// Which tensor.
        what: String,
        /// The shape that was required.
        expected: Vec<usize>,
        /// The shape that was given.
        got: Vec<usize>,
    },
    /// A dimension could not be derived (for example a layer input width
    /// that the cell's input declaration cannot take).
    #[error("invalid dimension: {0}")]
    Dimension(String),
    /// A file could not be read or written.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint or fixture file is malformed or does not match the model.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A loss or gradient became NaN or infinite.
    #[error("non-finite {what} at step {step}")]
    NonFinite {
        /// What was not finite (loss, gradient of a named parameter, ...).
        what: String,
        /// The training step at which it happened.
        step: usize,
    },
    /// Invalid configuration or argument.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// Data-parallel training failed: the processes disagree (their
    /// parameters drifted apart, or they train different models), or the
    /// transport (MPI) reported an error.
    #[error("distributed training: {0}")]
    Distributed(String),
}

impl RnnError {
    /// A shape error for `what`.
    pub fn shape(what: impl Into<String>, expected: &[usize], got: &[usize]) -> Self {
        RnnError::Shape {
            what: what.into(),
            expected: expected.to_vec(),
            got: got.to_vec(),
        }
    }
}
