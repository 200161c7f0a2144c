//! Steps 4 to 6: the items of each section, in order, and the weight
//! gradients after the loop.
//!
//! Within a section a node's level counts the products and reductions on
//! its longest path from the section's inputs (`sections::levels`). Items
//! alternate: the products of level L (one GEMM per group, at its first
//! member), then one fused elementwise kernel per symbolic width for the
//! stored values and parameter-gradient sums of level L (one kernel per
//! value without `options.fuse`). A kernel computes inline everything its
//! targets need that is not stored. Weight gradients are one product each
//! after the loop.

use super::homes::Homes;
use super::program::{Buf, Item, Kernel, Loc, Program, Section, WeightGradItem};
use super::sections::levels;
use super::storage::Storage;
use crate::cell::flow::{Flow, Group, K, KOp, Sink};
use crate::cell::ir::Dim;
use crate::cell::options::Options;
use std::collections::BTreeSet;

pub fn build(flow: &Flow, groups: &[Group], storage: &Storage, homes: Homes, options: Options) -> Program {
    let level = levels(flow, &storage.sections.0);
    let cx = Cx {
        flow,
        groups,
        storage,
        homes: &homes,
        level: &level,
        options,
    };
    let [pre, body, post] = [Section::Pre, Section::Body, Section::Post].map(|s| cx.section(s));
    let weight_grads = weight_grads(flow, &homes.homes, &storage.panels);
    Program {
        own: homes.own,
        pre,
        body,
        post,
        weight_grads,
        homes: homes.homes,
        packed_groups: homes.packed_groups,
    }
}

struct Cx<'a> {
    flow: &'a Flow,
    groups: &'a [Group],
    storage: &'a Storage,
    homes: &'a Homes,
    level: &'a [usize],
    options: Options,
}

impl Cx<'_> {
    /// Step 5: the items of section `s`, level by level: products, then kernels.
    fn section(&self, s: Section) -> Vec<Item> {
        let (flow, sec, mat) = (self.flow, &self.storage.sections.0, &self.storage.stored);
        let mut items = Vec::new();
        let max = flow
            .g
            .node_indices()
            .filter(|k| sec[k.index()] == s && (mat[k.index()] || is_accum(flow, *k)))
            .map(|k| self.level[k.index()])
            .max();
        let Some(max) = max else { return items };
        for level in 0..=max {
            let at: Vec<K> = flow
                .g
                .node_indices()
                .filter(|k| sec[k.index()] == s && self.level[k.index()] == level)
                .collect();
            items.extend(at.iter().filter_map(|&k| self.product(k)));
            self.kernels(&at, &mut items);
        }
        items
    }

    /// The packed buffer of `group` as a whole, if it has one.
    fn packed(&self, group: usize) -> Option<Loc> {
        self.homes.group_buf[group].map(|b| Loc {
            buf: Buf::Own(b),
            ld: self.groups[group].rows.clone(),
            col: vec![],
            all_steps: self.homes.own[b].all_steps,
            next_block: false,
            chunked: false,
        })
    }

    fn home(&self, k: K, what: &str) -> Loc {
        self.homes.homes[k.index()].clone().expect(what)
    }

    /// The product node `k` runs: one GEMM per group, at its first member.
    fn product(&self, k: K) -> Option<Item> {
        match self.flow.node(k).op {
            KOp::MatVec { group, member } => {
                if member != 0 {
                    return None;
                }
                let a = self.flow.args(k)[0];
                let c = self.packed(group).unwrap_or_else(|| self.home(k, "home"));
                Some(Item::Gemm {
                    group,
                    a: self.home(a, "operand home"),
                    c,
                })
            }
            KOp::MatVecT { group } => {
                let args = self.flow.args(k);
                let a = self.packed(group).unwrap_or_else(|| self.home(args[0], "dY home"));
                let c = self.home(k, "home");
                Some(Item::GemmT { group, a, c })
            }
            _ => None,
        }
    }

    /// Kernels for the nodes `at` one level: stored non-product values,
    /// copies, and parameter-gradient sums, one kernel per width symbol (one
    /// per value without `options.fuse`).
    fn kernels(&self, at: &[K], items: &mut Vec<Item>) {
        let flow = self.flow;
        let (mat, extra) = (&self.storage.stored, &self.homes.extra);
        let mut targets: Vec<K> = Vec::new();
        let mut accums: Vec<(K, usize)> = Vec::new();
        for &k in at {
            let computed_here = mat[k.index()] && !flow.is_gemm(k) && !flow.has_buffer(k);
            let copied_here = (flow.is_gemm(k) || flow.has_buffer(k)) && !extra[k.index()].is_empty();
            if computed_here || copied_here {
                targets.push(k);
            }
            for &(sink, sk) in &flow.sinks {
                if let (Sink::ParamGrad(p), true) = (sink, sk == k) {
                    accums.push((k, p));
                }
            }
        }
        let sym_of = |k: K| flow.node(k).width.and_then(|w| w.sym);
        let mut by_sym: Vec<SymKernel> = Vec::new();
        for k in targets {
            let sym = sym_of(k);
            match by_sym.iter_mut().find(|e| e.0 == sym) {
                Some(e) => e.1.push(k),
                None => by_sym.push((sym, vec![k], vec![])),
            }
        }
        for (k, p) in accums {
            let sym = sym_of(k);
            match by_sym.iter_mut().find(|e| e.0 == sym) {
                Some(e) => e.2.push((k, p)),
                None => by_sym.push((sym, vec![], vec![(k, p)])),
            }
        }
        let kernel =
            |ts: &[K], acc: &[(K, usize)]| Item::Kernel(build_kernel(flow, ts, acc, &self.homes.homes, extra, mat));
        for (_, ts, acc) in by_sym {
            if !self.options.fuse {
                // One loop per value, in evaluation order.
                for &t in &ts {
                    let a: Vec<(K, usize)> = acc.iter().copied().filter(|x| x.0 == t).collect();
                    items.push(kernel(&[t], &a));
                }
                let rest: Vec<(K, usize)> = acc.iter().copied().filter(|x| !ts.contains(&x.0)).collect();
                if !rest.is_empty() {
                    items.push(kernel(&[], &rest));
                }
                continue;
            }
            items.push(kernel(&ts, &acc));
        }
    }
}

