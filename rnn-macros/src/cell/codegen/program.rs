//! [`Program`] -> statements: buffers, products and fused loops.
//!
//! Nothing is decided here; every choice was made by the scheduler. Buffers
//! are plain `Vec`s allocated before the time loop, so the loop allocates
//! nothing. Kernels index buffers directly (no slices held across a store),
//! so a kernel may read a state's history block t and write block t+1.

use crate::cell::flow::{Flow, Group, K, KOp, Leaf};
use crate::cell::ir::Dim;
use crate::cell::ir::Func;
use crate::cell::schedule::{Buf, Item, Kernel, Loc, Program, Section};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;
use std::collections::BTreeSet;

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

pub fn weight_slice(groups: &[Group], g: usize) -> TokenStream {
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
pub fn packed_name(group: usize, transposed: bool) -> Ident {
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

fn rows(sec: Section) -> TokenStream {
    if sec == Section::Body {
        quote!(__b)
    } else {
        quote!((__t_len * __b))
    }
}

pub struct Gen<'a> {
    pub flow: &'a Flow,
    pub groups: &'a [Group],
    pub prog: &'a Program,
    /// The input is the runtime's `InputRef` (values or one-hot ids), read
    /// only by products before the loop (`Plans::one_hot_lookup`).
    pub one_hot_lookup: bool,
}

impl Gen<'_> {
    pub fn items(&self, items: &[Item], sec: Section) -> TokenStream {
        let mut out = TokenStream::new();
        for item in items {
            out.extend(match item {
                Item::Gemm { group, a, c } => self.gemm(*group, a, c, sec, false),
                Item::GemmT { group, a, c } => self.gemm(*group, a, c, sec, true),
                Item::Kernel(k) => self.kernel(k, sec),
            });
        }
        out
    }

    fn gemm(&self, group: usize, a: &Loc, c: &Loc, sec: Section, transposed: bool) -> TokenStream {
        let g = &self.groups[group];
        let m = rows(sec);
        let r = dims(&g.rows);
        let cols = dim(g.cols);
        let w = weight_slice(self.groups, group);
        let (an, cn) = (buf_name(a.buf), buf_name(c.buf));
        let (ao, co) = (offset(a, sec), offset(c, sec));
        let (lda, ldc) = (dims(&a.ld), dims(&c.ld));
        if c.chunked {
            // The input projection of the next chunk of steps, at its first step.
            let pk = packed_name(group, false);
            let input = if self.one_hot_lookup {
                quote!(#an.rows(__t * __b, __rows, #lda))
            } else {
                quote!(__rt::InputRef::Dense(&#an[__t * __b * #lda..][..__rows * #lda]))
            };
            return quote! {
                if __t % __ch == 0 {
                    let __rows = __b * __ch.min(__t_len - __t);
                    __rt::input_product_packed(#input, __rows, &#pk, F::zero(), &mut #cn[..], #ldc);
                }
            };
        }
        if self.one_hot_lookup && matches!(a.buf, Buf::Xs(_)) {
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
        if self.one_hot_lookup && matches!(c.buf, Buf::DXs(_)) {
            // One-hot ids have no gradient.
            let body = call(quote!(&#an[#ao..]), quote!(&mut #cn[#co..]));
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
            let body = call(quote!(&#an[#ao..]), quote!(&mut #cn[#co..]));
            quote!(#body)
        }
    }

    fn sub_count(&self, n: K, base: Dim) -> usize {
        match self.flow.node(n).width {
            Some(w) => (w.coef / base.coef).max(1),
            None => 1,
        }
    }

    fn kernel(&self, k: &Kernel, sec: Section) -> TokenStream {
        let flow = self.flow;
        let base = k.base;
        let inline: std::collections::BTreeSet<K> = k.inline.iter().copied().collect();
        // Distinct locations touched, each with an offset variable per row.
        let mut locs: Vec<Loc> = Vec::new();
        let loc_id = |l: &Loc, locs: &mut Vec<Loc>| -> usize {
            match locs.iter().position(|x| x == l) {
                Some(i) => i,
                None => {
                    locs.push(l.clone());
                    locs.len() - 1
                }
            }
        };
        let mut reads: Vec<(K, usize)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<K> = k.inline.clone();
        stack.extend(k.targets.iter().map(|t| t.0));
        stack.extend(k.accums.iter().map(|a| a.0));
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if inline.contains(&n) {
                stack.extend(flow.args(n));
                continue;
            }
            if let Some(h) = &self.prog.homes[n.index()]
                && !matches!(h.buf, Buf::Param(_))
            {
                let id = loc_id(h, &mut locs);
                reads.push((n, id));
            }
        }
        let stores: Vec<(K, usize)> = k.targets.iter().map(|(n, l)| (*n, loc_id(l, &mut locs))).collect();
        let b = dim(base);
        // Every (location, sub-block) the loop touches becomes a slice of
        // exactly `b` elements bound once per row, so the inner loop indexes
        // with `__j < b` only and the compiler drops the bounds checks.
        let used: RefCell<BTreeSet<Chunk>> = RefCell::new(BTreeSet::new());
        let val = |n: K, s: usize| -> TokenStream {
            let node = flow.node(n);
            if let KOp::Leaf(Leaf::Const(c)) = node.op {
                return quote!(<F as __rt::Float>::from_f64c(#c));
            }
            if let KOp::Leaf(Leaf::Zero) = node.op {
                return quote!(F::zero());
            }
            if inline.contains(&n) {
                let v = format_ident!("__v{}_{}", n.index(), s);
                return quote!(#v);
            }
            let home = self.prog.homes[n.index()].as_ref().expect("stored value has a home");
            let sb = s * base.coef;
            let chunk = if let Buf::Param(p) = home.buf {
                Chunk::Param(p, sb)
            } else {
                Chunk::Loc(reads.iter().find(|r| r.0 == n).expect("read").1, sb)
            };
            used.borrow_mut().insert(chunk);
            let c = chunk.ident();
            quote!(#c[__j])
        };
        let mut lets = TokenStream::new();
        for &n in &k.inline {
            let node = flow.node(n);
            let args = flow.args(n);
            for s in 0..self.sub_count(n, base) {
                let v = format_ident!("__v{}_{}", n.index(), s);
                let e = match node.op {
                    KOp::Leaf(Leaf::Const(c)) => quote!(<F as __rt::Float>::from_f64c(#c)),
                    KOp::Leaf(_) => quote!(F::zero()),
                    KOp::Add => {
                        let (a, c) = (val(args[0], s), val(args[1], s));
                        quote!(#a + #c)
                    }
                    KOp::Sub => {
                        let (a, c) = (val(args[0], s), val(args[1], s));
                        quote!(#a - #c)
                    }
                    KOp::Mul => {
                        let (a, c) = (val(args[0], s), val(args[1], s));
                        quote!(#a * #c)
                    }
                    KOp::Neg => {
                        let a = val(args[0], s);
                        quote!(-#a)
                    }
                    KOp::Copy => val(args[0], s),
                    KOp::Func(f) => {
                        let a = val(args[0], s);
                        match f {
                            Func::Sigmoid => quote!(__rt::sigmoid(#a)),
                            Func::Tanh => quote!(__rt::tanh(#a)),
                            Func::Exp => quote!(__rt::exp(#a)),
                            Func::Relu => quote!({ let __x = #a; if __x > F::zero() { __x } else { F::zero() } }),
                            Func::Step => quote!(if #a > F::zero() { F::one() } else { F::zero() }),
                            Func::HardSigmoid => quote!(__rt::hard_sigmoid(#a)),
                            Func::HardSigmoidGrad => quote!(__rt::hard_sigmoid_grad(#a)),
                        }
                    }
                    KOp::Split { index, .. } => {
                        let m = self.sub_count(n, base);
                        val(args[0], index * m + s)
                    }
                    KOp::Concat { .. } => {
                        let m = self.sub_count(args[0], base);
                        val(args[s / m], s % m)
                    }
                    KOp::MatVec { .. } | KOp::MatVecT { .. } => unreachable!("products are stored"),
                };
                lets.extend(quote!(let #v: F = #e;));
            }
        }
        let mut writes = TokenStream::new();
        let mut written: BTreeSet<Buf> = BTreeSet::new();
        for (n, id) in &stores {
            written.insert(locs[*id].buf);
            for s in 0..self.sub_count(*n, base) {
                let chunk = Chunk::Loc(*id, s * base.coef);
                used.borrow_mut().insert(chunk);
                let (c, e) = (chunk.ident(), val(*n, s));
                writes.extend(quote!(#c[__j] = #e;));
            }
        }
        for (n, p) in &k.accums {
            for s in 0..self.sub_count(*n, base) {
                let chunk = Chunk::Grad(*p, s * base.coef);
                used.borrow_mut().insert(chunk);
                let (c, e) = (chunk.ident(), val(*n, s));
                writes.extend(quote!(#c[__j] += #e;));
            }
        }
        let used = used.into_inner();
        let offsets = locs.iter().enumerate().map(|(i, l)| {
            let o = format_ident!("__o{}", i);
            let off = offset(l, sec);
            let ld = dims(&l.ld);
            quote!(let #o = #off + __r * #ld;)
        });
        let slices = self.chunk_slices(&locs, &written, &used, &b);
        // The loop over one row is a function of its slices: a `&mut`
        // argument is known not to alias the others, which lets the compiler
        // vectorise a loop with many stores (a local slice would need a
        // run-time overlap check per pair, and it gives up).
        let stored: BTreeSet<usize> = stores.iter().map(|s| s.1).collect();
        let args: Vec<Ident> = used.iter().map(Chunk::ident).collect();
        let mut params = Vec::new();
        let mut reslice = TokenStream::new();
        for c in &used {
            let ident = c.ident();
            let mutable = match *c {
                Chunk::Loc(i, _) => stored.contains(&i),
                Chunk::Grad(..) => true,
                Chunk::Param(..) => false,
            };
            if mutable {
                params.push(quote!(#ident: &mut [F]));
                reslice.extend(quote!(let #ident = &mut #ident[..__n];));
            } else {
                params.push(quote!(#ident: &[F]));
                reslice.extend(quote!(let #ident = &#ident[..__n];));
            }
        }
        let nrows = rows(sec);
        // The rows are split in two halves (one per thread, when there are
        // two): each written buffer is reached through a cursor per half,
        // and the second half sums gradients into a buffer of its own that
        // is added in afterwards. Where the rows split depends only on the
        // shape, so results do not depend on the thread count.
        // Values a row reads and writes, for the split decision.
        let n_chunks = used.len();
        let written_bufs: Vec<Buf> = written
            .iter()
            .copied()
            .filter(|buf| locs.iter().any(|l| l.buf == *buf))
            .collect();
        let grads: Vec<usize> = used
            .iter()
            .filter_map(|c| if let Chunk::Grad(p, _) = c { Some(*p) } else { None })
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect();
        let cursors = written_bufs.iter().map(|buf| {
            let name = buf_name(*buf);
            let ld = dims(&locs.iter().find(|l| l.buf == *buf).expect("written location").ld);
            let (c0, c1) = (cursor_ident(*buf, 0), cursor_ident(*buf, 1));
            quote!(let [#c0, #c1] = __rt::RowBlocks::new(&mut #name[..], #ld, #nrows).halves(__mid);)
        });
        let cur_params = written_bufs.iter().map(|buf| {
            let c = cursor_ident(*buf, 0);
            quote!(mut #c: __rt::RowCursor<'_, F>)
        });
        let grad_params = grads.iter().map(|p| {
            let g = format_ident!("__gl{}", p);
            quote!(#g: &mut [F])
        });
        let acc_take = grads.iter().map(|p| {
            let (a, g) = (format_ident!("__acc{}", p), format_ident!("__gp{}", p));
            quote!(let mut #a = ws.take(if __split { #g.len() } else { 0 });)
        });
        let acc_add = grads.iter().map(|p| {
            let (a, g) = (format_ident!("__acc{}", p), format_ident!("__gp{}", p));
            quote! {
                for (__g, __a) in #g.iter_mut().zip(&#a) {
                    *__g += *__a;
                }
                ws.give(#a);
            }
        });
        // Half `h`'s arguments: its cursors, then the gradients it sums into
        // (the gradients themselves for the first half, its own buffers for
        // the second).
        let half_args = |h: usize| -> Vec<TokenStream> {
            let prefix = if h == 0 { "__gp" } else { "__acc" };
            written_bufs
                .iter()
                .map(|b| {
                    let c = cursor_ident(*b, h);
                    quote!(#c)
                })
                .chain(grads.iter().map(|p| {
                    let g = format_ident!("{}{}", prefix, p);
                    quote!(&mut #g[..])
                }))
                .collect()
        };
        let (first, second) = (half_args(0), half_args(1));
        quote! {
            {
                #[inline(always)]
                fn __row<F: __rt::Float>(__n: ::core::primitive::usize, #(#params),*) {
                    #reslice
                    for __j in 0..__n {
                        #lets
                        #writes
                    }
                }
                let __mid = __rt::row_split(#nrows, #n_chunks * #b);
                let __split = __mid < #nrows;
                #(#cursors)*
                #(#acc_take)*
                {
                    let __run = |__r0: ::core::primitive::usize, __r1: ::core::primitive::usize, #(#cur_params,)* #(#grad_params),*| {
                        __rt::simd(#[inline(always)] || {
                            for __r in __r0..__r1 {
                                #(#offsets)*
                                #slices
                                __row::<F>(#b, #(#args),*);
                            }
                        });
                    };
                    __rt::join(__split, || __run(0, __mid, #(#first),*), || __run(__mid, #nrows, #(#second),*));
                }
                #(#acc_add)*
            }
        }
    }

    /// Binds every chunk in `used` to a slice of `b` elements for row `__r`.
    /// Locations in a buffer the kernel writes come from that buffer's row
    /// cursor (which panics if two would overlap or leave the row); read-only
    /// buffers and parameters are plain shared slices; gradients come from
    /// the half's own gradient buffer `__glP`.
    fn chunk_slices(
        &self,
        locs: &[Loc],
        written: &BTreeSet<Buf>,
        used: &BTreeSet<Chunk>,
        b: &TokenStream,
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
            let ranges = ids.iter().map(|&i| {
                let (o, n) = (format_ident!("__o{}", i), span_loc(i).unwrap_or(1));
                quote!((#o, #n * #b))
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
                    b,
                    |sb| Chunk::Loc(i, sb),
                    used,
                ));
            }
        }
        let grads: BTreeSet<usize> = used
            .iter()
            .filter_map(|c| if let Chunk::Grad(p, _) = c { Some(*p) } else { None })
            .collect();
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
                    let (name, o) = (buf_name(locs[i].buf), format_ident!("__o{}", i));
                    out.extend(quote!(let #ident: &[F] = &#name[#o + #sb * #b..][..#b];));
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
}

/// The cursor over a written buffer's rows for half `h` of a kernel's rows.
fn cursor_ident(buf: Buf, h: usize) -> Ident {
    let name = buf_name(buf).to_string();
    format_ident!("__cur_{}_{}", name.trim_start_matches('_'), h)
}

/// A slice of `b` elements one kernel row reads or writes: sub-block `sb`
/// (in units of `b`) of location `id`, of a parameter, or of a parameter's gradient.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Chunk {
    Loc(usize, usize),
    Param(usize, usize),
    Grad(usize, usize),
}

impl Chunk {
    fn sub(&self) -> usize {
        match *self {
            Chunk::Loc(_, s) | Chunk::Param(_, s) | Chunk::Grad(_, s) => s,
        }
    }

    fn ident(&self) -> Ident {
        match *self {
            Chunk::Loc(i, s) => format_ident!("__c{}_{}", i, s),
            Chunk::Param(p, s) => format_ident!("__q{}_{}", p, s),
            Chunk::Grad(p, s) => format_ident!("__g{}_{}", p, s),
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
