//! Tokens for the scheduler's vocabulary: dimensions, buffers, offsets.
//!
//! Names the emitted code uses for run-time values: `__dK` the size of
//! dimension K, `__t` the step, `__b` the batch, `__t_len` the number of
//! steps, `__ch` the steps per chunk; buffers as [`buf_name`] says.

use crate::cell::ir::{Decls, Dim};
use crate::cell::schedule::{Buf, Loc, Section};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// Tokens for a dimension, given how each symbol is read at run time.
pub fn dim(d: Dim) -> TokenStream {
    let c = d.coef;
    match d.sym {
        None => quote!(#c),
        Some(s) => {
            let v = format_ident!("__d{}", s);
            if c == 1 { quote!(#v) } else { quote!((#c * #v)) }
        }
    }
}

pub fn dims(ds: &[Dim]) -> TokenStream {
    if ds.is_empty() {
        return quote!(0usize);
    }
    let parts = ds.iter().map(|d| dim(*d));
    quote!((#(#parts)+*))
}

pub fn buf_name(b: Buf) -> Ident {
    match b {
        Buf::Xs(k) => format_ident!("__xs{}", k),
        Buf::Hist(k) => format_ident!("__hist{}", k),
        Buf::Out(k) => format_ident!("__out{}", k),
        Buf::Own(k) => format_ident!("__buf{}", k),
        Buf::Saved(k) => format_ident!("__saved{}", k),
        Buf::DOut(k) => format_ident!("__dout{}", k),
        Buf::Seed(k) => format_ident!("__seed{}", k),
        Buf::SeedNext(k) => format_ident!("__seednext{}", k),
        Buf::DXs(k) => format_ident!("__dxs{}", k),
        Buf::Param(k) => format_ident!("__p{}", k),
    }
}

/// First row of `loc` for the current step (body) or for all steps (pre/post).
fn row0(loc: &Loc, sec: Section) -> TokenStream {
    let block = if loc.chunked && sec == Section::Body {
        quote!((__t % __ch * __b))
    } else if loc.all_steps && sec == Section::Body {
        quote!(__t * __b)
    } else {
        quote!(0usize)
    };
    if loc.next_block { quote!((#block + __b)) } else { block }
}

pub fn offset(loc: &Loc, sec: Section) -> TokenStream {
    let r = row0(loc, sec);
    let ld = dims(&loc.ld);
    let col = dims(&loc.col);
    quote!((#r * #ld + #col))
}

pub fn rows(sec: Section) -> TokenStream {
    if sec == Section::Body {
        quote!(__b)
    } else {
        quote!((__t_len * __b))
    }
}

/// Field name of a dimension in the `Dims` struct (`H` -> `h`).
pub fn dim_field(name: &Ident) -> Ident {
    format_ident!("{}", name.to_string().to_lowercase(), span = name.span())
}

pub fn dims_ident(decls: &Decls) -> Ident {
    format_ident!("{}Dims", decls.name)
}
