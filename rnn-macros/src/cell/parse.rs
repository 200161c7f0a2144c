//! Tokens -> [`CellDef`]: the grammar of the cell language.
//!
//! ```text
//! #[attrs] vis cell Name(I, H = 16) {
//!     input x: [I];  state h: [H];  param w: [4 * H, I];  output y: [O];
//!     let a = w @ x + b;
//!     let [i, f] = split(a);
//!     h = sigmoid(i) * tanh(f);
//! }
//! ```
//! Expressions: `+ -` bind looser than `* / @` (both left-associative), unary
//! `-`, parentheses, numbers, names and calls `f(args)`. Every node keeps the
//! span of its token. Attributes go on the cell's struct, except the hidden
//! `#[reference_schedule]`, which the parser takes out (see the crate docs).

use crate::cell::ast::*;
use crate::cell::language;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitFloat, LitInt, Token, Visibility, braced, bracketed, parenthesized};

mod kw {
    syn::custom_keyword!(cell);
    syn::custom_keyword!(input);
    syn::custom_keyword!(state);
    syn::custom_keyword!(param);
    syn::custom_keyword!(output);
    syn::custom_keyword!(split);
}

impl Parse for CellDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let reference_schedule = take_reference_schedule(&mut attrs)?;
        let vis: Visibility = input.parse()?;
        input.parse::<kw::cell>()?;
        let name: Ident = input.parse()?;
        let dims = parse_dims(input)?;
        let body;
        braced!(body in input);
        let mut decls = Vec::new();
        let mut eqs = Vec::new();
        while !body.is_empty() {
            let la = body.lookahead1();
            if la.peek(kw::input) || la.peek(kw::state) || la.peek(kw::param) || la.peek(kw::output) {
                decls.push(parse_decl(&body)?);
            } else if la.peek(Token![let]) {
                eqs.push(parse_let(&body)?);
            } else if la.peek(Ident) && body.peek2(Ident) {
                // `parm w: [..];`: a misspelt keyword, not an assignment.
                let word: Ident = body.parse()?;
                return Err(syn::Error::new(
                    word.span(),
                    language::unknown_keyword(&word.to_string()),
                ));
            } else if la.peek(Ident) {
                let target: Ident = body.parse()?;
                body.parse::<Token![=]>()?;
                let expr = parse_expr(&body, 0)?;
                body.parse::<Token![;]>()?;
                eqs.push(Equation::Assign { target, expr });
            } else {
                return Err(la.error());
            }
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the cell body; declare one cell per `cell!`"));
        }
        Ok(CellDef {
            attrs,
            reference_schedule,
            vis,
            name,
            dims,
            decls,
            eqs,
        })
    }
}

/// Removes `#[reference_schedule]` from `attrs`; whether it was there.
fn take_reference_schedule(attrs: &mut Vec<Attribute>) -> syn::Result<bool> {
    let mut found = false;
    let mut error = Ok(());
    attrs.retain(|a| {
        if !a.path().is_ident("reference_schedule") {
            return true;
        }
        found = true;
        if let Err(e) = a.meta.require_path_only() {
            error = Err(e);
        }
        false
    });
    error.map(|()| found)
}

fn parse_dims(input: ParseStream) -> syn::Result<Vec<DimDecl>> {
    let content;
    parenthesized!(content in input);
    let mut dims = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.parse()?;
        let fixed = if content.peek(Token![=]) {
            content.parse::<Token![=]>()?;
            let lit: LitInt = content.parse()?;
            Some((lit.base10_parse::<usize>()?, lit.span()))
        } else {
            None
        };
        dims.push(DimDecl { name, fixed });
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(dims)
}

fn parse_decl(input: ParseStream) -> syn::Result<Decl> {
    let kind = if input.peek(kw::input) {
        input.parse::<kw::input>()?;
        DeclKind::Input
    } else if input.peek(kw::state) {
        input.parse::<kw::state>()?;
        DeclKind::State
    } else if input.peek(kw::param) {
        input.parse::<kw::param>()?;
        DeclKind::Param
    } else {
        input.parse::<kw::output>()?;
        DeclKind::Output
    };
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let content;
    let bracket = bracketed!(content in input);
    let mut shape = Vec::new();
    let mut sums = Vec::new();
    while !content.is_empty() {
        shape.push(parse_dim_term(&content)?);
        // `I + H`: the columns of a matrix that `w @ concat(x, h)` reads.
        while content.peek(Token![+]) {
            content.parse::<Token![+]>()?;
            sums.push(parse_dim_term(&content)?);
        }
        if let Some((p, _)) = content.cursor().punct()
            && matches!(p.as_char(), '-' | '/')
        {
            return Err(syn::Error::new(p.span(), language::shape_arithmetic(&p.to_string())));
        }
        if content.is_empty() {
            break;
        }
        let comma: Token![,] = content.parse()?;
        if !sums.is_empty() {
            return Err(syn::Error::new(comma.span, language::shape_sum()));
        }
    }
    input.parse::<Token![;]>()?;
    Ok(Decl {
        kind,
        name,
        shape,
        sums,
        shape_span: bracket.span.join(),
    })
}

