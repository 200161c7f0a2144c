//! One fused elementwise kernel ([`Kernel`]) -> a loop over rows.
//!
//! The loop over one row is a function `__row` of the slices it touches,
//! each exactly `b` (the kernel's base width) elements long, so the inner
//! loop indexes with `__j < b` only and the compiler drops the bounds checks;
//! a `&mut` argument is known not to alias the others, which lets the
//! compiler vectorise a loop with many stores. The rows are split in two
//! halves (one per thread, when there are two). Nothing is decided here: the
//! kernel's values, stores and sums were chosen by the scheduler.
//!
//! The loop covers the step's rows (`__bt`: the sequences still running)
//! or, before and after the time loop, the rows of all steps.
//!
//! Names in the emitted loop: a value computed in the loop has the name the
//! user gave it (`gates_S` per sub-block, `c_new` for a state's new value,
//! `d_c_new` for its adjoint; see `Flow::value_names`), and a slice of
//! `__row` the name of what it holds (`c`, `sigmoid_o`, `bias_ih_S`;
//! `c_new_out` where the loop stores a value it computed, `d_bias_ih_S`
//! for a gradient; see `Row::slice`). Outside `__row`: `__oI` the row
//! offset of location I, `__cI_S` sub-block S of location I, `__qP_S` of
//! parameter P, `__gP_S` of the gradient of parameter P, `__cur_*` the row
//! cursors of a written buffer. A named value no line of the cell defines
//! (an adjoint) is preceded by what it is (`d_o = d_sigmoid_o * sigmoid_o
//! * (1.0 - sigmoid_o)`).

use super::slices::{Chunk, Halves, chunk_slices};
use super::tokens::{dim, dims, offset, rows};
use crate::cell::flow::{Flow, K, KOp, Leaf};
use crate::cell::ir::{Decls, Dim, Func};
use crate::cell::schedule::{Buf, Kernel, Loc, Section};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// What the kernels of one flow share, worked out once per program: each
/// value's identifier ([`Flow::value_names`]) and whether it is the same
/// in every column of a row ([`Flow::row_constants`]).
pub struct Facts {
    names: Vec<String>,
    /// Every identifier the values' names take (see [`Flow::value_names_taken`]).
    taken: BTreeSet<String>,
    /// Each parameter's name and width (in units of its dimension), by
    /// parameter index.
    params: Vec<(String, usize)>,
    /// The name of each parameter read as a value of the flow.
    param_values: BTreeMap<usize, String>,
    row_const: Vec<bool>,
}

impl Facts {
    /// The facts of `flow`, whose `Leaf::Fwd` values are those of `fwd`,
    /// of a cell that declares `decls`.
    pub fn of(flow: &Flow, fwd: &Flow, decls: &Decls) -> Facts {
        let (names, taken) = flow.value_names_taken();
        let params = decls
            .params
            .iter()
            .map(|p| (p.name.to_string(), p.shape.first().map_or(1, |d| d.coef)))
            .collect();
        let param_values = flow
            .g
            .node_indices()
            .filter_map(|n| match flow.node(n).op {
                KOp::Leaf(Leaf::Param(p)) => Some((p, names[n.index()].clone())),
                _ => None,
            })
            .collect();
        Facts {
            names,
            taken,
            params,
            param_values,
            row_const: flow.row_constants(&fwd.row_constants(&[])),
        }
    }
}

