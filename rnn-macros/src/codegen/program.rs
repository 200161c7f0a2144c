//! [`Program`] -> statements: buffers, products and fused loops.
//!
//! Nothing is decided here; every choice was made by the scheduler. Buffers
//! are plain `Vec`s allocated before the time loop, so the loop allocates
//! nothing. Kernels index buffers directly (no slices held across a store),
//! so a kernel may read a state's history block t and write block t+1.

use crate::flow::{Flow, Group, K, KOp, Leaf};
use crate::graph::Func;
use crate::schedule::{Buf, Item, Kernel, Loc, Program, Section};
use crate::shape::Dim;
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

pub fn weight_slice(groups: &[Group], g: usize) -> TokenStream {
    if groups[g].weights.len() > 1 {
        let w = format_ident!("__w{}", g);
        quote!(&#w[..])
    } else {
        let p = format_ident!("__p{}", groups[g].weights[0]);
        quote!(#p)
    }
}

/// First row of `loc` for the current step (body) or for all steps (pre/post).
fn row0(loc: &Loc, sec: Section) -> TokenStream {
    let block = if loc.all_steps && sec == Section::Body {
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
        let call = |a_slice: TokenStream, c_slice: TokenStream| {
            if transposed {
                quote!(__rt::gemm_nn(#m, #cols, #r, #a_slice, #lda, #w, #cols, F::zero(), #c_slice, #ldc);)
            } else {
                quote!(__rt::gemm_nt(#m, #r, #cols, #a_slice, #lda, #w, #cols, F::zero(), #c_slice, #ldc);)
            }
        };
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
            if let Some(h) = &self.prog.homes[n.index()] {
                if !matches!(h.buf, Buf::Param(_)) {
                    let id = loc_id(h, &mut locs);
                    reads.push((n, id));
                }
            }
        }
        let stores: Vec<(K, usize)> = k.targets.iter().map(|(n, l)| (*n, loc_id(l, &mut locs))).collect();
        let b = dim(base);
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
            if let Buf::Param(p) = home.buf {
                let p = format_ident!("__p{}", p);
                return quote!(#p[#sb * #b + __j]);
            }
            let id = reads.iter().find(|r| r.0 == n).expect("read").1;
            let (o, name) = (format_ident!("__o{}", id), buf_name(home.buf));
            quote!(#name[#o + #sb * #b + __j])
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
                            Func::Tanh => quote!(<F as __rt::num_traits::Float>::tanh(#a)),
                            Func::Exp => quote!(<F as __rt::num_traits::Float>::exp(#a)),
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
        for (n, id) in &stores {
            let l = &locs[*id];
            let (o, name) = (format_ident!("__o{}", id), buf_name(l.buf));
            for s in 0..self.sub_count(*n, base) {
                let sb = s * base.coef;
                let e = val(*n, s);
                writes.extend(quote!(#name[#o + #sb * #b + __j] = #e;));
            }
        }
        for (n, p) in &k.accums {
            let g = format_ident!("__gp{}", p);
            for s in 0..self.sub_count(*n, base) {
                let sb = s * base.coef;
                let e = val(*n, s);
                writes.extend(quote!(#g[#sb * #b + __j] += #e;));
            }
        }
        let offsets = locs.iter().enumerate().map(|(i, l)| {
            let o = format_ident!("__o{}", i);
            let off = offset(l, sec);
            let ld = dims(&l.ld);
            quote!(let #o = #off + __r * #ld;)
        });
        let nrows = rows(sec);
        quote! {
            for __r in 0..#nrows {
                #(#offsets)*
                for __j in 0..#b {
                    #lets
                    #writes
                }
            }
        }
    }
}