fn parse_dim_term(input: ParseStream) -> syn::Result<DimTerm> {
    let la = input.lookahead1();
    if la.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let n = lit.base10_parse::<usize>()?;
        if input.peek(Token![*]) {
            input.parse::<Token![*]>()?;
            let sym: Ident = input.parse()?;
            let span = lit.span().join(sym.span()).unwrap_or(lit.span());
            return Ok(DimTerm {
                coef: n,
                sym: Some(sym),
                span,
            });
        }
        Ok(DimTerm {
            coef: n,
            sym: None,
            span: lit.span(),
        })
    } else if la.peek(Ident) {
        let sym: Ident = input.parse()?;
        if input.peek(Token![*]) {
            input.parse::<Token![*]>()?;
            let lit: LitInt = input.parse()?;
            let span = sym.span().join(lit.span()).unwrap_or(sym.span());
            return Ok(DimTerm {
                coef: lit.base10_parse()?,
                sym: Some(sym),
                span,
            });
        }
        let span = sym.span();
        Ok(DimTerm {
            coef: 1,
            sym: Some(sym),
            span,
        })
    } else {
        Err(la.error())
    }
}

fn parse_let(input: ParseStream) -> syn::Result<Equation> {
    input.parse::<Token![let]>()?;
    if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        let names = content
            .parse_terminated(Ident::parse, Token![,])?
            .into_iter()
            .collect::<Vec<_>>();
        input.parse::<Token![=]>()?;
        let split: kw::split = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "a `let [..]` pattern takes `split(expr)` on the right"))?;
        let args;
        parenthesized!(args in input);
        let expr = parse_expr(&args, 0)?;
        if !args.is_empty() {
            return Err(args.error("`split` takes one argument; the number of parts is the pattern's length"));
        }
        input.parse::<Token![;]>()?;
        return Ok(Equation::LetSplit {
            names,
            expr,
            split_span: split.span,
        });
    }
    let name: Ident = input.parse()?;
    input.parse::<Token![=]>()?;
    let expr = parse_expr(input, 0)?;
    input.parse::<Token![;]>()?;
    Ok(Equation::Let { name, expr })
}

/// Precedence climbing; `min` is the loosest binding level still accepted.
fn parse_expr(input: ParseStream, min: u8) -> syn::Result<Expr> {
    let mut lhs = parse_unary(input)?;
    loop {
        let (op, prec) = if input.peek(Token![+]) {
            (BinOp::Add, 1)
        } else if input.peek(Token![-]) {
            (BinOp::Sub, 1)
        } else if input.peek(Token![*]) {
            (BinOp::Mul, 2)
        } else if input.peek(Token![/]) {
            (BinOp::Div, 2)
        } else if input.peek(Token![@]) {
            (BinOp::MatVec, 2)
        } else {
            break;
        };
        if prec < min {
            break;
        }
        let span = input.cursor().span();
        if op == BinOp::Mul && input.peek2(Token![*]) {
            return Err(syn::Error::new(span, language::power()));
        }
        let _: proc_macro2::Punct = input.parse()?;
        let rhs = parse_expr(input, prec + 1)?;
        lhs = Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            span,
        };
    }
    if min == 0 {
        past_the_edge(input)?;
    }
    Ok(lhs)
}

/// After a whole expression: a token the language does not have (`%`,
/// `.T`, `h[0]`) is named as such; anything else is left to the caller,
/// which expects `;`, `,` or the end of a group.
fn past_the_edge(input: ParseStream) -> syn::Result<()> {
    let cursor = input.cursor();
    if let Some((p, rest)) = cursor.punct() {
        let mut op = p.as_char().to_string();
        if p.spacing() == proc_macro2::Spacing::Joint
            && let Some((q, _)) = rest.punct()
        {
            op.push(q.as_char());
        }
        let msg = language::unsupported_punct(&op).or_else(|| language::unsupported_punct(&op[..1]));
        if let Some(msg) = msg {
            return Err(syn::Error::new(p.span(), msg));
        }
    } else if let Some((_, span, _)) = cursor.group(proc_macro2::Delimiter::Bracket) {
        return Err(syn::Error::new(span.open(), language::indexing()));
    }
    Ok(())
}

fn parse_unary(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(Token![-]) {
        let minus: Token![-] = input.parse()?;
        let inner = parse_unary(input)?;
        return Ok(Expr::Neg(Box::new(inner), minus.span));
    }
    parse_atom(input)
}

fn parse_atom(input: ParseStream) -> syn::Result<Expr> {
    let la = input.lookahead1();
    if la.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let e = parse_expr(&content, 0)?;
        if !content.is_empty() {
            return Err(content.error("expected `)`"));
        }
        Ok(e)
    } else if la.peek(LitFloat) {
        let lit: LitFloat = input.parse()?;
        Ok(Expr::Num(lit.base10_parse()?, lit.span()))
    } else if la.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        Ok(Expr::Num(lit.base10_parse::<f64>()?, lit.span()))
    } else if la.peek(Ident) {
        let name: Ident = input.parse()?;
        if input.peek(Token![.]) && input.peek2(Ident) {
            // `w.T`: a matrix transposed; any other field is past the edge.
            let fork = input.fork();
            let dot: Token![.] = fork.parse()?;
            let field: Ident = fork.parse()?;
            if field == "T" {
                input.parse::<Token![.]>()?;
                input.parse::<Ident>()?;
                let span = dot.span.join(field.span()).unwrap_or(dot.span);
                return Ok(Expr::Transposed(name, span));
            }
        }
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let mut args = Vec::new();
            while !content.is_empty() {
                args.push(parse_expr(&content, 0)?);
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
            return Ok(Expr::Call { func: name, args });
        }
        Ok(Expr::Name(name))
    } else {
        Err(la.error())
    }
}
