//! What the bodies of the generated methods share: [`Ctx`], the locals
//! every body binds (sizes, parameters, packed weights, buffers), the time
//! loop that runs a program's items over the packed rows of each step, and
//! the states before each step gathered for the products over all steps.

use super::gemm::{self, loop_packs};
use super::kernel::{self, Access};
use super::tokens::{buf_name, dim, dim_field, dims, prev_states};
use crate::cell::flow::Flow;
use crate::cell::ir::{Decls, View};
use crate::cell::schedule::{Buf, Item, Loc, Plans, Program, Section};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::BTreeSet;

/// Everything codegen reads: the cell's declarations and its schedule.
pub struct Ctx<'a> {
    pub decls: &'a Decls,
    pub plans: &'a Plans,
}

impl Ctx<'_> {
    /// `let __dK = ...;` for every dimension, read from `recv` (`self.dims` or `dims`).
    pub fn dim_locals(&self, recv: TokenStream) -> TokenStream {
        let mut out = TokenStream::new();
        for (i, (name, fixed)) in self.decls.dims.iter().enumerate() {
            let v = format_ident!("__d{}", i);
            match fixed {
                Some(n) => out.extend(quote!(let #v = #n;)),
                None => {
                    let f = dim_field(name);
                    out.extend(quote!(let #v = #recv.#f;));
                }
            }
        }
        out
    }

    pub fn param_locals(&self) -> TokenStream {
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
    pub fn packed_weights(&self, prog: &Program) -> (TokenStream, TokenStream) {
        let mut out = TokenStream::new();
        let mut release = TokenStream::new();
        // Column blocks of `w @ concat(..)` matrices, each copied out once
        // per call and then read as a weight of its own (`__pW`).
        for (w, v) in self.views() {
            let (buf, pv, pw) = (
                format_ident!("__vw{}", w),
                format_ident!("__p{}", w),
                format_ident!("__p{}", v.param),
            );
            let (rows, cols, col0, ld) = self.view_layout(v);
            let copy = if v.transposed {
                quote!(__rt::copy_transposed(&mut #buf, #pw, #rows, #cols);)
            } else {
                quote!(__rt::copy_cols(&mut #buf, #pw, #ld, #col0, #cols);)
            };
            out.extend(quote! {
                let mut #buf = ws.take_dirty(#rows * #cols);
                #copy
                let #pv: &[F] = &#buf;
            });
            release.extend(quote!(ws.give(#buf);));
        }
        for &g in &prog.packed_groups {
            let grp = &self.plans.groups[g];
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

    /// Each view's weight number and the view (see [`crate::cell::ir::View`]).
    pub fn views(&self) -> impl Iterator<Item = (usize, View)> + '_ {
        let n = self.decls.params.len();
        self.decls.views.iter().enumerate().map(move |(j, v)| (n + j, *v))
    }

    /// A view's rows and columns in its matrix, its first column and the
    /// matrix's row length (a transposed view: the matrix's rows and
    /// columns, all of them).
    pub fn view_layout(&self, v: View) -> (TokenStream, TokenStream, TokenStream, TokenStream) {
        let p = &self.decls.params[v.param];
        if v.transposed {
            let cols = dim(p.shape[1]);
            return (dim(p.shape[0]), cols.clone(), quote!(0usize), cols);
        }
        (
            dim(p.shape[0]),
            dim(p.parts[v.part]),
            dims(&p.parts[..v.part]),
            dims(&p.parts),
        )
    }

    pub fn own_buffers(&self, prog: &Program) -> TokenStream {
        let mut out = TokenStream::new();
        for (i, b) in prog.own.iter().enumerate() {
            let v = buf_name(Buf::Own(i));
            let w = dims(&b.width);
            let rows = if b.chunked {
                quote!(__ch * __b)
            } else if b.all_steps {
                quote!(__nrows)
            } else {
                quote!(__b)
            };
            // Every element is stored before it is read (NaN in debug builds proves it).
            out.extend(quote!(let mut #v = ws.take_dirty(#rows * #w);));
        }
        out
    }

    /// The program's `pre` items, the time loop over its `body` items (steps
    /// in reverse for the backward) with `after_step` at the end of each step,
    /// and its `post` items, between `views` (see [`Ctx::prev_state_views`]);
    /// `flow` is the flow the program runs. Each step runs its own rows:
    /// `__bt` of them from packed row `__off`.
    pub fn run(
        &self,
        prog: &Program,
        flow: &Flow,
        reverse: bool,
        after_step: TokenStream,
        views: (TokenStream, TokenStream),
    ) -> TokenStream {
        let (packs, unpack) = loop_packs(&self.plans.groups, &prog.body);
        let facts = kernel::Facts::of(flow, &self.plans.fwd_flow, self.decls);
        let pre = self.items(flow, &facts, prog, &prog.pre, Section::Pre);
        let body = self.items(flow, &facts, prog, &prog.body, Section::Body);
        let post = self.items(flow, &facts, prog, &prog.post, Section::Post);
        let (make_views, give_views) = views;
        let chunked = prog
            .body
            .iter()
            .any(|it| matches!(it, Item::Gemm { c, .. } if c.chunked));
        let chunk_start = if chunked {
            quote!(let mut __choff = 0usize;)
        } else {
            TokenStream::new()
        };
        let step = if reverse {
            quote! {
                let mut __off = __nrows;
                for __t in (0..__t_len).rev() {
                    let __bt = __steps.size(__t);
                    __off -= __bt;
                    let __hoff = __steps.prev_state_row(__t, __off);
                    #body
                    #after_step
                }
            }
        } else {
            quote! {
                let mut __off = 0usize;
                #chunk_start
                for __t in 0..__t_len {
                    let __bt = __steps.size(__t);
                    let __hoff = __steps.prev_state_row(__t, __off);
                    #body
                    #after_step
                    __off += __bt;
                }
            }
        };
        quote! {
            #packs
            #pre
            #step
            #make_views
            #post
            #give_views
            #unpack
        }
    }

    /// The states whose values before each step are read over all steps
    /// at once (before or after the loop, or by a weight gradient), and the
    /// statements that gather them into packed rows (`__hvK`) and give
    /// their memory back.
    pub fn prev_state_views(&self, prog: &Program, flow: &Flow) -> (TokenStream, TokenStream) {
        let mut states = BTreeSet::new();
        let mut see = |l: &Loc, sec: Section| {
            if let (Buf::Hist(k), true) = (l.buf, prev_states(l, sec)) {
                states.insert(k);
            }
        };
        for (items, sec) in [(&prog.pre, Section::Pre), (&prog.post, Section::Post)] {
            for item in items {
                match item {
                    Item::Gemm { a, c, .. } | Item::GemmT { a, c, .. } => {
                        see(a, sec);
                        see(c, sec);
                    }
                    Item::Kernel(k) => Access::of(flow, &prog.homes, k).locs.iter().for_each(|l| see(l, sec)),
                }
            }
        }
        for w in &prog.weight_grads {
            see(&w.operand, Section::Post);
            see(&w.dy, Section::Post);
        }
        let (mut make, mut give) = (TokenStream::new(), TokenStream::new());
        for k in states {
            let (h, v, vh) = (
                format_ident!("__hist{}", k),
                format_ident!("__hv{}", k),
                format_ident!("__hvh{}", k),
            );
            let w = dim(self.decls.states[k].shape[0]);
            make.extend(quote! {
                let #vh = __rt::PrevStates::new(ws, &#h[..], #w, __steps);
                let #v: &[F] = #vh.as_slice();
            });
            give.extend(quote!(#vh.give(ws);));
        }
        (make, give)
    }

    /// The statements of `items`, one section of `prog`.
    fn items(&self, flow: &Flow, facts: &kernel::Facts, prog: &Program, items: &[Item], sec: Section) -> TokenStream {
        let (groups, one_hot) = (&self.plans.groups, self.plans.one_hot_lookup);
        let mut out = TokenStream::new();
        for item in items {
            out.extend(match item {
                Item::Gemm { group, a, c } => gemm::product(groups, one_hot, *group, a, c, sec, false),
                Item::GemmT { group, a, c } => gemm::product(groups, one_hot, *group, a, c, sec, true),
                Item::Kernel(k) => kernel::fused(flow, facts, &prog.homes, k, sec),
            });
        }
        out
    }

    /// `[#w0, #w1, ..]`: the state widths, for shape checks without a `Vec`.
    /// `check_dims(..)?;`: every size read from `self.dims` at least 1
    /// (fixed sizes are checked by the cell compiler).
    pub fn dims_check(&self) -> TokenStream {
        let name = self.decls.name.to_string();
        let pairs = self
            .decls
            .dims
            .iter()
            .filter(|(_, fixed)| fixed.is_none())
            .map(|(n, _)| {
                let f = dim_field(n);
                let s = f.to_string();
                quote!((#s, self.dims.#f))
            });
        quote!(__rt::check_dims(#name, &[#(#pairs),*])?;)
    }

    /// The tag of this cell's traces: its type and the sizes in `self.dims`
    /// (see `rnn_runtime::cell::trace_tag`).
    pub fn trace_tag(&self) -> TokenStream {
        let fields = self
            .decls
            .dims
            .iter()
            .filter(|(_, fixed)| fixed.is_none())
            .map(|(n, _)| dim_field(n));
        quote!(__rt::trace_tag::<Self>(&[#(self.dims.#fields),*]))
    }

    /// The shape of every buffer a training pass saves, in the order it
    /// saves them (input, state histories, kept buffers), as `(rows,
    /// width)` with `rows` an `Option<usize>` (`None` on overflow) from
    /// `__nrows`, `__b` and `__ch`; and whether `__ch` is read.
    pub fn saved_shapes(&self) -> (Vec<TokenStream>, bool) {
        let some = |v: TokenStream| quote!(::core::option::Option::Some(#v));
        let iw = dims(&self.decls.input_widths());
        let all = some(quote!(__nrows));
        let mut out = Vec::new();
        out.push(if self.plans.one_hot_lookup {
            // One-hot ids are kept apart: the input buffer is empty.
            let none = some(quote!(0));
            quote!((if trace.one_hot { #none } else { #all }, #iw))
        } else {
            quote!((#all, #iw))
        });
        for s in &self.decls.states {
            let w = dim(s.shape[0]);
            out.push(quote!((__nrows.checked_add(__b), #w)));
        }
        let mut chunked = false;
        for &k in &self.plans.kept {
            let b = &self.plans.train.own[k];
            let rows = if b.chunked {
                chunked = true;
                quote!(__ch.checked_mul(__b))
            } else if b.all_steps {
                all.clone()
            } else {
                some(quote!(__b))
            };
            let w = dims(&b.width);
            out.push(quote!((#rows, #w)));
        }
        (out, chunked)
    }

    pub fn state_widths(&self) -> TokenStream {
        let ws = self.decls.states.iter().map(|s| dim(s.shape[0]));
        quote!([#(#ws),*])
    }
}
