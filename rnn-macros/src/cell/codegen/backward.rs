//! The body of `backward_ws`: BPTT over the backward program.
//!
//! Check the upstream gradients and the trace (typed errors), bind sizes,
//! parameters, their gradients and the trace's buffers, run the backward
//! program over the steps in reverse, swapping the carried state adjoints
//! after each step, then the weight gradients: products after the loop,
//! reading adjoints the loop copied into panels; for one-hot inputs, sums
//! per id built in the loop. Gradients of the initial state and the input
//! are handed over last.
//!
//! For a packed batch each step runs the rows of the sequences still
//! running. Both buffers of a carried state adjoint start as the gradient
//! of the final state: a row that has not run yet keeps it, so a sequence
//! joins with its own final-state gradient at its last step, and one of
//! length 0 passes it straight to its initial state.

use super::body::Ctx;
use super::tokens::{buf_ident, buf_name, dim, dims, offset, slice_from};
use crate::cell::schedule::{Buf, PanelSpec, Program, Section, WeightGradItem};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The weight gradients that read the panels of `spec`.
fn panel_users<'p>(cx: &Ctx<'_>, prog: &'p Program, spec: &PanelSpec) -> Vec<&'p WeightGradItem> {
    prog.weight_grads
        .iter()
        .filter(|w| w.panels && w.dy == spec.dy && cx.plans.groups[w.wg.group].rows[w.wg.member] == spec.width)
        .collect()
}

/// Whether `w` is the gradient of an input the cell can look up (for
/// one-hot ids it is a sum of rows per id, not a product).
fn looked_up(cx: &Ctx<'_>, w: &WeightGradItem) -> bool {
    cx.plans.one_hot_lookup && matches!(w.operand.buf, Buf::Xs(_))
}

/// The gradient buffer `w` adds into, with its rows and columns.
fn grad_member(cx: &Ctx<'_>, w: &WeightGradItem) -> (Ident, TokenStream, TokenStream) {
    let g = &cx.plans.groups[w.wg.group];
    let gp = format_ident!("__gp{}", g.weights[w.wg.member]);
    (gp, dim(g.rows[w.wg.member]), dim(g.cols))
}

