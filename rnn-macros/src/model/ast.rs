//! What the user wrote in `model!`, with a span on every node.
//!
//! The parser fills these types and nothing else reads tokens. Names are
//! not resolved here: an encoding, head, loss, pooling, dropout site or
//! initial state is kept as the identifier the user typed, a size as a
//! symbol or a number, a probability as the number written (range
//! unchecked), so that [`check`](super::check) can report every mistake at
//! its token.

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
    Pool,
    Dropout,
    Init,
}

impl PartKind {
    /// How many kinds there are (the discriminants are `0..COUNT`).
    pub const COUNT: usize = 7;

    /// The parts every model declares.
    pub const REQUIRED: [PartKind; 4] = [PartKind::Input, PartKind::Cell, PartKind::Head, PartKind::Loss];

    /// The key as written: `input`, `cell`, `head`, `loss`, `pool`,
    /// `dropout`, `init`.
    pub fn key(self) -> &'static str {
        match self {
            PartKind::Input => "input",
            PartKind::Cell => "cell",
            PartKind::Head => "head",
            PartKind::Loss => "loss",
            PartKind::Pool => "pool",
            PartKind::Dropout => "dropout",
            PartKind::Init => "init",
        }
    }

    /// A line to suggest when the part is missing.
    pub fn example(self) -> &'static str {
        match self {
            PartKind::Input => "input: one_hot(V);",
            PartKind::Cell => "cell: Lstm { h: H };",
            PartKind::Head => "head: softmax(V);",
            PartKind::Loss => "loss: cross_entropy;",
            PartKind::Pool => "pool: last;",
            PartKind::Dropout => "dropout: 0.2;",
            PartKind::Init => "init: learned;",
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
            PartBody::Pool(_) => PartKind::Pool,
            PartBody::Dropout(_) => PartKind::Dropout,
            PartBody::Init(_) => PartKind::Init,
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
    /// `pool: last;`
    Pool(Ident),
    /// `dropout: 0.2;` or `dropout: layers 0.3, head 0.1;`
    Dropout(DropoutPart),
    /// `init: learned;`
    Init(Ident),
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

/// The body of `dropout:`.
pub enum DropoutPart {
    /// `dropout: p;`: the same probability at every site.
    All(Prob),
    /// `dropout: site p, ...;`: by site name, in the order written (names
    /// unchecked, repeats kept).
    Sites(Vec<(Ident, Prob)>),
}

/// A probability as written: its value, its text (`0.25`, `-0.1`) and the
/// span of the literal (with its sign).
pub struct Prob {
    pub value: f64,
    pub text: String,
    pub span: Span,
}
