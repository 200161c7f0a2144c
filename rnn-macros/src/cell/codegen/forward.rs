//! The body of `forward_packed_ws` (inference program, into `out`) or of
//! `forward_train_packed_ws` (training program, into `trace`); the other
//! forward methods call these with a full batch.
//!
//! Check the input against the batch sizes and the initial states (typed
//! errors), bind sizes and parameters, allocate every buffer once, run the
//! program over the packed rows, then hand the outputs and each sequence's
//! final states over; the training form keeps in the trace the batch
//! sizes, the input, the state histories and the buffers the backward
//! reads, in the order it reads them.

use super::body::Ctx;
use super::tokens::{buf_name, dim, dims};
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
            let mut #h = ws.take_dirty((__nrows + __b) * #w);
            if init.is_empty() {
                #h[..__b * #w].fill(F::zero());
            } else {
                let __init = init[#k].as_standard_layout();
                #h[..__b * #w].copy_from_slice(__init.as_slice().expect("standard layout"));
            }
        });
        finals.extend(quote! {
            #dest.states.push(__rt::final_state(ws, &#h, #w, __steps));
        });
        hist_names.push(h);
    }
    let ow = dim(cx.decls.output_width());
    let views = cx.prev_state_views(prog, &cx.plans.fwd_flow);
    let run = cx.run(prog, &cx.plans.fwd_flow, false, TokenStream::new(), views);
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
            quote! {
                trace.saved.push(ws.take_copy(__xs0));
                trace.one_hot = __one_hot;
            }
        };
        let tag = cx.trace_tag();
        quote! {
            trace.set_batch_sizes(__steps);
            trace.producer = #tag;
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
    let iw = dims(&cx.decls.input_widths());
    let (bind, unbind) = if cx.plans.one_hot_lookup {
        (
            quote! {
                let __xsh0 = __rt::InputHold::new(input);
                let __xs0 = __xsh0.as_ref();
            },
            TokenStream::new(),
        )
    } else {
        // One-hot ids are written out as vectors for cells that read their
        // input other than through products.
        (
            quote! {
                let __one_hot = input.is_one_hot();
                let __xsh0 = __rt::DenseInput::new(ws, input, #iw);
                let __xs0: &[F] = __xsh0.as_slice();
            },
            quote!(__xsh0.give(ws);),
        )
    };
    let dims_check = cx.dims_check();
    quote! {
        #dims_check
        let (__a0, __a1) = __rt::check_packed_input("xs", &input, sizes, <Self as __rt::Cell<F>>::input_size(self))?;
        let __steps = sizes;
        let (__t_len, __b, __nrows) = (__steps.len(), __steps.batch(), __steps.rows());
        #dims_l
        __rt::check_states("init", init, &#widths, __b)?;
        #reclaim
        #params
        #packed
        #bind
        let __ch = __rt::chunk_steps(__b, __t_len);
        #states
        let mut __out0 = ws.take_dirty(__nrows * #ow);
        #own
        #run
        #finals
        #dest.outputs = __rt::array3(__out0, __a0, __a1, #ow);
        #finish
        #unbind
        #(ws.give(#dropped);)*
        #unpacked
        __rt::core::result::Result::Ok(())
    }
}