/// Step 6: weight gradients, after the loop, one product each.
fn weight_grads(flow: &Flow, homes: &[Option<Loc>], panels: &[bool]) -> Vec<WeightGradItem> {
    flow.weight_grads
        .iter()
        .zip(panels)
        .map(|(wg, &panels)| WeightGradItem {
            wg: *wg,
            dy: homes[wg.dy.index()].clone().expect("dy home"),
            operand: homes[wg.operand.index()].clone().expect("operand home"),
            panels,
        })
        .collect()
}

/// Targets and accumulations of one kernel, keyed by their width's symbol.
type SymKernel = (Option<usize>, Vec<K>, Vec<(K, usize)>);

fn is_accum(flow: &Flow, k: K) -> bool {
    flow.sinks
        .iter()
        .any(|&(s, sk)| sk == k && matches!(s, Sink::ParamGrad(_)))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn build_kernel(
    flow: &Flow,
    targets: &[K],
    accums: &[(K, usize)],
    homes: &[Option<Loc>],
    extra: &[Vec<Loc>],
    mat: &[bool],
) -> Kernel {
    // Values computed here: everything the targets need that is not already stored.
    let target_set: BTreeSet<K> = targets.iter().copied().collect();
    let mut inline: BTreeSet<K> = BTreeSet::new();
    let mut stack: Vec<K> = targets.iter().copied().chain(accums.iter().map(|a| a.0)).collect();
    let mut seen: BTreeSet<K> = BTreeSet::new();
    let mut coefs: Vec<usize> = Vec::new();
    let mut sym = None;
    while let Some(k) = stack.pop() {
        if !seen.insert(k) {
            continue;
        }
        if let Some(w) = flow.node(k).width {
            coefs.push(w.coef);
            sym = w.sym;
        }
        let stored = flow.is_gemm(k) || flow.has_buffer(k) || (mat[k.index()] && !target_set.contains(&k));
        if stored {
            continue;
        }
        inline.insert(k);
        stack.extend(flow.args(k));
    }
    let base = coefs.into_iter().fold(0, gcd).max(1);
    let mut stores = Vec::new();
    for &k in targets {
        if let Some(h) = &homes[k.index()]
            && inline.contains(&k)
        {
            stores.push((k, h.clone()));
        }
        for l in &extra[k.index()] {
            stores.push((k, l.clone()));
        }
    }
    Kernel {
        base: Dim { coef: base, sym },
        inline: inline.into_iter().collect(),
        targets: stores,
        accums: accums.to_vec(),
    }
}
