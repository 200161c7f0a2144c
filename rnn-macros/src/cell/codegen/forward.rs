//! The body of `forward_ws` (inference program, into `out`) or of
//! `forward_train_ws` (training program, into `trace`).
//!
//! Check the input and the initial states (typed errors), bind sizes and
//! parameters, allocate every buffer once, run the program, then hand the
//! outputs and final states over; the training form keeps in the trace the
//! input, the state histories and the buffers the backward reads, in the
//! order it reads them.

use super::body::Ctx;
use super::tokens::{buf_name, dim};
use crate::cell::schedule::Buf;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Body of `forward_ws` (into `out`) or `forward_train_ws` (into `trace`).
pub fn body(cx: &Ctx<'_>, train: bool) -> TokenStream {
    let prog = if train { &cx.plans.train } else { &cx.plans.infer };
    let dims_l = cx.dim_locals(quote!(self.dims));
    let params = cx.param_locals();
    let (packed, unpacked) = cx.packed_weights(prog);
    let own = cx.own_buffers(prog);
    let widths = cx.state_widths();
    let dest = if train { quote!(trace) } else { quote!(out) };
    let mut states = TokenStream::new();
    let mut finals = TokenStream::new();
    let mut hist_names = Vec::new();
    for (k, s) in cx.decls.states.iter().enumerate() {
        let h = format_ident!("__hist{}", k);
        let w = dim(s.shape[0]);
        states.extend(quote! {
            let mut #h = ws.take_dirty((__t_len + 1) * __b * #w);
            if init.is_empty() {
                #h[..__b * #w].fill(F::zero());
            } else {
                let __init = init[#k].as_standard_layout();
                #h[..__b * #w].copy_from_slice(__init.as_slice().expect("standard layout"));
            }
        });
        finals.extend(quote! {
            #dest.states.push(__rt::array2(ws.take_copy(&#h[__t_len * __b * #w..]), __b, #w));
        });
        hist_names.push(h);
    }
    let ow = dim(cx.decls.output_width());
    let run = cx.run(prog, &cx.plans.fwd_flow, false, TokenStream::new());
    let (keep, drop): (Vec<usize>, Vec<usize>) = if train {
        (0..prog.own.len()).partition(|b| cx.plans.kept.contains(b))
    } else {
        (Vec::new(), (0..prog.own.len()).collect())
    };
    let dropped = drop.iter().map(|b| buf_name(Buf::Own(*b)));
    let finish = if train {
        // Saved in the order the backward reads them: inputs, histories, kept buffers.
        let kept = cx.plans.kept.iter().map(|b| buf_name(Buf::Own(*b)));
        debug_assert_eq!(keep.len(), cx.plans.kept.len());
        let save_input = if cx.plans.one_hot_lookup {
            quote!(__rt::save_input(ws, trace, __xs0);)
        } else {
            quote!(trace.saved.push(ws.take_copy(__xs0));)
        };
        quote! {
            trace.len = __t_len;
            trace.batch = __b;
            #save_input
            #(trace.saved.push(#hist_names);)*
            #(trace.saved.push(#kept);)*
        }
    } else {
        quote!(#(ws.give(#hist_names);)*)
    };
    let reclaim = if train {
        quote!(ws.reclaim_trace(trace);)
    } else {
        quote!(ws.reclaim_forward(out);)
    };
    let (check, bind) = if cx.plans.one_hot_lookup {
        (
            quote!(let (__t_len, __b) = input.check("xs", <Self as __rt::Cell<F>>::input_size(self))?;),
            quote! {
                let __xsh0 = __rt::InputHold::new(input);
                let __xs0 = __xsh0.as_ref();
            },
        )
    } else {
        (
            quote!(let (__t_len, __b) = __rt::check_input("xs", &xs, <Self as __rt::Cell<F>>::input_size(self))?;),
            quote! {
                let __xsc0 = xs.as_standard_layout();
                let __xs0 = __xsc0.as_slice().expect("standard layout");
            },
        )
    };
    quote! {
        #check
        #dims_l
        __rt::check_states("init", init, &#widths, __b)?;
        #reclaim
        #params
        #packed
        #bind
        let __ch = __rt::chunk_steps(__b, __t_len);
        #states
        let mut __out0 = ws.take_dirty(__t_len * __b * #ow);
        #own
        #run
        #finals
        #dest.outputs = __rt::array3(__out0, __t_len, __b, #ow);
        #finish
        #(ws.give(#dropped);)*
        #unpacked
        __rt::core::result::Result::Ok(())
    }
}
