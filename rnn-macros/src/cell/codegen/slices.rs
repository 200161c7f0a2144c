//! How one row of a fused kernel reaches memory: [`Chunk`]s (slices of
//! exactly the kernel's base width), bound for each row by [`chunk_slices`],
//! and the split of the rows between two threads ([`Halves`]).

use super::tokens::{buf_ident, buf_name, dims, row0};
use crate::cell::schedule::{Buf, Loc, Section};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeSet;

/// The split of a kernel's rows in two halves. Each written buffer is
/// reached through a cursor per half, and the second half sums gradients
/// into a buffer of its own that is added in afterwards. Where the rows
/// split depends only on the shape, so results do not depend on the thread
/// count.
pub struct Halves {
    /// Buffers the kernel writes.
    written: Vec<Buf>,
    /// Parameters whose gradients it sums into.
    grads: Vec<usize>,
}

impl Halves {
    pub fn of(locs: &[Loc], written: &BTreeSet<Buf>, used: &BTreeSet<Chunk>) -> Halves {
        let written = written
            .iter()
            .copied()
            .filter(|buf| locs.iter().any(|l| l.buf == *buf))
            .collect();
        let grads = used
            .iter()
            .filter_map(Chunk::grad_of)
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect();
        Halves { written, grads }
    }

