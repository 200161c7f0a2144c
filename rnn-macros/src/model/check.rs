//! [`ModelDef`] -> [`Model`]: resolves every name and checks that the parts
//! connect, reporting all problems at the user's tokens.
//!
//! On the way in, any syntactically valid declaration; on the way out, a
//! model with exactly one part of each kind, a known encoding, head and
//! loss that go together, and every size resolved to a number or a field of
//! the generated sizes struct, every declared size used.
//!
//! The rules (the `rnn` crate docs and the README section on `model!` repeat
//! them):
//!
//! - the parts `input`, `cell`, `head` and `loss` each appear exactly once,
//!   the optional `pool`, `dropout` and `init` at most once;
//! - encodings: `one_hot(V)`, `embedding(V, D)`, `dense(W)`; heads:
//!   `identity(O)`, `sigmoid(O)`, `softmax(O)`; losses: `mse`,
//!   `cross_entropy`, `bce`; poolings: `last`, `mean`; initial states:
//!   `zeros`, `learned`; dropout sites: `input`, `layers`, `head`;
//! - the head decides the loss: `softmax` with `cross_entropy`, `identity`
//!   and `sigmoid` with `mse`, `sigmoid` with `bce` (the runtime's
//!   `LossKind::accepts`);
//! - a dropout probability is in [0, 1), each site is named once, and a
//!   model of one layer (fixed in the declaration) has no `layers` dropout,
//!   which would have no effect (also not through `dropout: p;`, which sets
//!   every site; a layer count bound at build time is the runtime's to
//!   judge);
//! - any encoding goes with any loss: token inputs may be regressed on
//!   (`mse`) and real-valued inputs classified (`dense` with
//!   `cross_entropy`), and the head's width need not be the vocabulary;
//! - a softmax over a fixed width of 1 is constant and cannot learn;
//! - sizes are header symbols or numbers of at least 1; a symbol used in a
//!   part must be declared, and a declared symbol must be used;
//! - at least one layer.
//!
//! What the macro cannot see is left to rustc, at the user's token: whether
//! the cell type implements `Cell`, and whether the cell's `Dims` has the
//! fields named in `Cell { h: H }`. What depends on sizes bound at build
//! time is checked by the emitted `new`: every bound size at least 1, no
//! cell size that the encoding sets (the input width), a cell whose output
//! width is not 0.

use super::ast::*;
use crate::errors::Errors;
use proc_macro2::Span;
use quote::format_ident;
use syn::{Ident, Member, Path};

/// A checked model: one of each part, every name and size resolved.
pub struct Model<'a> {
    pub def: &'a ModelDef,
    /// The sizes bound when the model is built, in header order.
    pub bound: Vec<Bound>,
    pub encoding: Encoding,
    pub cell: Cell<'a>,
    pub layers: Value,
    pub bidirectional: bool,
    pub head: Value,
    pub activation: Activation,
    pub loss: Loss,
    /// `pool:`, if declared.
    pub pooling: Option<Pooling>,
    /// `dropout:`, if declared.
    pub dropout: Option<Dropout>,
    /// `init:` (`true` for `learned`), if declared.
    pub learn_init: Option<bool>,
}

/// A size bound at build time: header symbol and its field.
pub struct Bound {
    pub name: Ident,
    pub field: Ident,
}

/// A resolved size.
#[derive(Clone)]
pub enum Value {
    /// Known in the declaration (a number, or a symbol fixed in the header);
    /// the span is the user's token.
    Fixed(usize, Span),
    /// The field of the sizes struct; the field carries the span of the
    /// user's token.
    Bound(Ident),
}

/// The input encoding.
pub enum Encoding {
    OneHot { vocab: Value },
    Embedding { vocab: Value, dim: Value },
    Dense { width: Value },
}

/// The recurrent cell and the `Dims` fields the declaration sets.
pub struct Cell<'a> {
    pub ty: &'a Path,
    pub fields: Vec<(&'a Member, Value)>,
}

/// The head's activation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activation {
    Identity,
    Sigmoid,
    Softmax,
}

/// The loss.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loss {
    Mse,
    CrossEntropy,
    BinaryCrossEntropy,
}

impl Loss {
    /// Mirrors the runtime's `LossKind::accepts` (the emitted code asserts
    /// that the two agree).
    pub fn accepts(self, activation: Activation) -> bool {
        matches!(
            (activation, self),
            (Activation::Softmax, Loss::CrossEntropy)
                | (Activation::Identity, Loss::Mse)
                | (Activation::Sigmoid, Loss::Mse)
                | (Activation::Sigmoid, Loss::BinaryCrossEntropy)
        )
    }
}

