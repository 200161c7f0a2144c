//! What the user wrote, with a span on every node.
//!
//! The parser produces these types and nothing else reads tokens; every later
//! stage points its errors at the spans kept here.

use proc_macro2::Span;
use syn::{Attribute, Ident, Visibility};

/// A whole `cell!` declaration.
pub struct CellDef {
    /// The attributes to put on the cell's struct.
    pub attrs: Vec<Attribute>,
    /// The hidden `#[reference_schedule]` was given: emit the reference
    /// schedule's methods too (for tests; see the crate docs).
    pub reference_schedule: bool,
    pub vis: Visibility,
    pub name: Ident,
    pub dims: Vec<DimDecl>,
    pub decls: Vec<Decl>,
    pub eqs: Vec<Equation>,
}

/// A dimension name, optionally fixed in the declaration (`H = 16`).
pub struct DimDecl {
    pub name: Ident,
    pub fixed: Option<(usize, Span)>,
}

/// What a declared name is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DeclKind {
    Input,
    State,
    Param,
    Output,
}

/// `input x: [I];`, `state h: [H];`, `param w: [4 * H, I];`, `output y: [O];`
pub struct Decl {
    pub kind: DeclKind,
    pub name: Ident,
    pub shape: Vec<DimTerm>,
    pub shape_span: Span,
}

/// One axis of a declared shape: `coef * sym`, `sym`, or a number.
pub struct DimTerm {
    pub coef: usize,
    pub sym: Option<Ident>,
    pub span: Span,
}

/// One line of the cell body.
pub enum Equation {
    /// `let a = expr;`
    Let { name: Ident, expr: Expr },
    /// `let [i, f, g, o] = split(expr);`
    LetSplit {
        names: Vec<Ident>,
        expr: Expr,
        split_span: Span,
    },
    /// `h = expr;` (a state update or an output)
    Assign { target: Ident, expr: Expr },
}

/// Binary operators of the language.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    MatVec,
}

/// An expression.
pub enum Expr {
    Name(Ident),
    Num(f64, Span),
    Neg(Box<Expr>, Span),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        span: Span,
    },
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// The span an error about this expression should point at.
    pub fn span(&self) -> Span {
        match self {
            Expr::Name(n) => n.span(),
            Expr::Num(_, s) | Expr::Neg(_, s) => *s,
            Expr::Binary { span, .. } => *span,
            Expr::Call { func, .. } => func.span(),
        }
    }
}
