//! Tokens -> [`ModelDef`]: the grammar of `model!`.
//!
//! ```text
//! #[doc] vis model Name(V, H = 256) {
//!     input: one_hot(V);                        // a call: name(size, ...)
//!     cell: path::Cell { h: H } x 2 bidirectional;
//!     head: softmax(V);                         // a call
//!     loss: cross_entropy;                      // a name
//!     pool: last;                               // optional, a name
//!     dropout: 0.2;                             // optional, a probability,
//!     dropout: layers 0.3, head 0.1;            //   or `site probability, ...`
//!     init: learned;                            // optional, a name
//! }
//! ```
//! A size is a header symbol or a number; a probability is a number
//! literal, optionally negative (so that its range is the checker's to
//! judge, at the literal). The parser knows the part keys (the body of a
//! part depends on its key) but no encoding, head, loss, pooling, dropout
//! site or initial-state names: those are resolved by the checker, which
//! reports all of them at once. Parts may come in any order; duplicates and
//! omissions are the checker's too.

use super::ast::*;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Lit, LitInt, Member, Path, Token, Visibility, braced, parenthesized};

mod kw {
    syn::custom_keyword!(model);
    syn::custom_keyword!(input);
    syn::custom_keyword!(cell);
    syn::custom_keyword!(head);
    syn::custom_keyword!(loss);
    syn::custom_keyword!(pool);
    syn::custom_keyword!(dropout);
    syn::custom_keyword!(init);
    syn::custom_keyword!(x);
    syn::custom_keyword!(bidirectional);
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input
            .parse::<kw::model>()
            .map_err(|e| syn::Error::new(e.span(), "expected `model Name(sizes) { ... }`"))?;
        let name: Ident = input.parse()?;
        let sizes = if input.peek(syn::token::Paren) {
            parse_size_decls(input)?
        } else {
            Vec::new()
        };
        let body;
        braced!(body in input);
        let mut parts = Vec::new();
        while !body.is_empty() {
            parts.push(parse_part(&body)?);
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the model body; declare one model per `model!`"));
        }
        Ok(ModelDef {
            attrs,
            vis,
            name,
            sizes,
            parts,
        })
    }
}

fn parse_size_decls(input: ParseStream) -> syn::Result<Vec<SizeDecl>> {
    let content;
    parenthesized!(content in input);
    let mut sizes = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        let fixed = if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            let lit: LitInt = content.parse()?;
            Some((lit.base10_parse::<usize>()?, lit.span()))
        } else {
            None
        };
        sizes.push(SizeDecl { name, fixed });
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(sizes)
}

fn parse_part(input: ParseStream) -> syn::Result<Part> {
    let la = input.lookahead1();
    let (kind, key) = if la.peek(kw::input) {
        (PartKind::Input, input.parse::<kw::input>()?.span)
    } else if la.peek(kw::cell) {
        (PartKind::Cell, input.parse::<kw::cell>()?.span)
    } else if la.peek(kw::head) {
        (PartKind::Head, input.parse::<kw::head>()?.span)
    } else if la.peek(kw::loss) {
        (PartKind::Loss, input.parse::<kw::loss>()?.span)
    } else if la.peek(kw::pool) {
        (PartKind::Pool, input.parse::<kw::pool>()?.span)
    } else if la.peek(kw::dropout) {
        (PartKind::Dropout, input.parse::<kw::dropout>()?.span)
    } else if la.peek(kw::init) {
        (PartKind::Init, input.parse::<kw::init>()?.span)
    } else if input.peek(Ident) {
        let other: Ident = input.parse()?;
        return Err(syn::Error::new(
            other.span(),
            format!(
                "unknown part `{other}`; a model has the parts `input`, `cell`, `head` and `loss`, \
                 and optionally `pool`, `dropout` and `init`"
            ),
        ));
    } else {
        return Err(la.error());
    };
    input.parse::<Token![:]>()?;
    let body = match kind {
        PartKind::Input => PartBody::Input(parse_call(input)?),
        PartKind::Cell => PartBody::Cell(parse_cell(input)?),
        PartKind::Head => PartBody::Head(parse_call(input)?),
        PartKind::Loss => PartBody::Loss(input.parse()?),
        PartKind::Pool => PartBody::Pool(input.parse()?),
        PartKind::Dropout => PartBody::Dropout(parse_dropout(input)?),
        PartKind::Init => PartBody::Init(input.parse()?),
    };
    input.parse::<Token![;]>()?;
    Ok(Part { key, body })
}