    /// `let [cursor of half 0, of half 1] = ...;` for every written buffer,
    /// over the blocks of its locations (their first rows in section `sec`).
    pub fn cursors(&self, locs: &[Loc], nrows: &TokenStream, sec: Section) -> Vec<TokenStream> {
        self.written
            .iter()
            .map(|buf| {
                let name = buf_name(*buf);
                let ld = dims(&locs.iter().find(|l| l.buf == *buf).expect("written location").ld);
                let mut starts: Vec<TokenStream> = Vec::new();
                for l in locs.iter().filter(|l| l.buf == *buf) {
                    let r = row0(l, sec);
                    if !starts.iter().any(|s| s.to_string() == r.to_string()) {
                        starts.push(r);
                    }
                }
                let (c0, c1) = (cursor_ident(*buf, 0), cursor_ident(*buf, 1));
                quote!(let [#c0, #c1] = __rt::RowBlocks::new(&mut #name[..], #ld, #nrows, [#(#starts),*]).halves(__mid);)
            })
            .collect()
    }

    pub fn cursor_params(&self) -> Vec<TokenStream> {
        self.written
            .iter()
            .map(|buf| {
                let c = cursor_ident(*buf, 0);
                quote!(mut #c: __rt::RowCursor<'_, F>)
            })
            .collect()
    }

    pub fn grad_params(&self) -> Vec<TokenStream> {
        self.grads
            .iter()
            .map(|p| {
                let g = format_ident!("__gl{}", p);
                quote!(#g: &mut [F])
            })
            .collect()
    }

    /// The second half's own gradient buffers (empty when the rows do not split).
    pub fn acc_take(&self) -> Vec<TokenStream> {
        self.grads
            .iter()
            .map(|p| {
                let (a, g) = (format_ident!("__acc{}", p), format_ident!("__gp{}", p));
                quote!(let mut #a = ws.take(if __split { #g.len() } else { 0 });)
            })
            .collect()
    }

    /// The second half's gradients added into the parameters' gradients.
    pub fn acc_add(&self) -> Vec<TokenStream> {
        self.grads
            .iter()
            .map(|p| {
                let (a, g) = (format_ident!("__acc{}", p), format_ident!("__gp{}", p));
                quote! {
                    for (__g, __a) in #g.iter_mut().zip(&#a) {
                        *__g += *__a;
                    }
                    ws.give(#a);
                }
            })
            .collect()
    }

    /// Half `h`'s arguments: its cursors, then the gradients it sums into
    /// (the gradients themselves for the first half, its own buffers for
    /// the second).
    pub fn args(&self, h: usize) -> Vec<TokenStream> {
        let prefix = if h == 0 { "__gp" } else { "__acc" };
        self.written
            .iter()
            .map(|b| {
                let c = cursor_ident(*b, h);
                quote!(#c)
            })
            .chain(self.grads.iter().map(|p| {
                let g = format_ident!("{}{}", prefix, p);
                quote!(&mut #g[..])
            }))
            .collect()
    }
}

/// Binds every chunk in `used` to a slice of `b` elements for row `__r`.
/// Locations in a buffer the kernel writes come from that buffer's row
/// cursor (which panics if two would overlap or leave the row); read-only
/// buffers and parameters are plain shared slices; gradients come from
/// the half's own gradient buffer `__glP`.
pub fn chunk_slices(
    locs: &[Loc],
    written: &BTreeSet<Buf>,
    used: &BTreeSet<Chunk>,
    b: &TokenStream,
    sec: Section,
) -> TokenStream {
    // Number of sub-blocks (in units of `b`) a location / gradient spans.
    let span_loc = |i: usize| {
        let top = used.iter().filter_map(|c| match *c {
            Chunk::Loc(j, s) if j == i => Some(s),
            _ => None,
        });
        top.max().map(|s| s + 1)
    };
    let span_grad = |p: usize| {
        let top = used.iter().filter_map(|c| match *c {
            Chunk::Grad(q, s) if q == p => Some(s),
            _ => None,
        });
        top.max().map_or(1, |s| s + 1)
    };
    let mut out = TokenStream::new();
    for buf in written {
        let ids: Vec<usize> = (0..locs.len())
            .filter(|&i| locs[i].buf == *buf && span_loc(i).is_some())
            .collect();
        let regions = ids.iter().map(|&i| format_ident!("__l{}", i));
        // A row scalar's row is its one value.
        let one = quote!(1usize);
        let width = |i: usize| if locs[i].is_row_scalar() { &one } else { b };
        let ranges = ids.iter().map(|&i| {
            let (o, n, w) = (format_ident!("__o{}", i), span_loc(i).unwrap_or(1), width(i));
            quote!((#o, #n * #w))
        });
        if ids.is_empty() {
            continue;
        }
        let c = cursor_ident(*buf, 0);
        out.extend(quote!(let [#(#regions),*] = #c.row(__r, [#(#ranges),*]);));
        for &i in &ids {
            let n = span_loc(i).unwrap_or(1);
            out.extend(split_chunks(
                format_ident!("__l{}", i),
                n,
                width(i),
                |sb| Chunk::Loc(i, sb),
                used,
            ));
        }
    }
    let grads: BTreeSet<usize> = used
        .iter()
        .filter_map(|c| if let Chunk::Grad(p, _) = c { Some(*p) } else { None })
        .collect();
    for c in used.iter().filter(|c| c.is_scalar()) {
        let ident = c.ident();
        match *c {
            Chunk::ScalarParam(p) => {
                let name = format_ident!("__p{}", p);
                out.extend(quote!(let #ident: &[F] = &#name[..1];));
            }
            Chunk::ScalarGrad(p) => {
                let g = format_ident!("__gl{}", p);
                out.extend(quote!(let #ident: &mut [F] = &mut #g[..1];));
            }
            _ => {}
        }
    }
    for p in grads {
        let n = span_grad(p);
        let (g, region) = (format_ident!("__gl{}", p), format_ident!("__lg{}", p));
        out.extend(quote!(let #region = &mut #g[..];));
        out.extend(split_chunks(region, n, b, |sb| Chunk::Grad(p, sb), used));
    }
    for c in used {
        let ident = c.ident();
        let sb = c.sub();
        match *c {
            Chunk::Loc(i, _) if !written.contains(&locs[i].buf) => {
                let (name, o) = (buf_ident(&locs[i], sec), format_ident!("__o{}", i));
                if locs[i].is_row_scalar() {
                    out.extend(quote!(let #ident: &[F] = &#name[#o..][..1];));
                } else {
                    out.extend(quote!(let #ident: &[F] = &#name[#o + #sb * #b..][..#b];));
                }
            }
            Chunk::Param(p, _) => {
                let name = format_ident!("__p{}", p);
                out.extend(quote!(let #ident: &[F] = &#name[#sb * #b..][..#b];));
            }
            _ => {}
        }
    }
    out
}

/// The cursor over a written buffer's rows for half `h` of a kernel's rows.
fn cursor_ident(buf: Buf, h: usize) -> Ident {
    let name = buf_name(buf).to_string();
    format_ident!("__cur_{}_{}", name.trim_start_matches('_'), h)
}

/// A slice of `b` elements one kernel row reads or writes: sub-block `sb`
/// (in units of `b`) of location `id`, of a parameter, or of a parameter's gradient.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Chunk {
    Loc(usize, usize),
    Param(usize, usize),
    Grad(usize, usize),
    /// A scalar parameter: a slice of its one value.
    ScalarParam(usize),
    /// The gradient of a scalar parameter: every column sums into its one value.
    ScalarGrad(usize),
}

impl Chunk {
    fn sub(&self) -> usize {
        match *self {
            Chunk::Loc(_, s) | Chunk::Param(_, s) | Chunk::Grad(_, s) => s,
            Chunk::ScalarParam(_) | Chunk::ScalarGrad(_) => 0,
        }
    }

    /// Whether the chunk is a scalar parameter's one value (or its gradient's).
    pub fn is_scalar(&self) -> bool {
        matches!(self, Chunk::ScalarParam(_) | Chunk::ScalarGrad(_))
    }

    /// Whether the chunk is one value, not a row's `b`: a scalar
    /// parameter's, or a row scalar's (of a location in `locs`).
    pub fn is_one_value(&self, locs: &[Loc]) -> bool {
        self.is_scalar() || matches!(*self, Chunk::Loc(i, _) if locs[i].is_row_scalar())
    }

    /// The parameter whose gradient this chunk sums into, if it is a gradient.
    pub fn grad_of(&self) -> Option<usize> {
        match *self {
            Chunk::Grad(p, _) | Chunk::ScalarGrad(p) => Some(p),
            _ => None,
        }
    }

    pub fn ident(&self) -> Ident {
        match *self {
            Chunk::Loc(i, s) => format_ident!("__c{}_{}", i, s),
            Chunk::Param(p, s) => format_ident!("__q{}_{}", p, s),
            Chunk::Grad(p, s) => format_ident!("__g{}_{}", p, s),
            Chunk::ScalarParam(p) => format_ident!("__s{}", p),
            Chunk::ScalarGrad(p) => format_ident!("__gs{}", p),
        }
    }
}

/// `let [__cX_0, ..] = chunks_mut::<n>(region, b)`, then each used chunk
/// re-sliced to `[..b]` so its length is visibly `b` inside the loop.
fn split_chunks(
    region: Ident,
    n: usize,
    b: &TokenStream,
    chunk: impl Fn(usize) -> Chunk,
    used: &BTreeSet<Chunk>,
) -> TokenStream {
    let names: Vec<Ident> = (0..n).map(|sb| chunk(sb).ident()).collect();
    let mut out = quote!(let [#(#names),*] = __rt::chunks_mut::<#n, F>(#region, #b););
    for sb in 0..n {
        if used.contains(&chunk(sb)) {
            let c = chunk(sb).ident();
            out.extend(quote!(let #c = &mut #c[..#b];));
        }
    }
    out
}
