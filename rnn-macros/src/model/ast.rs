//! What the user wrote in `model!`, with a span on every node.
//!
//! The parser fills these types and nothing else reads tokens. Names are
//! not resolved here: an encoding, head or loss is kept as the identifier
//! the user typed, a size as a symbol or a number, so that
//! [`check`](super::check) can report every unknown name at its token.

use proc_macro2::Span;
use syn::{Attribute, Ident, Member, Path, Visibility};

/// A whole `model!` declaration.
pub struct ModelDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The size symbols in `Name(V, H = 256)`, in order.
    pub sizes: Vec<SizeDecl>,
    /// The parts in the order written (duplicates and omissions are
    /// reported by the checker).
    pub parts: Vec<Part>,
}

/// A size symbol, optionally fixed in the declaration (`H = 256`).
pub struct SizeDecl {
    pub name: Ident,
    pub fixed: Option<(usize, Span)>,
}

/// A size where a part uses one: a symbol of the header or a number.
#[derive(Clone)]
pub enum Size {
    Sym(Ident),
    Num(usize, Span),
}

/// Which part a line of the body declares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PartKind {
    Input,
    Cell,
    Head,
    Loss,
}

impl PartKind {
    pub const ALL: [PartKind; 4] = [PartKind::Input, PartKind::Cell, PartKind::Head, PartKind::Loss];

    /// The key as written: `input`, `cell`, `head`, `loss`.
    pub fn key(self) -> &'static str {
        match self {
            PartKind::Input => "input",
            PartKind::Cell => "cell",
            PartKind::Head => "head",
            PartKind::Loss => "loss",
        }
    }

    /// A line to suggest when the part is missing.
    pub fn example(self) -> &'static str {
        match self {
            PartKind::Input => "input: one_hot(V);",
            PartKind::Cell => "cell: Lstm { h: H };",
            PartKind::Head => "head: softmax(V);",
            PartKind::Loss => "loss: cross_entropy;",
        }
    }
}

/// One `key: ...;` line of the body; `key` is the span of the key.
pub struct Part {
    pub key: Span,
    pub body: PartBody,
}

impl Part {
    pub fn kind(&self) -> PartKind {
        match self.body {
            PartBody::Input(_) => PartKind::Input,
            PartBody::Cell(_) => PartKind::Cell,
            PartBody::Head(_) => PartKind::Head,
            PartBody::Loss(_) => PartKind::Loss,
        }
    }
}

/// The body of a part, by key.
pub enum PartBody {
    /// `input: one_hot(V);`
    Input(Call),
    /// `cell: Lstm { h: H } x 2 bidirectional;`
    Cell(CellPart),
    /// `head: softmax(V);`
    Head(Call),
    /// `loss: cross_entropy;`
    Loss(Ident),
}

/// `name(size, ...)`.
pub struct Call {
    pub func: Ident,
    pub args: Vec<Size>,
    /// The span of the parenthesised arguments.
    pub args_span: Span,
}

/// `Path [{ field: size, ... }] [x layers] [bidirectional]`.
pub struct CellPart {
    /// The cell type, written without the float parameter.
    pub ty: Path,
    /// Fields of the cell's `Dims` set by the declaration.
    pub fields: Vec<(Member, Size)>,
    /// `x N`: the span of `x` and the number of layers.
    pub layers: Option<(Span, Size)>,
    /// The span of `bidirectional`, if written.
    pub bidirectional: Option<Span>,
}
