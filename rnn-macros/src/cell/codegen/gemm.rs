//! Product items -> calls into the runtime's matrix products.
//!
//! Before and after the loop a product runs over the rows of all steps
//! (`gemm_nt`, `gemm_nn`); inside it over the step's rows (`__bt`, the
//! sequences still running), against weights packed once per call
//! ([`loop_packs`]); a chunked input projection runs at the first step of
//! each chunk for the chunk's packed rows. Stacked groups
//! multiply by their weights laid out side by side (`__wG`), a single
//! matrix by the parameter itself (`__pP`). One-hot inputs go through the
//! runtime's lookup forms.

use super::tokens::{buf_ident, dim, dims, offset, rows, slice_from};
use crate::cell::flow::Group;
use crate::cell::schedule::{Buf, Item, Loc, Section};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeSet;

/// The statements of one product item: `c = a · W_gᵀ` (`Item::Gemm`) or,
/// `transposed`, `c = a · W_g` (`Item::GemmT`), in section `sec`.
pub fn product(
    groups: &[Group],
    one_hot_lookup: bool,
    group: usize,
    a: &Loc,
    c: &Loc,
    sec: Section,
    transposed: bool,
) -> TokenStream {
    let g = &groups[group];
    let m = rows(sec);
    let r = dims(&g.rows);
    let cols = dim(g.cols);
    let w = weight_slice(groups, group);
    let (an, cn) = (buf_ident(a, sec), buf_ident(c, sec));
    let (ao, co) = (offset(a, sec), offset(c, sec));
    let (lda, ldc) = (dims(&a.ld), dims(&c.ld));
    if c.chunked {
        // The input projection of the next chunk of steps, at its first step.
        let pk = packed_name(group, false);
        let product = if one_hot_lookup {
            // Values, ids or picked rows of the one input (its whole row).
            quote!(__rt::input_product_packed(#an.rows(__off, __rows, #lda), __rows, &#pk, F::zero(), &mut #cn[..], #ldc);)
        } else {
            // Values; an input's block of the inputs side by side.
            quote!(__rt::gemm_packed(__rows, __rt::Strided::rows(&#an[#ao..], #lda), &#pk, F::zero(), &mut #cn[..], #ldc);)
        };
        return quote! {
            if __t % __ch == 0 {
                __choff = __off;
                let __rows = __steps.rows_in(__t, __t + __ch);
                #product
            }
        };
    }
    if one_hot_lookup && matches!(a.buf, Buf::Xs(_)) {
        // Values or one-hot ids, from row 0: the product runs before the loop.
        return quote!(__rt::input_product(ws, #an, #m, #r, #cols, #w, #cols, F::zero(), &mut #cn[#co..], #ldc););
    }
    let call = |a_slice: TokenStream, c_slice: TokenStream| {
        if sec == Section::Body {
            // Inside the loop the weights were packed once, before it.
            let pk = packed_name(group, transposed);
            quote!(__rt::gemm_packed(#m, __rt::Strided::rows(#a_slice, #lda), &#pk, F::zero(), #c_slice, #ldc);)
        } else if transposed {
            quote!(__rt::gemm_nn(ws, #m, #cols, #r, #a_slice, #lda, #w, #cols, F::zero(), #c_slice, #ldc);)
        } else {
            quote!(__rt::gemm_nt(ws, #m, #r, #cols, #a_slice, #lda, #w, #cols, F::zero(), #c_slice, #ldc);)
        }
    };
    if one_hot_lookup && matches!(c.buf, Buf::DXs(_)) {
        // One-hot ids have no gradient.
        let body = call(slice_from(&an, &ao, a, false), slice_from(&cn, &co, c, true));
        return quote! {
            if !trace.one_hot {
                #body
            }
        };
    }
    if a.buf == c.buf {
        // Same buffer (a state's history): read block t, write a later block.
        let body = call(quote!(&__lo[__ao..]), quote!(&mut __hi[..]));
        quote! {
            {
                let (__ao, __co) = (#ao, #co);
                let (__lo, __hi) = #cn.split_at_mut(__co);
                #body
            }
        }
    } else {
        let body = call(slice_from(&an, &ao, a, false), slice_from(&cn, &co, c, true));
        quote!(#body)
    }
}

fn weight_slice(groups: &[Group], g: usize) -> TokenStream {
    if groups[g].weights.len() > 1 {
        let w = format_ident!("__w{}", g);
        quote!(&#w[..])
    } else {
        let p = format_ident!("__p{}", groups[g].weights[0]);
        quote!(#p)
    }
}

/// The weights of `group` packed for the loop: `W^T` for `x W^T`, or `W`
/// itself for the transposed product of the backward pass.
fn packed_name(group: usize, transposed: bool) -> Ident {
    if transposed {
        format_ident!("__pkt{}", group)
    } else {
        format_ident!("__pk{}", group)
    }
}

/// `let` statements packing every group the loop body multiplies by, once
/// per call (a GEMM library would lay the weights out again at every step),
/// and the statements that give the packed memory back.
pub fn loop_packs(groups: &[Group], body: &[Item]) -> (TokenStream, TokenStream) {
    let mut seen = BTreeSet::new();
    let mut out = TokenStream::new();
    let mut release = TokenStream::new();
    for item in body {
        let (group, transposed) = match item {
            Item::Gemm { group, .. } => (*group, false),
            Item::GemmT { group, .. } => (*group, true),
            Item::Kernel(_) => continue,
        };
        if !seen.insert((group, transposed)) {
            continue;
        }
        let g = &groups[group];
        let (r, cols, w) = (dims(&g.rows), dim(g.cols), weight_slice(groups, group));
        let pk = packed_name(group, transposed);
        out.extend(if transposed {
            quote!(let #pk = __rt::PackedB::nn_in(ws, #w, #r, #cols, #cols);)
        } else {
            quote!(let #pk = __rt::PackedB::nt_in(ws, #w, #r, #cols, #cols);)
        });
        release.extend(quote!(ws.give(#pk.into_vec());));
    }
    (out, release)
}
