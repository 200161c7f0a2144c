//! The bodies of `forward`, `forward_train` and `backward_into`.
//!
//! Each is: check shapes (typed errors), bind sizes and parameters, allocate
//! every buffer once, run the program's `pre` items, the time loop over the
//! `body` items, the `post` items, and wrap the results in ndarray types.

use super::Ctx;
use super::program::{Gen, buf_name, dim, dims, offset};
use crate::cell::schedule::{Buf, PanelSpec, Program, Section, WeightGradItem};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

impl Ctx<'_> {
    /// `let __dK = ...;` for every dimension, read from `recv` (`self.dims` or `dims`).
    pub fn dim_locals(&self, recv: TokenStream) -> TokenStream {
        let mut out = TokenStream::new();
        for (i, (name, fixed)) in self.decls.dims.iter().enumerate() {
            let v = format_ident!("__d{}", i);
            match fixed {
                Some(n) => out.extend(quote!(let #v = #n;)),
                None => {
                    let f = super::dim_field(name);
                    out.extend(quote!(let #v = #recv.#f;));
                }
            }
        }
        out
    }

    fn param_locals(&self) -> TokenStream {
        let mut out = TokenStream::new();
        for (k, p) in self.decls.params.iter().enumerate() {
            let (c, v, name) = (format_ident!("__pc{}", k), format_ident!("__p{}", k), &p.name);
            out.extend(quote! {
                let #c = self.#name.as_standard_layout();
                let #v = #c.as_slice().expect("standard layout");
            });
        }
        out
    }

    /// Stacked weights laid out side by side once per call, and the
    /// statements that give their memory back.
    fn packed_weights(&self, prog: &Program) -> (TokenStream, TokenStream) {
        let mut out = TokenStream::new();
        let mut release = TokenStream::new();
        for &g in &prog.packed_groups {
            let grp = &self.groups[g];
            let w = format_ident!("__w{}", g);
            let (r, cols) = (dims(&grp.rows), dim(grp.cols));
            let mut fill = TokenStream::new();
            for (m, &p) in grp.weights.iter().enumerate() {
                let row0 = dims(&grp.rows[..m]);
                let pv = format_ident!("__p{}", p);
                fill.extend(quote!(__rt::pack_rows(&mut #w, #row0, #cols, #pv);));
            }
            out.extend(quote! {
                let mut #w = ws.take_dirty(#r * #cols);
                #fill
                let #w = #w;
            });
            release.extend(quote!(ws.give(#w);));
        }
        (out, release)
    }

    fn own_buffers(&self, prog: &Program) -> TokenStream {
        let mut out = TokenStream::new();
        for (i, b) in prog.own.iter().enumerate() {
            let v = buf_name(Buf::Own(i));
            let w = dims(&b.width);
            let rows = if b.chunked {
                quote!(__ch * __b)
            } else if b.all_steps {
                quote!(__t_len * __b)
            } else {
                quote!(__b)
            };
            // Every element is stored before it is read (NaN in debug builds proves it).
            out.extend(quote!(let mut #v = ws.take_dirty(#rows * #w);));
        }
        out
    }

    fn run(
        &self,
        prog: &Program,
        flow: &crate::cell::flow::Flow,
        reverse: bool,
        after_step: TokenStream,
    ) -> TokenStream {
        let g = Gen {
            flow,
            groups: self.groups,
            prog,
            one_hot_lookup: self.plans.one_hot_lookup,
        };
        let (packs, unpack) = super::program::loop_packs(self.groups, &prog.body);
        let pre = g.items(&prog.pre, Section::Pre);
        let body = g.items(&prog.body, Section::Body);
        let post = g.items(&prog.post, Section::Post);
        let range = if reverse {
            quote!((0..__t_len).rev())
        } else {
            quote!(0..__t_len)
        };
        quote! {
            #packs
            #pre
            for __t in #range {
                #body
                #after_step
            }
            #post
            #unpack
        }
    }

    /// `[#w0, #w1, ..]`: the state widths, for shape checks without a `Vec`.
    fn state_widths(&self) -> TokenStream {
        let ws = self.decls.states.iter().map(|s| dim(s.shape[0]));
        quote!([#(#ws),*])
    }

    /// Body of `forward_ws` (into `out`) or `forward_train_ws` (into `trace`).
    pub fn forward_body(&self, train: bool) -> TokenStream {
        let prog = if train { &self.plans.train } else { &self.plans.infer };
        let dims_l = self.dim_locals(quote!(self.dims));
        let params = self.param_locals();
        let (packed, unpacked) = self.packed_weights(prog);
        let own = self.own_buffers(prog);
        let widths = self.state_widths();
        let dest = if train { quote!(trace) } else { quote!(out) };
        let mut states = TokenStream::new();
        let mut finals = TokenStream::new();
        let mut hist_names = Vec::new();
        for (k, s) in self.decls.states.iter().enumerate() {
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
        let ow = dim(self.decls.output_width());
        let run = self.run(prog, self.fwd_flow, false, TokenStream::new());
        let (keep, drop): (Vec<usize>, Vec<usize>) = if train {
            (0..prog.own.len()).partition(|b| self.plans.kept.contains(b))
        } else {
            (Vec::new(), (0..prog.own.len()).collect())
        };
        let dropped = drop.iter().map(|b| buf_name(Buf::Own(*b)));
        let finish = if train {
            // Saved in the order the backward reads them: inputs, histories, kept buffers.
            let kept = self.plans.kept.iter().map(|b| buf_name(Buf::Own(*b)));
            debug_assert_eq!(keep.len(), self.plans.kept.len());
            let save_input = if self.plans.one_hot_lookup {
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
        let (check, bind) = if self.plans.one_hot_lookup {
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

    /// The weight gradients that read the panels of `spec`.
    fn panel_users<'p>(&self, prog: &'p Program, spec: &PanelSpec) -> Vec<&'p WeightGradItem> {
        prog.weight_grads
            .iter()
            .filter(|w| w.panels && w.dy == spec.dy && self.groups[w.wg.group].rows[w.wg.member] == spec.width)
            .collect()
    }

    /// Whether `w` is the gradient of an input the cell can look up (for
    /// one-hot ids it is a sum of rows per id, not a product).
    fn looked_up(&self, w: &WeightGradItem) -> bool {
        self.plans.one_hot_lookup && matches!(w.operand.buf, Buf::Xs(_))
    }

    /// The gradient buffer `w` adds into, with its rows and columns.
    fn grad_member(&self, w: &WeightGradItem) -> (Ident, TokenStream, TokenStream) {
        let g = &self.groups[w.wg.group];
        let gp = format_ident!("__gp{}", g.weights[w.wg.member]);
        (gp, dim(g.rows[w.wg.member]), dim(g.cols))
    }

    /// The weight-gradient products after the loop. Those reading the same
    /// panels run as one product over their operands side by side (one pass
    /// over `dY`); a one-hot input's gradient was summed per id in the loop.
    fn weight_grads(&self, prog: &Program, panels: &[PanelSpec]) -> TokenStream {
        let member = |w: &WeightGradItem| self.grad_member(w);
        let operand = |w: &WeightGradItem| {
            let (op, opo, lop) = (
                buf_name(w.operand.buf),
                offset(&w.operand, Section::Post),
                dims(&w.operand.ld),
            );
            if self.looked_up(w) {
                // Values here: the one-hot case is a sum per id, handled apart.
                quote!((&#op.dense()[#opo..], #lop))
            } else {
                quote!((&#op[#opo..], #lop))
            }
        };
        let parts_call = |pa: &Ident, ws: &[&WeightGradItem]| {
            let rows = member(ws[0]).1;
            let parts = ws.iter().map(|w| {
                let (gp, _, cols) = member(w);
                let op = operand(w);
                quote!({ let (__o, __ld) = #op; (__o, __ld, #cols, &mut #gp[..], #cols) })
            });
            quote!(__rt::gemm_tn_panels_parts(ws, #rows, __t_len * __b, &#pa, [#(#parts),*], F::one());)
        };
        let mut out = TokenStream::new();
        for (i, spec) in panels.iter().enumerate() {
            let pa = format_ident!("__pa{}", i);
            let users = self.panel_users(prog, spec);
            let (inputs, others): (Vec<_>, Vec<_>) = users.iter().copied().partition(|w| self.looked_up(w));
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
            let (dy, dyo, ldy) = (buf_name(w.dy.buf), offset(&w.dy, Section::Post), dims(&w.dy.ld));
            if self.looked_up(w) {
                out.extend(quote! {
                    __rt::input_weight_grad(ws, __xs0, #rows, #cols, __t_len * __b, &#dy[#dyo..], #ldy, #gp, #cols);
                });
            } else {
                let (op, opo, lop) = (
                    buf_name(w.operand.buf),
                    offset(&w.operand, Section::Post),
                    dims(&w.operand.ld),
                );
                out.extend(quote! {
                    __rt::gemm_tn(ws, #rows, #cols, __t_len * __b, &#dy[#dyo..], #ldy, &#op[#opo..], #lop, F::one(), #gp, #cols);
                });
            }
        }
        out
    }

    pub fn backward_body(&self) -> TokenStream {
        let prog = &self.plans.bwd;
        let dims_l = self.dim_locals(quote!(self.dims));
        let params = self.param_locals();
        let (packed, unpacked) = self.packed_weights(prog);
        let own = self.own_buffers(prog);
        let widths = self.state_widths();
        let n_states = self.decls.states.len();
        let n_saved = 1 + n_states + self.plans.kept.len();
        let mut grads = TokenStream::new();
        for (k, p) in self.decls.params.iter().enumerate() {
            let (v, name) = (format_ident!("__gp{}", k), &p.name);
            let msg = format!("gradient `{}` is not contiguous", name);
            grads.extend(quote! {
                let #v = grads.#name.as_slice_mut().ok_or_else(|| __rt::RnnError::Invalid(__rt::String::from(#msg)))?;
            });
        }
        let mut trace_bufs = TokenStream::new();
        for k in 0..n_states {
            let h = format_ident!("__hist{}", k);
            let idx = 1 + k;
            trace_bufs.extend(quote!(let #h: &[F] = &trace.saved[#idx];));
        }
        for s in 0..self.plans.kept.len() {
            let v = buf_name(Buf::Saved(s));
            let idx = 1 + n_states + s;
            trace_bufs.extend(quote!(let #v: &[F] = &trace.saved[#idx];));
        }
        let mut seeds = TokenStream::new();
        let mut swaps = TokenStream::new();
        let mut d_init = TokenStream::new();
        for (k, s) in self.decls.states.iter().enumerate() {
            let (sd, sn) = (format_ident!("__seed{}", k), format_ident!("__seednext{}", k));
            let w = dim(s.shape[0]);
            seeds.extend(quote! {
                let mut #sd = ws.take(__b * #w);
                if !d_final.is_empty() {
                    let __df = d_final[#k].as_standard_layout();
                    #sd.copy_from_slice(__df.as_slice().expect("standard layout"));
                }
                let mut #sn = ws.take(__b * #w);
            });
            swaps.extend(quote!(__rt::core::mem::swap(&mut #sd, &mut #sn);));
            d_init.extend(quote! {
                input.d_init.push(__rt::array2(#sd, __b, #w));
                ws.give(#sn);
            });
        }
        let iw = dim(self.decls.inputs[0].shape[0]);
        // The adjoints that weight gradients read, copied step by step into
        // the layout of those products (see `PanelsA`).
        let panels = prog.weight_grad_panels(self.groups);
        let mut panel_bufs = TokenStream::new();
        let mut panel_puts = TokenStream::new();
        let mut panel_release = TokenStream::new();
        for (i, spec) in panels.iter().enumerate() {
            let pa = format_ident!("__pa{}", i);
            let (b, ld, w) = (buf_name(spec.dy.buf), dims(&spec.dy.ld), dim(spec.width));
            let off = offset(&spec.dy, Section::Body);
            let users = self.panel_users(prog, spec);
            let one_hot: Vec<&WeightGradItem> = users.iter().copied().filter(|w| self.looked_up(w)).collect();
            if one_hot.len() == users.len() {
                // Only one-hot inputs read these panels: none for ids.
                panel_bufs.extend(quote! {
                    let mut #pa = __rt::PanelsA::new_in(ws, if trace.one_hot { 0 } else { __t_len * __b }, #w);
                });
                panel_puts.extend(quote! {
                    if !trace.one_hot {
                        #pa.put_rows(__t * __b, &#b[#off..], #ld, __b);
                    }
                });
            } else {
                panel_bufs.extend(quote!(let mut #pa = __rt::PanelsA::new_in(ws, __t_len * __b, #w);));
                panel_puts.extend(quote!(#pa.put_rows(__t * __b, &#b[#off..], #ld, __b);));
            }
            panel_release.extend(quote!(ws.give(#pa.into_vec());));
            // One-hot input gradients: the step's rows summed per id now,
            // while they are in cache (nothing to do for dense inputs).
            for (j, w) in one_hot.into_iter().enumerate() {
                let (_, rows, cols) = self.grad_member(w);
                let sums = one_hot_sums_ident(i, j);
                panel_bufs.extend(quote!(let mut #sums = __rt::OneHotSums::new_in(ws, __xs0, #cols, #rows);));
                panel_puts.extend(quote!(#sums.add_rows(__xs0, __t * __b, &#b[#off..], #ld, __b);));
            }
        }
        panel_puts.extend(swaps);
        let run = self.run(prog, self.bwd_flow, true, panel_puts);
        let wgrads = self.weight_grads(prog, &panels);
        let own_names = (0..prog.own.len()).map(|b| buf_name(Buf::Own(b)));
        let dx_rows = if self.plans.one_hot_lookup {
            // The input-gradient products are skipped for one-hot ids.
            quote!(let __dx_rows = if trace.one_hot { 0 } else { __t_len * __b };)
        } else {
            quote!(let __dx_rows = __t_len * __b;)
        };
        let xs_bind = if self.plans.one_hot_lookup {
            quote!(let __xs0 = __rt::saved_input(trace);)
        } else {
            quote!(let __xs0: &[F] = &trace.saved[0];)
        };
        quote! {
            let (__t_len, __b) = (trace.len, trace.batch);
            #dims_l
            let __want = [__t_len, __b, <Self as __rt::Cell<F>>::output_size(self)];
            if d_out.shape() != __want {
                return __rt::core::result::Result::Err(__rt::RnnError::shape("d_out", &__want, d_out.shape()));
            }
            __rt::check_states("d_final", d_final, &#widths, __b)?;
            if grads.dims != self.dims {
                return __rt::core::result::Result::Err(__rt::RnnError::Invalid(__rt::String::from("gradient sizes differ from the cell's")));
            }
            if trace.saved.len() != #n_saved {
                return __rt::core::result::Result::Err(__rt::RnnError::Invalid(__rt::String::from("trace was not made by this cell's forward_train")));
            }
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
            #run
            #wgrads
            #panel_release
            // One-hot ids have no gradient.
            input.d_xs = if trace.one_hot {
                ws.give(__dxs0);
                __rt::array3(__rt::Vec::new(), 0, 0, 0)
            } else {
                __rt::array3(__dxs0, __t_len, __b, #iw)
            };
            #d_init
            #(ws.give(#own_names);)*
            #unpacked
            __rt::core::result::Result::Ok(())
        }
    }
}

/// The per-id sums of the `j`-th one-hot input gradient on panels `i`.
fn one_hot_sums_ident(i: usize, j: usize) -> Ident {
    format_ident!("__ohs{}_{}", i, j)
}
