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
    /// Terms added to the last axis: `[4 * H, I + H]` has `shape` `[4 * H,
    /// I]` and `sums` `[H]` (a matrix read by `w @ concat(x, h)`).
    pub sums: Vec<DimTerm>,
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

/// A number as a user writes it: `1.0`, `0.5`, `1e-5`.
pub(crate) fn format_number(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:e}")
    } else if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
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
    /// `w.T`, a matrix parameter transposed (read only left of `@`); the
    /// span is the `.T`'s.
    Transposed(Ident, Span),
}

impl Expr {
    /// The expression as the user would write it (`sigmoid(f) * c + i * g`),
    /// with the parentheses its operators need and no others.
    pub fn text(&self) -> String {
        self.text_at(0)
    }

    /// [`Expr::text`] inside an operator binding at `outer` (0 none, 1 `+ -`,
    /// 2 `* / @`, 3 unary `-`).
    fn text_at(&self, outer: u8) -> String {
        match self {
            Expr::Name(n) => n.to_string(),
            Expr::Num(v, _) => format_number(*v),
            Expr::Neg(a, _) => format!("-{}", a.text_at(3)),
            Expr::Binary { op, lhs, rhs, .. } => {
                let (sym, prec) = match op {
                    BinOp::Add => ("+", 1),
                    BinOp::Sub => ("-", 1),
                    BinOp::Mul => ("*", 2),
                    BinOp::Div => ("/", 2),
                    BinOp::MatVec => ("@", 2),
                };
                // Left-associative: the right operand of the same level keeps its parentheses.
                let s = format!("{} {sym} {}", lhs.text_at(prec), rhs.text_at(prec + 1));
                if prec < outer { format!("({s})") } else { s }
            }
            Expr::Call { func, args } => {
                let args: Vec<String> = args.iter().map(Expr::text).collect();
                format!("{func}({})", args.join(", "))
            }
            Expr::Transposed(n, _) => format!("{n}.T"),
        }
    }

    /// The span an error about this expression should point at.
    pub fn span(&self) -> Span {
        match self {
            Expr::Name(n) => n.span(),
            Expr::Num(_, s) | Expr::Neg(_, s) => *s,
            Expr::Binary { span, .. } => *span,
            Expr::Call { func, .. } => func.span(),
            Expr::Transposed(_, span) => *span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CellDef, Equation};

    /// Each line's expression printed back, as the emitted code's comments show it.
    fn texts(body: &str) -> Vec<String> {
        let src = format!("cell C(I, H) {{ input x: [I]; state h: [H]; {body} }}");
        let def: CellDef = syn::parse_str(&src).expect("parses");
        def.eqs
            .iter()
            .map(|eq| match eq {
                Equation::Let { expr, .. } | Equation::Assign { expr, .. } | Equation::LetSplit { expr, .. } => {
                    expr.text()
                }
            })
            .collect()
    }

    #[test]
    fn expressions_print_with_the_parentheses_they_need() {
        let got = texts(
            "let a = (x - h) - (x - h) * 2.0; let b = -(h * h) + -h; let e = 1e-5 / (1.0 + a) / b; \
             let s = sigmoid(w @ x + 0.5) * (1.0 - a); h = max(a, b) - (a - (b - e));",
        );
        assert_eq!(
            got,
            [
                "x - h - (x - h) * 2.0",
                "-(h * h) + -h",
                "1e-5 / (1.0 + a) / b",
                "sigmoid(w @ x + 0.5) * (1.0 - a)",
                "max(a, b) - (a - (b - e))",
            ]
        );
    }
}