/// The statements of kernel `k` in section `sec`; `homes` are the program's.
pub fn fused(flow: &Flow, facts: &Facts, homes: &[Option<Loc>], k: &Kernel, sec: Section) -> TokenStream {
    let access = Access::of(flow, homes, k);
    let b = dim(k.base);
    let row = Row {
        flow,
        facts,
        homes,
        base: k.base,
        inline: k.inline.iter().copied().collect(),
        locs: &access.locs,
        reads: &access.reads,
        stores: &access.stores,
        used: RefCell::new(BTreeSet::new()),
        slices: RefCell::new(Slices::default()),
    };
    // What is one number per row (computed from stored sums and numbers
    // alone) is computed once, before the columns.
    let (per_row, per_column): (Vec<K>, Vec<K>) = k
        .inline
        .iter()
        .partition(|&&n| facts.row_const[n.index()] && !flow.is_reduction(n));
    let row_lets = row.lets(&per_row);
    let lets = row.lets(&per_column);
    let (writes, row_writes, mut written) = row.writes(&access, &k.accums, false);
    let sums = row.reductions(&k.inline);
    let (sum_writes, sum_row_writes, sum_written) = row.writes(&access, &k.accums, true);
    written.extend(sum_written);
    let used = row.used.take();
    let slice_names: Vec<Ident> = used.iter().map(|c| row.slice(*c)).collect();
    let offsets = access.locs.iter().enumerate().map(|(i, l)| {
        let o = format_ident!("__o{}", i);
        let off = offset(l, sec);
        let ld = dims(&l.ld);
        quote!(let #o = #off + __r * #ld;)
    });
    let slices = chunk_slices(&access.locs, &written, &used, &b, sec);
    let stored: BTreeSet<usize> = access.stores.iter().map(|s| s.1).collect();
    let args: Vec<Ident> = used.iter().map(Chunk::ident).collect();
    let (params, reslice, block) = row_params(&used, &slice_names, &stored, &access.locs);
    let sum_writes = if sum_writes.is_empty() {
        sum_writes
    } else {
        quote! {
            for __j in 0..__n {
                #sum_writes
            }
        }
    };
    let columns = if sums.is_empty() {
        quote! {
            for __j in 0..__n {
                #lets
                #writes
            }
        }
    } else {
        // A reduction's row is summed in the loop and written after it. The
        // columns run in blocks of `LANES`, each summing into its own lane,
        // so the sums vectorise (a single running sum would wait on every
        // addition); the last `__n % LANES` columns follow one by one.
        let Reductions {
            init,
            lanes,
            tail,
            finish,
        } = sums;
        quote! {
            const __LANES: ::core::primitive::usize = #LANES;
            #init
            let __full = __n - __n % __LANES;
            let mut __jb = 0;
            while __jb < __full {
                #block
                for __j in 0..__LANES {
                    #lets
                    #writes
                    #lanes
                }
                __jb += __LANES;
            }
            for __j in __full..__n {
                #lets
                #writes
                #tail
            }
            #finish
            #sum_row_writes
            #sum_writes
        }
    };
    let nrows = rows(sec);
    let n_chunks = used.len();
    let halves = Halves::of(&access.locs, &written, &used);
    let cursors = halves.cursors(&access.locs, &nrows, sec);
    let (cur_params, grad_params) = (halves.cursor_params(), halves.grad_params());
    let (acc_take, acc_add) = (halves.acc_take(), halves.acc_add());
    let (first, second) = (halves.args(0), halves.args(1));
    quote! {
        {
            #[inline(always)]
            fn __row<F: __rt::Float>(__n: ::core::primitive::usize, #(#params),*) {
                #reslice
                #row_lets
                #row_writes
                #columns
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

/// The distinct locations a kernel touches, in first-touch order: those of
/// the stored values its inline values read, then those it stores to.
pub struct Access {
    pub locs: Vec<Loc>,
    /// Stored value -> index of its location in `locs` (parameters excluded).
    reads: Vec<(K, usize)>,
    /// Target value -> index of the location it is stored to.
    stores: Vec<(K, usize)>,
}

impl Access {
    pub fn of(flow: &Flow, homes: &[Option<Loc>], k: &Kernel) -> Access {
        let inline: BTreeSet<K> = k.inline.iter().copied().collect();
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
        let mut seen = BTreeSet::new();
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
            if let Some(h) = &homes[n.index()]
                && !matches!(h.buf, Buf::Param(_))
            {
                let id = loc_id(h, &mut locs);
                reads.push((n, id));
            }
        }
        let stores: Vec<(K, usize)> = k.targets.iter().map(|(n, l)| (*n, loc_id(l, &mut locs))).collect();
        Access { locs, reads, stores }
    }
}

/// The body of the loop over one row's `b` columns: values computed inline
/// under their names, stored ones read from their chunk. Records every
/// chunk it names in `used`.
struct Row<'a> {
    flow: &'a Flow,
    facts: &'a Facts,
    homes: &'a [Option<Loc>],
    base: Dim,
    inline: BTreeSet<K>,
    /// The kernel's locations ([`Access::locs`]).
    locs: &'a [Loc],
    reads: &'a [(K, usize)],
    stores: &'a [(K, usize)],
    used: RefCell<BTreeSet<Chunk>>,
    slices: RefCell<Slices>,
}

/// The name of each chunk inside `__row`, and the names made for chunks
/// (beside those the values take, [`Facts`]).
#[derive(Default)]
struct Slices {
    names: BTreeMap<Chunk, Ident>,
    made: BTreeSet<String>,
}

impl Row<'_> {
    /// The name of chunk `c` inside `__row`: the name of the value it
    /// holds where the kernel reads it (`c`, `sigmoid_o`, `bias_ih_2`), so
    /// a line reads like the equation; `c_new_out` where the kernel only
    /// stores a value it computed (whose name its `let` has); `d_bias_ih`
    /// for a parameter's gradient. Unique among the values' names.
    fn slice(&self, c: Chunk) -> Ident {
        if let Some(id) = self.slices.borrow().names.get(&c) {
            return id.clone();
        }
        // A row scalar's one value has no sub-blocks.
        let part = |id: usize, n: Option<K>, sb: usize| match n {
            Some(n) if self.sub_count(n) > 1 && !self.locs[id].is_row_scalar() => Some(sb / self.base.coef),
            _ => None,
        };
        // A parameter's values read under their name in the flow (unique);
        // a name made for it otherwise must not be taken.
        let param = |p: usize| match self.facts.param_values.get(&p) {
            Some(name) => (Some(name.clone()), true),
            None => (Some(self.facts.params[p].0.clone()), false),
        };
        let param_part = |p: usize, sb: usize| (self.facts.params[p].1 > self.base.coef).then_some(sb / self.base.coef);
        let (base, sub, own) = match c {
            Chunk::Loc(id, sb) => match self.reads.iter().find(|r| r.1 == id) {
                Some(&(n, _)) => (Some(self.facts.names[n.index()].clone()), part(id, Some(n), sb), true),
                None => {
                    let n = self.stores.iter().find(|r| r.1 == id).map(|r| r.0);
                    (
                        n.map(|n| format!("{}_out", self.facts.names[n.index()])),
                        part(id, n, sb),
                        false,
                    )
                }
            },
            Chunk::Param(p, sb) => {
                let (name, own) = param(p);
                (name, param_part(p, sb), own)
            }
            Chunk::ScalarParam(p) => {
                let (name, own) = param(p);
                (name, None, own)
            }
            Chunk::Grad(p, sb) => (Some(format!("d_{}", self.facts.params[p].0)), param_part(p, sb), false),
            Chunk::ScalarGrad(p) => (Some(format!("d_{}", self.facts.params[p].0)), None, false),
        };
        let mut slices = self.slices.borrow_mut();
        let id = match base {
            None => c.ident(),
            Some(base) => {
                let spell = |b: &str| match sub {
                    Some(s) => format!("{b}_{s}"),
                    None => b.to_string(),
                };
                // A value's own name is its own (only this chunk holds
                // it); a made-up one must not be taken.
                let taken = |n: &str| self.facts.taken.contains(n) || slices.made.contains(n);
                let mut name = base.clone();
                let mut k = 2;
                while !own && taken(&spell(&name)) {
                    name = format!("{base}{k}");
                    k += 1;
                }
                let name = spell(&name);
                slices.made.insert(name.clone());
                format_ident!("{}", name)
            }
        };
        slices.names.insert(c, id.clone());
        id
    }

    /// How many sub-blocks of the base width value `n` spans.
    fn sub_count(&self, n: K) -> usize {
        match self.flow.node(n).width {
            Some(w) => (w.coef / self.base.coef).max(1),
            None => 1,
        }
    }

    /// The identifier of value `n` computed in the loop (its name, see
    /// [`Flow::value_names`]), of its sub-block `s` when it spans several.
    fn ident(&self, n: K, s: Option<usize>) -> Ident {
        let name = &self.facts.names[n.index()];
        match s {
            Some(s) if self.sub_count(n) > 1 => format_ident!("{}_{}", name, s),
            _ => format_ident!("{}", name),
        }
    }

    /// Sub-block `s` of value `n`, as an expression.
    fn val(&self, n: K, s: usize) -> TokenStream {
        let node = self.flow.node(n);
        if let KOp::Leaf(Leaf::Const(c)) = node.op {
            return quote!(<F as __rt::Float>::from_f64c(#c));
        }
        if let KOp::Leaf(Leaf::Zero) = node.op {
            return quote!(F::zero());
        }
        if self.inline.contains(&n) {
            let v = if self.flow.is_reduction(n) {
                self.ident(n, None)
            } else {
                self.ident(n, Some(s))
            };
            return quote!(#v);
        }
        let home = self.homes[n.index()].as_ref().expect("stored value has a home");
        let sb = s * self.base.coef;
        let chunk = if let (Buf::Param(p), None) = (home.buf, node.width) {
            self.used.borrow_mut().insert(Chunk::ScalarParam(p));
            let c = self.slice(Chunk::ScalarParam(p));
            return quote!(#c[0]);
        } else if let Buf::Param(p) = home.buf {
            Chunk::Param(p, sb)
        } else {
            let id = self.reads.iter().find(|r| r.0 == n).expect("read").1;
            Chunk::Loc(id, if self.locs[id].is_row_scalar() { 0 } else { sb })
        };
        self.used.borrow_mut().insert(chunk);
        let c = self.slice(chunk);
        if self.facts.row_const[n.index()] || chunk.is_one_value(self.locs) {
            // Every column holds the same number (a row's sum, or what is
            // computed from sums alone): read one, and the compiler sees a
            // value the loop does not change and lifts out of it what
            // depends on it alone, such as a normalisation's `sqrt`.
            return quote!(#c[0]);
        }
        quote!(#c[__j])
    }

    /// `let name: F = ...;` (or `name_S` per sub-block) for every inline
    /// value, in evaluation order.
    fn lets(&self, inline: &[K]) -> TokenStream {
        let mut lets = TokenStream::new();
        for &n in inline {
            let node = self.flow.node(n);
            let args = self.flow.args(n);
            if self.flow.is_reduction(n) {
                continue; // summed by `reductions`
            }
            if let KOp::Leaf(Leaf::Const(_) | Leaf::Zero) = node.op {
                continue; // written where used (see `val`)
            }
            if let Some(eq) = &self.flow.equations[n.index()] {
                // The line of the cell this value implements, above it.
                let eq = format!(" {eq}");
                lets.extend(quote!(#[doc = #eq]));
            } else if self.flow.names[n.index()].is_some() && !matches!(node.op, KOp::Split { .. }) {
                // A named value no line defines (an adjoint): what it is,
                // in the names of the values it is computed from.
                let eq = format!(" {} = {}", self.facts.names[n.index()], self.spelled(n, true).0);
                lets.extend(quote!(#[doc = #eq]));
            }
            for s in 0..self.sub_count(n) {
                let v = self.ident(n, Some(s));
                let e = match node.op {
                    KOp::Leaf(Leaf::Const(c)) => quote!(<F as __rt::Float>::from_f64c(#c)),
                    KOp::Leaf(_) => quote!(F::zero()),
                    KOp::Add => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        quote!(#a + #c)
                    }
                    KOp::Sub => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        quote!(#a - #c)
                    }
                    KOp::Mul => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        quote!(#a * #c)
                    }
                    KOp::Div => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        if self.facts.row_const[args[1].index()] && !self.facts.row_const[args[0].index()] {
                            // One division per row, lifted out of the loop,
                            // and a product per column.
                            quote!(#a * (F::one() / #c))
                        } else {
                            quote!(#a / #c)
                        }
                    }
                    KOp::Max => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        quote!(__rt::maximum(#a, #c))
                    }
                    KOp::Min => {
                        let (a, c) = (self.val(args[0], s), self.val(args[1], s));
                        quote!(__rt::minimum(#a, #c))
                    }
                    KOp::Neg => {
                        let a = self.val(args[0], s);
                        quote!(-#a)
                    }
                    KOp::Copy => self.val(args[0], s),
                    KOp::Func(f) => func(f, self.val(args[0], s)),
                    KOp::Split { index, .. } => {
                        let m = self.sub_count(n);
                        self.val(args[0], index * m + s)
                    }
                    KOp::Concat { .. } => {
                        let m = self.sub_count(args[0]);
                        self.val(args[s / m], s % m)
                    }
                    KOp::MatVec { .. } | KOp::MatVecT { .. } => unreachable!("products are stored"),
                    KOp::Sum { .. } => unreachable!("reductions are summed apart"),
                };
                lets.extend(quote!(let #v: F = #e;));
            }
        }
        lets
    }

    /// Value `n` written out (with its precedence: 1 sums, 2 products, 3
    /// atoms), the unnamed values this kernel computes expanded in place,
    /// every other value by its name; `top` expands `n` itself.
    fn spelled(&self, n: K, top: bool) -> (String, u8) {
        let node = self.flow.node(n);
        match node.op {
            KOp::Leaf(Leaf::Const(c)) => return (crate::cell::ast::format_number(c), 3),
            KOp::Leaf(Leaf::Zero) => return ("0".into(), 3),
            _ => {}
        }
        if !top && (!self.inline.contains(&n) || self.flow.names[n.index()].is_some()) {
            return (self.facts.names[n.index()].clone(), 3);
        }
        let args = self.flow.args(n);
        let arg = |k: usize| self.spelled(args[k], false);
        // `a op b`, with parentheses where an operand binds less tightly.
        let binary = |op: &str, prec: u8| {
            let ((a, pa), (b, pb)) = (arg(0), arg(1));
            let a = if pa < prec { format!("({a})") } else { a };
            let right_tight = if op == "-" || op == "/" { pb <= prec } else { pb < prec };
            let b = if right_tight { format!("({b})") } else { b };
            (format!("{a} {op} {b}"), prec)
        };
        match node.op {
            KOp::Add => binary("+", 1),
            KOp::Sub => binary("-", 1),
            KOp::Mul => binary("*", 2),
            KOp::Div => binary("/", 2),
            KOp::Max => (format!("max({}, {})", arg(0).0, arg(1).0), 3),
            KOp::Min => (format!("min({}, {})", arg(0).0, arg(1).0), 3),
            KOp::Neg => {
                let (a, p) = arg(0);
                (if p < 3 { format!("-({a})") } else { format!("-{a}") }, 3)
            }
            KOp::Copy => arg(0),
            KOp::Func(f) => (format!("{}({})", f.name(), arg(0).0), 3),
            KOp::Sum { mean } => (format!("{}({})", if mean { "mean" } else { "sum" }, arg(0).0), 3),
            KOp::Split { index, parts } => (format!("split({}, {parts})[{index}]", arg(0).0), 3),
            KOp::Concat { .. } => {
                let parts: Vec<String> = (0..args.len()).map(|k| arg(k).0).collect();
                (format!("[{}]", parts.join(", ")), 3)
            }
            KOp::Leaf(_) | KOp::MatVec { .. } | KOp::MatVecT { .. } => (self.facts.names[n.index()].clone(), 3),
        }
    }

    /// The statements of the reductions the kernel computes (see [`Reductions`]).
    fn reductions(&self, inline: &[K]) -> Reductions {
        let mut r = Reductions::default();
        for &n in inline.iter().filter(|&&n| self.flow.is_reduction(n)) {
            let (sum, lanes) = (self.ident(n, None), format_ident!("__lanes{}", n.index()));
            let arg = self.flow.args(n)[0];
            let parts = self.sub_count(arg);
            r.init.extend(quote! {
                let mut #sum = F::zero();
                let mut #lanes = [F::zero(); __LANES];
            });
            for s in 0..parts {
                let a = self.val(arg, s);
                r.lanes.extend(quote!(#lanes[__j] += #a;));
                r.tail.extend(quote!(#sum += #a;));
            }
            r.finish
                .extend(quote!(let #sum = #lanes.iter().fold(#sum, |__s, &__x| __s + __x);));
            if let KOp::Sum { mean: true } = self.flow.node(n).op {
                r.finish
                    .extend(quote!(let #sum = #sum / <F as __rt::Float>::from_f64c((#parts * __n) as f64);));
            }
        }
        r
    }

    /// The stores (`=`) and gradient sums (`+=`) of one column, the stores
    /// of row scalars (once per row), and the buffers they write: those of
    /// the reductions (`after`, after the sums), or of every other value.
    fn writes(&self, access: &Access, accums: &[(K, usize)], after: bool) -> (TokenStream, TokenStream, BTreeSet<Buf>) {
        let mut writes = TokenStream::new();
        let mut once = TokenStream::new();
        let mut written: BTreeSet<Buf> = BTreeSet::new();
        let accums: Vec<&(K, usize)> = accums.iter().filter(|a| self.flow.is_reduction(a.0) == after).collect();
        for (n, id) in access.stores.iter().filter(|s| self.flow.is_reduction(s.0) == after) {
            written.insert(access.locs[*id].buf);
            if access.locs[*id].is_row_scalar() {
                let chunk = Chunk::Loc(*id, 0);
                self.used.borrow_mut().insert(chunk);
                let (c, e) = (self.slice(chunk), self.val(*n, 0));
                once.extend(quote!(#c[0] = #e;));
                continue;
            }
            for s in 0..self.sub_count(*n) {
                let chunk = Chunk::Loc(*id, s * self.base.coef);
                self.used.borrow_mut().insert(chunk);
                let (c, e) = (self.slice(chunk), self.val(*n, s));
                writes.extend(quote!(#c[__j] = #e;));
            }
        }
        for (n, p) in accums {
            let scalar = self.flow.scalar_params.contains(p);
            for s in 0..self.sub_count(*n) {
                if scalar {
                    // Every column of every row sums into the one value.
                    let chunk = Chunk::ScalarGrad(*p);
                    self.used.borrow_mut().insert(chunk);
                    let (c, e) = (self.slice(chunk), self.val(*n, s));
                    writes.extend(quote!(#c[0] += #e;));
                    continue;
                }
                let chunk = Chunk::Grad(*p, s * self.base.coef);
                self.used.borrow_mut().insert(chunk);
                let (c, e) = (self.slice(chunk), self.val(*n, s));
                writes.extend(quote!(#c[__j] += #e;));
            }
        }
        (writes, once, written)
    }
}

/// Columns per block of a kernel with reductions: one lane of each sum per
/// column of the block (16 `f32` fill an AVX-512 register).
const LANES: usize = 16;

/// The statements of a kernel's reductions (`__sumN`, lanes `__lanesN`):
/// set to zero, added to per column of a block (`lanes`) and per column of
/// the tail (`tail`), and the lanes folded in (and the mean taken) after
/// the columns (`finish`).
#[derive(Default)]
struct Reductions {
    init: TokenStream,
    lanes: TokenStream,
    tail: TokenStream,
    finish: TokenStream,
}

impl Reductions {
    fn is_empty(&self) -> bool {
        self.init.is_empty()
    }
}

/// An elementwise function of `a`.
fn func(f: Func, a: TokenStream) -> TokenStream {
    match f {
        Func::Sigmoid => quote!(__rt::sigmoid(#a)),
        Func::Tanh => quote!(__rt::tanh(#a)),
        Func::Exp => quote!(__rt::exp(#a)),
        Func::Relu => quote!({ let __x = #a; if __x > F::zero() { __x } else { F::zero() } }),
        Func::Step => quote!(if #a > F::zero() { F::one() } else { F::zero() }),
        Func::HardSigmoid => quote!(__rt::hard_sigmoid(#a)),
        Func::HardSigmoidGrad => quote!(__rt::hard_sigmoid_grad(#a)),
        Func::Sqrt => quote!(<F as __rt::num_traits::Float>::sqrt(#a)),
        Func::Log => quote!(<F as __rt::num_traits::Float>::ln(#a)),
        Func::Abs => quote!(<F as __rt::num_traits::Float>::abs(#a)),
        Func::Softplus => quote!(__rt::softplus(#a)),
        Func::SoftplusGrad => quote!(__rt::softplus_grad(#a)),
        Func::Sign => quote!(__rt::sign(#a)),
        Func::TieStep => quote!(__rt::tie_step(#a)),
    }
}

/// `__row`'s parameters, one slice per chunk (`&mut` where the kernel
/// stores or sums into it), the statements that cut each to `__n`, and
/// those that cut each to the block of `__LANES` columns from `__jb`.
fn row_params(
    used: &BTreeSet<Chunk>,
    names: &[Ident],
    stored: &BTreeSet<usize>,
    locs: &[Loc],
) -> (Vec<TokenStream>, TokenStream, TokenStream) {
    let mut params = Vec::new();
    let mut reslice = TokenStream::new();
    let mut block = TokenStream::new();
    for (c, ident) in used.iter().zip(names) {
        let mutable = match *c {
            Chunk::Loc(i, _) => stored.contains(&i),
            Chunk::Grad(..) | Chunk::ScalarGrad(_) => true,
            Chunk::Param(..) | Chunk::ScalarParam(_) => false,
        };
        let borrow = if mutable { quote!(&mut) } else { quote!(&) };
        params.push(quote!(#ident: #borrow [F]));
        if c.is_one_value(locs) {
            // One value, read (or summed into) at every column.
            reslice.extend(quote!(let #ident = #borrow #ident[..1];));
        } else {
            reslice.extend(quote!(let #ident = #borrow #ident[..__n];));
            block.extend(quote!(let #ident = #borrow #ident[__jb..__jb + __LANES];));
        }
    }
    (params, reslice, block)
}