/// What a pooled head reads (a head at every step is `pool:` left out).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pooling {
    Last,
    Mean,
}

/// The declared dropout: every probability in [0, 1).
pub struct Dropout {
    /// Written as one probability for every site (`dropout: p;`).
    pub same: bool,
    pub input: Rate,
    pub layers: Rate,
    pub head: Rate,
}

/// A probability at the user's literal (a site left out: 0 at the call
/// site).
#[derive(Clone, Copy)]
pub struct Rate {
    pub value: f64,
    pub span: Span,
}

/// Field name of a size in the sizes struct (`V` -> `v`), at the user's span.
pub fn size_field(name: &Ident) -> Ident {
    format_ident!("{}", name.to_string().to_lowercase(), span = name.span())
}

/// The header as the user wrote it, for messages: `CharLm(V, H = 256)`.
fn header(def: &ModelDef, extra: Option<&Ident>) -> String {
    let mut parts: Vec<String> = def
        .sizes
        .iter()
        .map(|s| match s.fixed {
            Some((n, _)) => format!("{} = {n}", s.name),
            None => s.name.to_string(),
        })
        .collect();
    parts.extend(extra.map(|e| e.to_string()));
    format!("{}({})", def.name, parts.join(", "))
}

/// Resolves sizes against the header and records which symbols are used.
struct Scope<'a> {
    def: &'a ModelDef,
    used: Vec<bool>,
}

impl Scope<'_> {
    fn resolve(&mut self, size: &Size, errors: &mut Errors) -> Option<Value> {
        match size {
            Size::Num(0, span) => {
                errors.push(*span, "a size must be at least 1");
                None
            }
            Size::Num(n, span) => Some(Value::Fixed(*n, *span)),
            Size::Sym(sym) => match self.def.sizes.iter().position(|d| d.name == *sym) {
                Some(k) => {
                    self.used[k] = true;
                    Some(match self.def.sizes[k].fixed {
                        Some((n, _)) => Value::Fixed(n, sym.span()),
                        None => Value::Bound(size_field(sym)),
                    })
                }
                None => {
                    errors.push(
                        sym.span(),
                        format!(
                            "unknown size `{sym}`; declare it in the header, `{}`, or write a number",
                            header(self.def, Some(sym))
                        ),
                    );
                    None
                }
            },
        }
    }

    /// Resolves every argument (so each is checked and marked used), then
    /// checks the count.
    fn resolve_args(&mut self, call: &Call, want: usize, usage: &str, errors: &mut Errors) -> Option<Vec<Value>> {
        let args: Vec<Option<Value>> = call.args.iter().map(|a| self.resolve(a, errors)).collect();
        if args.len() != want {
            errors.push(
                call.args_span,
                format!(
                    "`{}` takes {want} size{}: `{usage}`",
                    call.func,
                    if want == 1 { "" } else { "s" }
                ),
            );
            return None;
        }
        args.into_iter().collect()
    }
}

