//! What the compiler may do to a cell beyond running its equations as
//! written. Chosen once, in `expand`; read by `stack` and `schedule`.
//!
//! [`Options::OPTIMISED`] is what every cell ships. [`Options::REFERENCE`]
//! turns everything off: one product per `@`, nothing moved out of the time
//! loop, every value stored by a loop of its own. It is slow and obviously
//! right, and differential tests compare the optimised code against it
//! (`#[reference_schedule]`, see the crate docs). Only these two
//! combinations are tested.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Stack products that share an operand into one GEMM (`stack.rs`).
    pub stack: bool,
    /// Move work that does not depend on the state out of the time loop:
    /// products of the input before it, values only outputs read after it
    /// (forward); adjoints that do not depend on the carried one before or
    /// after it (backward).
    pub hoist: bool,
    /// Fuse elementwise values into one loop per level and width, storing
    /// only what must be stored; off, every value is stored by a loop of
    /// its own.
    pub fuse: bool,
    /// Weight gradients read adjoints computed in the loop from panels the
    /// loop fills step by step, not from a buffer of all steps.
    pub panels: bool,
    /// Input projections run a chunk of steps ahead inside the loop
    /// (`schedule/chunk.rs`), not for all steps before it.
    pub chunk: bool,
}

impl Options {
    /// Everything on: the code every cell ships.
    pub const OPTIMISED: Options = Options {
        stack: true,
        hoist: true,
        fuse: true,
        panels: true,
        chunk: true,
    };

    /// Everything off: the reference the optimised code is tested against.
    pub const REFERENCE: Options = Options {
        stack: false,
        hoist: false,
        fuse: false,
        panels: false,
        chunk: false,
    };
}