/// `name(size, ...)`
fn parse_call(input: ParseStream) -> syn::Result<Call> {
    let func: Ident = input.parse()?;
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            func.span(),
            format!("`{func}` takes its sizes in parentheses, e.g. `{func}(V)`"),
        ));
    }
    let content;
    let paren = parenthesized!(content in input);
    let args = content.parse_terminated(parse_size, Token![,])?.into_iter().collect();
    Ok(Call {
        func,
        args,
        args_span: paren.span.join(),
    })
}

/// `Path [{ field: size, ... }] [x size] [bidirectional]`
fn parse_cell(input: ParseStream) -> syn::Result<CellPart> {
    let ty: Path = input.parse()?;
    if input.peek(syn::token::Paren) {
        let content;
        let paren = parenthesized!(content in input);
        let _: proc_macro2::TokenStream = content.parse()?;
        return Err(syn::Error::new(
            paren.span.join(),
            "name the cell's sizes by their fields in its `Dims` struct, e.g. `Lstm { h: H }`",
        ));
    }
    let mut fields = Vec::new();
    if input.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        while !content.is_empty() {
            let field: Member = content.parse()?;
            content.parse::<Token![:]>()?;
            fields.push((field, parse_size(&content)?));
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
    }
    let layers = if input.peek(kw::x) {
        let x: kw::x = input.parse()?;
        Some((x.span, parse_size(input)?))
    } else {
        None
    };
    let bidirectional = if input.peek(kw::bidirectional) {
        Some(input.parse::<kw::bidirectional>()?.span)
    } else {
        None
    };
    if !input.peek(Token![;]) {
        let la = input.lookahead1();
        if layers.is_none() {
            la.peek(kw::x);
        }
        if bidirectional.is_none() {
            la.peek(kw::bidirectional);
        }
        la.peek(Token![;]);
        return Err(la.error());
    }
    Ok(CellPart {
        ty,
        fields,
        layers,
        bidirectional,
    })
}

/// `p` or `site p, ...` (a trailing comma allowed).
fn parse_dropout(input: ParseStream) -> syn::Result<DropoutPart> {
    if starts_prob(input) {
        return Ok(DropoutPart::All(parse_prob(input)?));
    }
    if !input.peek(Ident) {
        return Err(input.error(
            "expected a dropout probability, e.g. `dropout: 0.2;`, or probabilities by site, \
             e.g. `dropout: layers 0.3, head 0.1;`",
        ));
    }
    let mut sites = Vec::new();
    while !input.peek(Token![;]) && !input.is_empty() {
        let site: Ident = input.parse()?;
        if !starts_prob(input) {
            return Err(input.error(format!(
                "expected the probability of `{site}` dropout, e.g. `{site} 0.2`"
            )));
        }
        sites.push((site, parse_prob(input)?));
        if input.peek(Token![;]) || input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(DropoutPart::Sites(sites))
}

fn starts_prob(input: ParseStream) -> bool {
    input.peek(Token![-]) || input.peek(syn::LitFloat) || input.peek(LitInt)
}

/// `[-] number`: the value, the text and the span of both tokens.
fn parse_prob(input: ParseStream) -> syn::Result<Prob> {
    let minus: Option<Token![-]> = input.parse()?;
    let lit: Lit = input.parse()?;
    let (digits, suffix) = match &lit {
        Lit::Float(f) => (f.base10_digits().to_owned(), f.suffix().to_owned()),
        Lit::Int(i) => (i.base10_digits().to_owned(), i.suffix().to_owned()),
        other => return Err(syn::Error::new(other.span(), "expected a probability, e.g. `0.2`")),
    };
    if !suffix.is_empty() {
        return Err(syn::Error::new(
            lit.span(),
            format!("write the probability without the `{suffix}` suffix, e.g. `0.2`"),
        ));
    }
    let magnitude: f64 = digits
        .parse()
        .map_err(|_| syn::Error::new(lit.span(), "expected a probability, e.g. `0.2`"))?;
    let span = match &minus {
        Some(m) => m.span.join(lit.span()).unwrap_or(lit.span()),
        None => lit.span(),
    };
    let text = match &lit {
        Lit::Float(f) => f.to_string(),
        Lit::Int(i) => i.to_string(),
        _ => unreachable!("other literals were refused above"),
    };
    Ok(Prob {
        value: if minus.is_some() { -magnitude } else { magnitude },
        text: if minus.is_some() { format!("-{text}") } else { text },
        span,
    })
}

/// A header symbol or a number.
fn parse_size(input: ParseStream) -> syn::Result<Size> {
    if input.peek(Ident) {
        Ok(Size::Sym(input.parse()?))
    } else if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        Ok(Size::Num(lit.base10_parse()?, lit.span()))
    } else {
        Err(input.error("expected a size: a symbol declared in the model's header (`H`) or a number"))
    }
}