/// Checks `def`; every problem is reported, each at its token.
pub fn check(def: &ModelDef) -> syn::Result<Model<'_>> {
    let mut errors = Errors::new();
    check_header(def, &mut errors);
    let mut scope = Scope {
        def,
        used: vec![false; def.sizes.len()],
    };

    let mut first: [Option<&Part>; PartKind::COUNT] = [None; PartKind::COUNT];
    for part in &def.parts {
        let slot = &mut first[part.kind() as usize];
        if slot.is_some() {
            let hint = if part.kind() == PartKind::Cell {
                " (stack layers with `x N`)"
            } else {
                ""
            };
            errors.push(
                part.key,
                format!(
                    "the `{}:` part is declared twice; a model has one{hint}, remove the other",
                    part.kind().key()
                ),
            );
        } else {
            *slot = Some(part);
        }
    }

    let (mut encoding, mut cell, mut layers, mut bidirectional) = (None, None, None, false);
    let (mut head, mut loss) = (None, None);
    let (mut pooling, mut dropout, mut learn_init) = (None, None, None);
    for part in &def.parts {
        let is_first = first[part.kind() as usize].is_some_and(|p| std::ptr::eq(p, part));
        match &part.body {
            PartBody::Input(call) => {
                let e = resolve_encoding(call, &mut scope, &mut errors);
                if is_first {
                    encoding = e;
                }
            }
            PartBody::Cell(c) => {
                let (resolved, n) = resolve_cell(c, &mut scope, &mut errors);
                if is_first {
                    (cell, layers, bidirectional) = (resolved, n, c.bidirectional.is_some());
                }
            }
            PartBody::Head(call) => {
                let h = resolve_head(call, &mut scope, &mut errors);
                if is_first {
                    head = Some(h);
                }
            }
            PartBody::Loss(name) => {
                let l = resolve_loss(name, &mut errors);
                if is_first {
                    loss = l.map(|l| (l, name.span()));
                }
            }
            PartBody::Pool(name) => {
                let p = resolve_pooling(name, &mut errors);
                if is_first {
                    pooling = Some(p);
                }
            }
            PartBody::Dropout(d) => {
                let r = resolve_dropout(d, &mut errors);
                if is_first {
                    dropout = Some((r, d));
                }
            }
            PartBody::Init(name) => {
                let l = resolve_init(name, &mut errors);
                if is_first {
                    learn_init = Some(l);
                }
            }
        }
    }

    for kind in PartKind::REQUIRED {
        if first[kind as usize].is_none() {
            errors.push(
                def.name.span(),
                format!(
                    "model `{}` has no `{}:` part; add one, e.g. `{}`",
                    def.name,
                    kind.key(),
                    kind.example()
                ),
            );
        }
    }

    if let (Some((Some(activation), width)), Some((loss, span))) = (&head, loss) {
        check_head_loss(*activation, width.as_ref(), loss, span, &mut errors);
    }

    if let (Some(Value::Fixed(1, _)), Some((_, part))) = (&layers, &dropout) {
        check_layer_dropout(part, &mut errors);
    }

    for (k, (decl, used)) in def.sizes.iter().zip(&scope.used).enumerate() {
        let duplicate = def.sizes[..k].iter().any(|d| d.name == decl.name);
        if !used && !duplicate {
            errors.push(
                decl.name.span(),
                format!(
                    "size `{}` is never used; remove it from `{}` or use it in a part",
                    decl.name,
                    header(def, None)
                ),
            );
        }
    }

    errors.finish()?;
    let (Some(encoding), Some(cell), Some(layers), Some((Some(activation), Some(head))), Some((loss, _))) =
        (encoding, cell, layers, head, loss)
    else {
        unreachable!("every part is resolved when no error was reported")
    };
    let bound = def
        .sizes
        .iter()
        .filter(|d| d.fixed.is_none())
        .map(|d| Bound {
            name: d.name.clone(),
            field: size_field(&d.name),
        })
        .collect();
    let pooling = pooling.map(|p| p.expect("a pooling is resolved when no error was reported"));
    let dropout = dropout.map(|(d, _)| d.expect("dropout is resolved when no error was reported"));
    let learn_init = learn_init.map(|l| l.expect("an initial state is resolved when no error was reported"));
    Ok(Model {
        def,
        bound,
        encoding,
        cell,
        layers,
        bidirectional,
        head,
        activation,
        loss,
        pooling,
        dropout,
        learn_init,
    })
}

/// Duplicate symbols, clashing field names, sizes fixed to 0.
fn check_header(def: &ModelDef, errors: &mut Errors) {
    for (k, decl) in def.sizes.iter().enumerate() {
        let earlier = &def.sizes[..k];
        if earlier.iter().any(|d| d.name == decl.name) {
            errors.push(
                decl.name.span(),
                format!("size `{}` is declared twice; remove one", decl.name),
            );
        } else if let Some(other) = earlier.iter().find(|d| size_field(&d.name) == size_field(&decl.name)) {
            errors.push(
                decl.name.span(),
                format!(
                    "sizes `{}` and `{}` would both be the field `{}` of `{}Sizes`; rename one",
                    other.name,
                    decl.name,
                    size_field(&decl.name),
                    def.name
                ),
            );
        }
        if let Some((0, span)) = decl.fixed {
            errors.push(span, "a size must be at least 1");
        }
    }
}

