//! Symbolic shapes on every node of the step graph.
//!
//! A dimension is `coef * sym` (`4 * H`) or a plain number. Values are
//! vectors of one width, batched (one row per sequence in the batch) or not
//! (built from parameters and constants only); a matrix parameter appears
//! only as the left side of `@`. Every mismatch is reported at the user's
//! operator with both shapes; after this stage every node has a shape.
//!
//! This is the last gate: `expand` stops here on error, and every pass after
//! it is infallible. No broadcasting beyond scalar constants.

use crate::cell::ir::{Dim, Id, Op, ShowDim, StepGraph};
use crate::errors::Errors;
use syn::Ident;

/// A node's shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// A constant that broadcasts to any vector.
    Scalar,
    Vector {
        width: Dim,
        batched: bool,
    },
    Matrix {
        rows: Dim,
        cols: Dim,
    },
}

/// The step graph with a shape for every node (indexed by node index).
pub struct Shaped {
    pub sg: StepGraph,
    pub shapes: Vec<Shape>,
}

impl Shaped {
    pub fn width(&self, n: Id) -> Dim {
        match self.shapes[n.index()] {
            Shape::Vector { width, .. } => width,
            Shape::Scalar => Dim { coef: 1, sym: None },
            Shape::Matrix { rows, .. } => rows,
        }
    }
    pub fn batched(&self, n: Id) -> bool {
        matches!(self.shapes[n.index()], Shape::Vector { batched: true, .. })
    }
}

pub fn show(shape: &Shape, dims: &[(Ident, Option<usize>)]) -> String {
    match shape {
        Shape::Scalar => "scalar".to_string(),
        Shape::Vector { width, batched: true } => format!("[B, {}]", ShowDim(*width, dims)),
        Shape::Vector { width, batched: false } => format!("[{}]", ShowDim(*width, dims)),
        Shape::Matrix { rows, cols } => format!("[{}, {}]", ShowDim(*rows, dims), ShowDim(*cols, dims)),
    }
}

fn decl_shape(shape: &[Dim], batched: bool) -> Shape {
    match shape {
        [w] => Shape::Vector { width: *w, batched },
        [r, c] => Shape::Matrix { rows: *r, cols: *c },
        _ => Shape::Scalar,
    }
}

pub fn infer(sg: StepGraph) -> syn::Result<Shaped> {
    let mut errs = Errors::new();
    let mut shapes: Vec<Shape> = Vec::with_capacity(sg.g.node_count());
    let dims = &sg.decls.dims;
    let s = |x: &Shape| show(x, dims);
    // Nodes are in evaluation order, so operands are shaped first.
    for n in sg.g.node_indices() {
        let args = sg.args(n);
        let span = sg.g[n].span;
        let at = |k: usize| shapes[args[k].index()];
        let shape = match sg.op(n) {
            Op::Input(k) => decl_shape(&sg.decls.inputs[k].shape, true),
            Op::State(k) => decl_shape(&sg.decls.states[k].shape, true),
            Op::Param(k) => decl_shape(&sg.decls.weight_shape(k), false),
            Op::Const(_) => Shape::Scalar,
            Op::MatVec => match (at(0), at(1)) {
                (Shape::Matrix { rows, cols }, Shape::Vector { width, batched }) => {
                    if width != cols {
                        errs.push(
                            span,
                            format!(
                                "shape mismatch in `@`: the matrix `{}` is {} but the vector is {}; the vector's width must be {}",
                                match sg.op(args[0]) {
                                    Op::Param(k) => sg.decls.weight_name(k),
                                    _ => String::new(),
                                },
                                s(&at(0)),
                                s(&at(1)),
                                ShowDim(cols, dims)
                            ),
                        );
                    }
                    if !batched {
                        errs.push(
                            sg.g[args[1]].span,
                            "the right side of `@` must depend on the input or a state; fold parameter-only products into one parameter",
                        );
                    }
                    Shape::Vector { width: rows, batched }
                }
                (m, v) => {
                    errs.push(
                        span,
                        format!("`@` needs a matrix and a vector, got {} and {}", s(&m), s(&v)),
                    );
                    Shape::Scalar
                }
            },
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Max | Op::Min => match (at(0), at(1)) {
                (Shape::Scalar, o) | (o, Shape::Scalar) if !matches!(o, Shape::Matrix { .. }) => o,
                (Shape::Vector { width: a, batched: ba }, Shape::Vector { width: b, batched: bb }) => {
                    if a != b {
                        let one = Dim { coef: 1, sym: None };
                        let hint = if a == one || b == one {
                            "; a `[1]` vector does not stretch to other widths: declare a scalar parameter as `param alpha: [];`"
                        } else {
                            ""
                        };
                        errs.push(
                            span,
                            format!("shape mismatch: left is {} but right is {}{hint}", s(&at(0)), s(&at(1))),
                        );
                    }
                    Shape::Vector {
                        width: a,
                        batched: ba || bb,
                    }
                }
                (a, b) => {
                    errs.push(
                        span,
                        format!(
                            "elementwise operation on a matrix ({} and {}); use `w @ v`",
                            s(&a),
                            s(&b)
                        ),
                    );
                    Shape::Scalar
                }
            },
            Op::Sum { .. } => match at(0) {
                Shape::Vector { batched: true, width } => Shape::Vector { width, batched: true },
                Shape::Vector { batched: false, .. } => {
                    errs.push(
                        span,
                        "this sum depends on parameters only; fold it into a parameter (a reduction runs over each row of a batch)",
                    );
                    Shape::Scalar
                }
                other => {
                    errs.push(span, format!("`sum` and `mean` take a vector, got {}", s(&other)));
                    Shape::Scalar
                }
            },
            Op::Neg | Op::Func(_) => {
                let a = at(0);
                if matches!(a, Shape::Matrix { .. }) {
                    errs.push(span, format!("elementwise function of a matrix ({})", s(&a)));
                }
                a
            }
            Op::Split { parts, index } => match at(0) {
                Shape::Vector { width, batched } => {
                    if width.coef % parts != 0 && index == 0 {
                        errs.push(
                            span,
                            format!(
                                "cannot split {} into {parts} equal parts; the width's factor must be a multiple of {parts}",
                                s(&at(0))
                            ),
                        );
                    }
                    Shape::Vector {
                        width: Dim {
                            coef: (width.coef / parts).max(1),
                            sym: width.sym,
                        },
                        batched,
                    }
                }
                other => {
                    errs.push(span, format!("`split` takes a vector, got {}", s(&other)));
                    Shape::Scalar
                }
            },
        };
        shapes.push(shape);
    }
    let targets = sg
        .decls
        .states
        .iter()
        .zip(&sg.updates)
        .chain(sg.decls.outputs.iter().zip(&sg.output_nodes));
    for (decl, &node) in targets {
        let want = decl_shape(&decl.shape, true);
        let got = shapes[node.index()];
        let ok = match got {
            Shape::Vector { width, batched: true } => Shape::Vector { width, batched: true } == want,
            _ => false,
        };
        if !ok {
            errs.push(
                sg.g[node].span,
                format!("`{}` is declared {} but this value is {}", decl.name, s(&want), s(&got)),
            );
        }
    }
    errs.finish()?;
    Ok(Shaped { sg, shapes })
}