/// The weight-gradient products after the loop. Those reading the same
/// panels run as one product over their operands side by side (one pass
/// over `dY`); a one-hot input's gradient was summed per id in the loop.
fn weight_grads(cx: &Ctx<'_>, prog: &Program, panels: &[PanelSpec]) -> TokenStream {
    let member = |w: &WeightGradItem| grad_member(cx, w);
    let operand = |w: &WeightGradItem| {
        let (op, opo, lop) = (
            buf_ident(&w.operand, Section::Post),
            offset(&w.operand, Section::Post),
            dims(&w.operand.ld),
        );
        if looked_up(cx, w) {
            // Values here: the one-hot case is a sum per id, handled apart.
            quote!((&#op.dense()[#opo..], #lop))
        } else {
            let op = slice_from(&op, &opo, &w.operand, false);
            quote!((#op, #lop))
        }
    };
    let parts_call = |pa: &Ident, ws: &[&WeightGradItem]| {
        let rows = member(ws[0]).1;
        let parts = ws.iter().map(|w| {
            let (gp, _, cols) = member(w);
            let op = operand(w);
            quote!({ let (__o, __ld) = #op; (__o, __ld, #cols, &mut #gp[..], #cols) })
        });
        quote!(__rt::gemm_tn_panels_parts(ws, #rows, __nrows, &#pa, [#(#parts),*], F::one());)
    };
    let mut out = TokenStream::new();
    for (i, spec) in panels.iter().enumerate() {
        let pa = format_ident!("__pa{}", i);
        let users = panel_users(cx, prog, spec);
        let (inputs, others): (Vec<_>, Vec<_>) = users.iter().copied().partition(|w| looked_up(cx, w));
        if inputs.is_empty() {
            out.extend(parts_call(&pa, &users));
            continue;
        }
        // The one-hot sums were built in the loop (see `backward`).
        let scatters = inputs.iter().enumerate().map(|(j, w)| {
            let (gp, _, cols) = member(w);
            let sums = one_hot_sums_ident(i, j);
            quote!(#sums.add_into(ws, #gp, #cols);)
        });
        let rest = if others.is_empty() {
            TokenStream::new()
        } else {
            parts_call(&pa, &others)
        };
        let all = parts_call(&pa, &users);
        out.extend(quote! {
            if trace.one_hot {
                #(#scatters)*
                #rest
            } else {
                #all
            }
        });
    }
    for w in prog.weight_grads.iter().filter(|w| !w.panels) {
        let (gp, rows, cols) = member(w);
        let (dy, dyo, ldy) = (
            buf_ident(&w.dy, Section::Post),
            offset(&w.dy, Section::Post),
            dims(&w.dy.ld),
        );
        if looked_up(cx, w) {
            out.extend(quote! {
                __rt::input_weight_grad(ws, __xs0, #rows, #cols, __nrows, &#dy[#dyo..], #ldy, #gp, #cols);
            });
        } else {
            let (op, opo, lop) = (
                buf_ident(&w.operand, Section::Post),
                offset(&w.operand, Section::Post),
                dims(&w.operand.ld),
            );
            let op = slice_from(&op, &opo, &w.operand, false);
            out.extend(quote! {
                __rt::gemm_tn(ws, #rows, #cols, __nrows, &#dy[#dyo..], #ldy, #op, #lop, F::one(), #gp, #cols);
            });
        }
    }
    out
}

pub fn body(cx: &Ctx<'_>) -> TokenStream {
    let prog = &cx.plans.bwd;
    let dims_l = cx.dim_locals(quote!(self.dims));
    let params = cx.param_locals();
    let (packed, unpacked) = cx.packed_weights(prog);
    let own = cx.own_buffers(prog);
    let widths = cx.state_widths();
    let n_states = cx.decls.states.len();
    let n_saved = 1 + n_states + cx.plans.kept.len();
    let mut grads = TokenStream::new();
    for (k, p) in cx.decls.params.iter().enumerate() {
        let (v, name) = (format_ident!("__gp{}", k), &p.name);
        let msg = format!("gradient `{}` is not contiguous", name);
        grads.extend(quote! {
            let #v = grads.#name.as_slice_mut().ok_or_else(|| __rt::RnnError::Invalid(__rt::String::from(#msg)))?;
        });
    }
    // A view's gradient is summed apart, then added into its matrix's.
    let mut view_grads_fold = TokenStream::new();
    for (w, v) in cx.views() {
        let (buf, gv, gp) = (
            format_ident!("__gvw{}", w),
            format_ident!("__gp{}", w),
            format_ident!("__gp{}", v.param),
        );
        let (rows, cols, col0, ld) = cx.view_layout(v);
        grads.extend(quote! {
            let mut #buf = ws.take(#rows * #cols);
            let #gv: &mut [F] = &mut #buf;
        });
        let fold = if v.transposed {
            quote!(__rt::add_transposed(#gp, &#buf, #rows, #cols);)
        } else {
            quote!(__rt::add_cols(#gp, #ld, #col0, &#buf, #cols);)
        };
        view_grads_fold.extend(quote! {
            #fold
            ws.give(#buf);
        });
    }
    let mut trace_bufs = TokenStream::new();
    for k in 0..n_states {
        let h = format_ident!("__hist{}", k);
        let idx = 1 + k;
        trace_bufs.extend(quote!(let #h: &[F] = &trace.saved[#idx];));
    }
    for s in 0..cx.plans.kept.len() {
        let v = buf_name(Buf::Saved(s));
        let idx = 1 + n_states + s;
        trace_bufs.extend(quote!(let #v: &[F] = &trace.saved[#idx];));
    }
    let mut seeds = TokenStream::new();
    let mut swaps = TokenStream::new();
    let mut d_init = TokenStream::new();
    for (k, s) in cx.decls.states.iter().enumerate() {
        let (sd, sn) = (format_ident!("__seed{}", k), format_ident!("__seednext{}", k));
        let w = dim(s.shape[0]);
        seeds.extend(quote! {
            let mut #sd = ws.take(__b * #w);
            let mut #sn = ws.take(__b * #w);
            if !d_final.is_empty() {
                let __df = d_final[#k].as_standard_layout();
                let __df = __df.as_slice().expect("standard layout");
                #sd.copy_from_slice(__df);
                #sn.copy_from_slice(__df);
            }
        });
        swaps.extend(quote!(__rt::core::mem::swap(&mut #sd, &mut #sn);));
        d_init.extend(quote! {
            input.d_init.push(__rt::array2(#sd, __b, #w));
            ws.give(#sn);
        });
    }
    let iw = dims(&cx.decls.input_widths());
    // The adjoints that weight gradients read, copied step by step into
    // the layout of those products (see `PanelsA`).
    let panels = prog.weight_grad_panels(&cx.plans.groups);
    let mut panel_bufs = TokenStream::new();
    let mut panel_puts = TokenStream::new();
    let mut panel_release = TokenStream::new();
    for (i, spec) in panels.iter().enumerate() {
        let pa = format_ident!("__pa{}", i);
        let (b, ld, w) = (buf_name(spec.dy.buf), dims(&spec.dy.ld), dim(spec.width));
        let off = offset(&spec.dy, Section::Body);
        let users = panel_users(cx, prog, spec);
        let one_hot: Vec<&WeightGradItem> = users.iter().copied().filter(|w| looked_up(cx, w)).collect();
        if one_hot.len() == users.len() {
            // Only one-hot inputs read these panels: none for ids.
            panel_bufs.extend(quote! {
                let mut #pa = __rt::PanelsA::new_in(ws, if trace.one_hot { 0 } else { __nrows }, #w);
            });
            panel_puts.extend(quote! {
                if !trace.one_hot {
                    #pa.put_rows(__off, &#b[#off..], #ld, __bt);
                }
            });
        } else {
            panel_bufs.extend(quote!(let mut #pa = __rt::PanelsA::new_in(ws, __nrows, #w);));
            panel_puts.extend(quote!(#pa.put_rows(__off, &#b[#off..], #ld, __bt);));
        }
        panel_release.extend(quote!(ws.give(#pa.into_vec());));
        // One-hot input gradients: the step's rows summed per id now,
        // while they are in cache (nothing to do for dense inputs).
        for (j, w) in one_hot.into_iter().enumerate() {
            let (_, rows, cols) = grad_member(cx, w);
            let sums = one_hot_sums_ident(i, j);
            panel_bufs.extend(quote!(let mut #sums = __rt::OneHotSums::new_in(ws, __xs0, #cols, #rows);));
            panel_puts.extend(quote!(#sums.add_rows(__xs0, __off, &#b[#off..], #ld, __bt);));
        }
    }
    panel_puts.extend(swaps);
    let (make_views, give_views) = cx.prev_state_views(prog, &cx.plans.bwd_flow);
    let run = cx.run(prog, &cx.plans.bwd_flow, true, panel_puts, Default::default());
    let wgrads = weight_grads(cx, prog, &panels);
    let own_names = (0..prog.own.len()).map(|b| buf_name(Buf::Own(b)));
    let dx_rows = if cx.plans.one_hot_lookup {
        // The input-gradient products are skipped for one-hot ids.
        quote!(let __dx_rows = if trace.one_hot { 0 } else { __nrows };)
    } else {
        quote!(let __dx_rows = __nrows;)
    };
    let xs_bind = if cx.plans.one_hot_lookup {
        quote!(let __xs0 = __rt::saved_input(trace);)
    } else {
        quote!(let __xs0: &[F] = &trace.saved[0];)
    };
    let dims_check = cx.dims_check();
    let tag = cx.trace_tag();
    let (saved, chunked) = cx.saved_shapes();
    let check_saved = if chunked {
        quote! {{
            let __ch = __rt::chunk_steps(__b, __t_len);
            __rt::check_saved(trace, &[#(#saved),*])?;
        }}
    } else {
        quote!(__rt::check_saved(trace, &[#(#saved),*])?;)
    };
    let ow = dim(cx.decls.output_width());
    let tokens_check = if cx.plans.one_hot_lookup {
        quote! {
            if trace.one_hot && (trace.tokens.len() != __nrows || trace.tokens.iter().any(|&__id| __id >= #iw)) {
                return __rt::core::result::Result::Err(__rt::RnnError::Invalid(__rt::String::from("trace was not made by this cell's forward_train: its one-hot ids do not match")));
            }
        }
    } else {
        TokenStream::new()
    };
    quote! {
        #dims_check
        #dims_l
        __rt::check_trace(trace, #tag, #n_saved, #ow)?;
        let __steps = trace.layout();
        let (__t_len, __b, __nrows) = (__steps.len(), __steps.batch(), __steps.rows());
        let (__a0, __a1) = (trace.outputs.shape()[0], trace.outputs.shape()[1]);
        let __want = [__a0, __a1, <Self as __rt::Cell<F>>::output_size(self)];
        if d_out.shape() != __want {
            return __rt::core::result::Result::Err(__rt::RnnError::shape("d_out", &__want, d_out.shape()));
        }
        __rt::check_states("d_final", d_final, &#widths, __b)?;
        if grads.dims != self.dims {
            return __rt::core::result::Result::Err(__rt::RnnError::Invalid(__rt::String::from("gradient sizes differ from the cell's")));
        }
        #check_saved
        #tokens_check
        ws.reclaim_input_grads(input);
        #params
        #packed
        #grads
        #xs_bind
        #trace_bufs
        let __out0 = trace.outputs.as_slice().expect("standard layout");
        let __doutc0 = d_out.as_standard_layout();
        let __dout0 = __doutc0.as_slice().expect("standard layout");
        #seeds
        #dx_rows
        let mut __dxs0 = ws.take(__dx_rows * #iw);
        #own
        #panel_bufs
        #make_views
        #run
        #wgrads
        #give_views
        #panel_release
        #view_grads_fold
        // One-hot ids have no gradient.
        input.d_xs = if trace.one_hot {
            ws.give(__dxs0);
            __rt::array3(__rt::Vec::new(), 0, 0, 0)
        } else {
            __rt::array3(__dxs0, __a0, __a1, #iw)
        };
        #d_init
        #(ws.give(#own_names);)*
        #unpacked
        __rt::core::result::Result::Ok(())
    }
}

/// The per-id sums of the `j`-th one-hot input gradient on panels `i`.
fn one_hot_sums_ident(i: usize, j: usize) -> Ident {
    format_ident!("__ohs{}_{}", i, j)
}