fn resolve_encoding(call: &Call, scope: &mut Scope<'_>, errors: &mut Errors) -> Option<Encoding> {
    match call.func.to_string().as_str() {
        "one_hot" => {
            let [vocab] = <[Value; 1]>::try_from(scope.resolve_args(call, 1, "one_hot(V)", errors)?).ok()?;
            Some(Encoding::OneHot { vocab })
        }
        "embedding" => {
            let [vocab, dim] = <[Value; 2]>::try_from(scope.resolve_args(call, 2, "embedding(V, D)", errors)?).ok()?;
            Some(Encoding::Embedding { vocab, dim })
        }
        "dense" => {
            let [width] = <[Value; 1]>::try_from(scope.resolve_args(call, 1, "dense(W)", errors)?).ok()?;
            Some(Encoding::Dense { width })
        }
        other => {
            for a in &call.args {
                scope.resolve(a, errors);
            }
            errors.push(
                call.func.span(),
                format!(
                    "unknown input encoding `{other}`; expected one of `one_hot(V)`, `embedding(V, D)`, `dense(W)`"
                ),
            );
            None
        }
    }
}

/// The activation and the width, each `None` where an error was reported.
fn resolve_head(call: &Call, scope: &mut Scope<'_>, errors: &mut Errors) -> (Option<Activation>, Option<Value>) {
    let activation = match call.func.to_string().as_str() {
        "identity" => Some(Activation::Identity),
        "sigmoid" => Some(Activation::Sigmoid),
        "softmax" => Some(Activation::Softmax),
        other => {
            errors.push(
                call.func.span(),
                format!("unknown head `{other}`; expected one of `identity(O)`, `sigmoid(O)`, `softmax(O)`"),
            );
            None
        }
    };
    let usage = format!("{}(O)", call.func);
    let width = scope
        .resolve_args(call, 1, &usage, errors)
        .and_then(|args| <[Value; 1]>::try_from(args).ok())
        .map(|[width]| width);
    (activation, width)
}

fn resolve_loss(name: &Ident, errors: &mut Errors) -> Option<Loss> {
    match name.to_string().as_str() {
        "mse" => Some(Loss::Mse),
        "cross_entropy" => Some(Loss::CrossEntropy),
        "bce" => Some(Loss::BinaryCrossEntropy),
        other => {
            errors.push(
                name.span(),
                format!("unknown loss `{other}`; expected one of `mse`, `cross_entropy`, `bce`"),
            );
            None
        }
    }
}

fn resolve_pooling(name: &Ident, errors: &mut Errors) -> Option<Pooling> {
    match name.to_string().as_str() {
        "last" => Some(Pooling::Last),
        "mean" => Some(Pooling::Mean),
        other => {
            errors.push(
                name.span(),
                format!(
                    "unknown pooling `{other}`; expected `last` or `mean` (leave `pool:` out for a head at every step)"
                ),
            );
            None
        }
    }
}

/// `true` for learned initial states.
fn resolve_init(name: &Ident, errors: &mut Errors) -> Option<bool> {
    match name.to_string().as_str() {
        "zeros" => Some(false),
        "learned" => Some(true),
        other => {
            errors.push(
                name.span(),
                format!("unknown initial state `{other}`; expected `zeros` or `learned`"),
            );
            None
        }
    }
}

/// A probability in [0, 1).
fn resolve_rate(p: &Prob, errors: &mut Errors) -> Option<Rate> {
    if (0.0..1.0).contains(&p.value) {
        // `-0.0` is in range; emit it as `0.0`.
        Some(Rate {
            value: if p.value == 0.0 { 0.0 } else { p.value },
            span: p.span,
        })
    } else {
        errors.push(
            p.span,
            format!(
                "dropout probability `{}` is not in [0, 1); write one such as `0.2`",
                p.text
            ),
        );
        None
    }
}

/// Every probability in range, every site known and named once.
fn resolve_dropout(part: &DropoutPart, errors: &mut Errors) -> Option<Dropout> {
    match part {
        DropoutPart::All(p) => {
            let r = resolve_rate(p, errors)?;
            Some(Dropout {
                same: true,
                input: r,
                layers: r,
                head: r,
            })
        }
        DropoutPart::Sites(sites) => {
            let unset = Rate {
                value: 0.0,
                span: Span::call_site(),
            };
            let mut slots: [Option<Rate>; 3] = [None; 3];
            let mut ok = true;
            for (k, (site, p)) in sites.iter().enumerate() {
                let r = resolve_rate(p, errors);
                ok &= r.is_some();
                let slot = match site.to_string().as_str() {
                    "input" => 0,
                    "layers" => 1,
                    "head" => 2,
                    other => {
                        errors.push(
                            site.span(),
                            format!("unknown dropout site `{other}`; expected one of `input`, `layers`, `head`"),
                        );
                        ok = false;
                        continue;
                    }
                };
                if sites[..k].iter().any(|(s, _)| s == site) {
                    errors.push(site.span(), format!("the `{site}` dropout is given twice; keep one"));
                    ok = false;
                } else {
                    slots[slot] = r;
                }
            }
            let [input, layers, head] = slots.map(|s| s.unwrap_or(unset));
            ok.then_some(Dropout {
                same: false,
                input,
                layers,
                head,
            })
        }
    }
}

