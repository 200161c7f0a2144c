//! Tokens for the scheduler's vocabulary: dimensions, buffers, offsets.
//!
//! Names the emitted code uses for run-time values: `__dK` the size of
//! dimension K, `__t` the step, `__b` the batch, `__t_len` the number of
//! steps, `__ch` the steps per chunk; buffers as [`buf_name`] says.
//!
//! Rows are packed (`rnn_runtime::cell::packed`): `__steps` is the batch's
//! `BatchSizes`, `__nrows` its number of rows over all steps; inside the
//! loop `__bt` is the number of rows of step `__t`, `__off` the first of
//! them, `__hoff` the row of a state history where the state before the
//! step starts, `__choff` the first row of the current chunk of steps. A
//! full batch is the case `__bt = __b`, `__off = __hoff = __t * __b`.

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
    match ds {
        [] => return quote!(0usize),
        [d] => return dim(*d),
        _ => {}
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

/// The buffer `loc` is read from in section `sec`: its own, except for the
/// state before each step read before or after the loop, over all steps
/// at once, which comes gathered in packed rows (`__hvK`, a
/// `PrevStates`; the history itself for a full batch).
pub fn buf_ident(loc: &Loc, sec: Section) -> Ident {
    match loc.buf {
        Buf::Hist(k) if prev_states(loc, sec) => format_ident!("__hv{}", k),
        b => buf_name(b),
    }
}

/// Whether `loc` is the state before each step, read over all steps.
pub fn prev_states(loc: &Loc, sec: Section) -> bool {
    matches!(loc.buf, Buf::Hist(_)) && !loc.next_block && sec != Section::Body
}

/// First row of `loc` for the current step (body) or for all steps (pre/post).
pub fn row0(loc: &Loc, sec: Section) -> TokenStream {
    let block = if loc.chunked && sec == Section::Body {
        quote!((__off - __choff))
    } else if loc.all_steps && sec == Section::Body {
        if matches!(loc.buf, Buf::Hist(_)) && !loc.next_block {
            quote!(__hoff)
        } else {
            quote!(__off)
        }
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
        quote!(__bt)
    } else {
        quote!(__nrows)
    }
}

/// Field name of a dimension in the `Dims` struct (`H` -> `h`).
pub fn dim_field(name: &Ident) -> Ident {
    format_ident!("{}", name.to_string().to_lowercase(), span = name.span())
}

pub fn dims_ident(decls: &Decls) -> Ident {
    format_ident!("{}Dims", decls.name)
}

/// `&buf[off..]` (`&mut` when `mutable`) for location `loc`. A block of
/// columns past the first (an input's of several) starts past the end of
/// an empty buffer (no rows), so there the slice is cut at the end.
pub fn slice_from(buf: &Ident, off: &TokenStream, loc: &Loc, mutable: bool) -> TokenStream {
    match (loc.col.is_empty(), mutable) {
        (true, false) => quote!(&#buf[#off..]),
        (true, true) => quote!(&mut #buf[#off..]),
        (false, false) => quote!(__rt::tail(&#buf[..], #off)),
        (false, true) => quote!(__rt::tail_mut(&mut #buf[..], #off)),
    }
}
