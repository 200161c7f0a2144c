//! After scheduling, forward only: the input projection runs a chunk of
//! steps ahead inside the loop instead of for all steps before it
//! (`options.chunk`).

use super::program::{Buf, Item, Loc, Program};
use crate::cell::flow::Flow;

/// Moves each product of the input that runs before the loop into a buffer
/// of all steps (the input projection `x W^T`) into the loop, where it runs
/// every `chunk` steps for the next `chunk` steps into a buffer of one
/// chunk (`chunk` is chosen at run time from the batch, about 128 rows).
///
/// All at once, the projection writes a buffer of T·B rows that has left
/// the caches by the time each step reads its block (8 MB written to memory
/// and read back for LSTM medium); a chunk is read while still in L2, and
/// the product is as fast on 128 rows as on T·B. Only when the loop body
/// alone reads the buffer: a kept one (the backward pass reads it) stays
/// whole.
pub fn chunk_input_products(flow: &Flow, prog: &mut Program, kept: &[usize]) {
    let reads_outside_body = |prog: &Program, b: usize| {
        prog.pre.iter().chain(&prog.post).any(|it| match it {
            Item::Gemm { a, c, .. } | Item::GemmT { a, c, .. } => a.buf == Buf::Own(b) || c.buf == Buf::Own(b),
            Item::Kernel(k) => {
                let nodes = k
                    .inline
                    .iter()
                    .chain(k.targets.iter().map(|t| &t.0))
                    .chain(k.accums.iter().map(|a| &a.0));
                k.targets.iter().any(|(_, l)| l.buf == Buf::Own(b))
                    || nodes
                        .flat_map(|&n| flow.args(n).into_iter().chain([n]))
                        .any(|n| matches!(&prog.homes[n.index()], Some(l) if l.buf == Buf::Own(b)))
            }
        })
    };
    let mut i = 0;
    while i < prog.pre.len() {
        let target = match &prog.pre[i] {
            Item::Gemm { a, c, .. } if matches!(a.buf, Buf::Xs(_)) && c.all_steps => match c.buf {
                Buf::Own(b) if !kept.contains(&b) => Some(b),
                _ => None,
            },
            _ => None,
        };
        let Some(b) = target else {
            i += 1;
            continue;
        };
        let item = prog.pre.remove(i);
        if reads_outside_body(prog, b) {
            prog.pre.insert(i, item);
            i += 1;
            continue;
        }
        prog.own[b].chunked = true;
        let mark = |l: &mut Loc| {
            if l.buf == Buf::Own(b) {
                l.chunked = true;
            }
        };
        for h in prog.homes.iter_mut().flatten() {
            mark(h);
        }
        let mut item = item;
        for it in std::iter::once(&mut item).chain(prog.body.iter_mut()) {
            match it {
                Item::Gemm { a, c, .. } | Item::GemmT { a, c, .. } => {
                    mark(a);
                    mark(c);
                }
                Item::Kernel(k) => k.targets.iter_mut().for_each(|(_, l)| mark(l)),
            }
        }
        // First in the body: before anything of the step reads the chunk.
        prog.body.insert(0, item);
    }
}