/// On a model of one layer (fixed in the declaration), dropout between
/// layers would do nothing: refuse it where it was written.
fn check_layer_dropout(part: &DropoutPart, errors: &mut Errors) {
    let acts = |p: &Prob| p.value > 0.0 && p.value < 1.0;
    match part {
        DropoutPart::All(p) if acts(p) => errors.push(
            p.span,
            format!(
                "`dropout: {p};` also drops between stacked layers, which has no effect on a model of one layer; \
                 name the other sites, `dropout: input {p}, head {p};`, or stack layers with `x N`",
                p = p.text
            ),
        ),
        DropoutPart::All(_) => {}
        DropoutPart::Sites(sites) => {
            if let Some((site, _)) = sites.iter().find(|(s, p)| s == "layers" && acts(p)) {
                errors.push(
                    site.span(),
                    "`layers` dropout acts between stacked layers and has no effect on a model of one layer; \
                     remove it, or stack layers with `x N`",
                );
            }
        }
    }
}

fn resolve_cell<'a>(c: &'a CellPart, scope: &mut Scope<'_>, errors: &mut Errors) -> (Option<Cell<'a>>, Option<Value>) {
    let mut ok = true;
    if let Some(last) = c.ty.segments.last()
        && !last.arguments.is_none()
    {
        errors.push(
            syn::spanned::Spanned::span(&last.arguments),
            format!(
                "write the cell type without generic arguments, `{}`; the model passes its float type",
                last.ident
            ),
        );
        ok = false;
    }
    let mut fields = Vec::new();
    for (k, (member, size)) in c.fields.iter().enumerate() {
        if c.fields[..k].iter().any(|(m, _)| m == member) {
            let shown = match member {
                Member::Named(n) => n.to_string(),
                Member::Unnamed(i) => i.index.to_string(),
            };
            errors.push(
                syn::spanned::Spanned::span(member),
                format!("the cell's size `{shown}` is given twice; keep one"),
            );
            ok = false;
        }
        match scope.resolve(size, errors) {
            Some(v) => fields.push((member, v)),
            None => ok = false,
        }
    }
    let layers = match &c.layers {
        None => Some(Value::Fixed(1, proc_macro2::Span::call_site())),
        Some((x, Size::Num(0, span))) => {
            let span = x.join(*span).unwrap_or(*span);
            errors.push(span, "a model needs at least one layer; write `x 1` or leave `x N` out");
            None
        }
        Some((_, size)) => scope.resolve(size, errors),
    };
    let cell = ok.then_some(Cell { ty: &c.ty, fields });
    (cell, layers)
}

fn check_head_loss(activation: Activation, width: Option<&Value>, loss: Loss, span: Span, errors: &mut Errors) {
    if !loss.accepts(activation) {
        let msg = match loss {
            Loss::Mse => {
                "a `softmax` head is trained with `cross_entropy`; write `loss: cross_entropy;`, \
                          or use an `identity` or `sigmoid` head with `mse`"
            }
            Loss::CrossEntropy => {
                "`cross_entropy` trains a `softmax` head; write `head: softmax(O);`, \
                 or use `loss: mse;` with an `identity` or `sigmoid` head, or `loss: bce;` with a `sigmoid` head"
            }
            Loss::BinaryCrossEntropy => match activation {
                Activation::Softmax => {
                    "`bce` trains a `sigmoid` head; write `head: sigmoid(O);`, \
                     or use `loss: cross_entropy;` with a `softmax` head"
                }
                Activation::Identity | Activation::Sigmoid => {
                    "`bce` trains a `sigmoid` head; write `head: sigmoid(O);`, \
                     or use `loss: mse;` with an `identity` head"
                }
            },
        };
        errors.push(span, msg);
        return;
    }
    if let (Activation::Softmax, Some(Value::Fixed(1, span))) = (activation, width) {
        errors.push(
            *span,
            "a softmax over 1 class is always 1 and cannot learn; give one output per class (at least 2), \
             or use `head: sigmoid(1);` with `loss: bce;` for a yes/no output",
        );
    }
}
