//! Step 1: the section each flow node runs in, `pre`, `body` or `post`.
//!
//! Forward: values that feed no state update (outputs only) run after the
//! loop; the members of a product group share the earliest section of any
//! of them. Backward: adjoints that do not depend on the carried state
//! adjoint run before the loop, values that read one after the loop run
//! after it too, and the input gradient of a hoisted product stays in the
//! loop. Without `options.hoist` everything runs in the loop. This is a
//! first answer: step 2 (`storage.rs`) still moves hoisted forward products
//! before the loop and copied leaves to their first reader. Also here, for
//! steps 2 and 4: the level of every node within its section ([`levels`]).

use super::program::Section;
use crate::cell::flow::{Flow, Group, K, KOp, Leaf, Sink};
use crate::cell::options::Options;

/// The section of every flow node, by node index.
pub struct Sections(pub Vec<Section>);

pub fn assign(flow: &Flow, groups: &[Group], backward: bool, options: Options) -> Sections {
    let n = flow.g.node_count();
    let mut sec = vec![Section::Body; n];
    if !options.hoist {
        // Everything stays in the loop.
    } else if backward {
        let mut seeded = vec![false; n];
        for k in flow.g.node_indices() {
            let args = flow.args(k);
            let hoisted = matches!(flow.node(k).op, KOp::MatVecT { group } if groups[group].hoisted);
            seeded[k.index()] =
                matches!(flow.leaf(k), Some(Leaf::SeedState(_))) || args.iter().any(|a| seeded[a.index()]);
            // The input gradient of a hoisted product runs in the loop, on
            // each step's adjoints while they are in cache: the kernel is as
            // fast on B rows as on T·B, and then nothing but the weight
            // gradients' panels keeps those adjoints for all steps.
            sec[k.index()] = if args.iter().any(|a| sec[a.index()] == Section::Post) {
                Section::Post
            } else if hoisted && seeded[k.index()] {
                Section::Body
            } else if !seeded[k.index()] && flow.leaf(k).is_none() {
                Section::Pre
            } else {
                Section::Body
            };
        }
    } else {
        let mut feeds = vec![false; n];
        for &(sink, k) in &flow.sinks {
            if let Sink::NewState(_) = sink {
                feeds[k.index()] = true;
            }
        }
        for k in flow.g.node_indices().rev() {
            if feeds[k.index()] {
                for a in flow.args(k) {
                    feeds[a.index()] = true;
                }
            }
        }
        for k in flow.g.node_indices() {
            if !feeds[k.index()] && flow.leaf(k).is_none() && flow.node(k).batched {
                sec[k.index()] = Section::Post;
            }
        }
        // A group's members run as one GEMM, so they share the earliest section.
        for g in 0..groups.len() {
            let members: Vec<K> = flow
                .g
                .node_indices()
                .filter(|&k| matches!(flow.node(k).op, KOp::MatVec { group, .. } if group == g))
                .collect();
            if let Some(first) = members.iter().map(|k| sec[k.index()]).min() {
                for k in members {
                    sec[k.index()] = first;
                }
            }
        }
    }
    Sections(sec)
}

/// The level of every node within its section (products and
/// reductions on the longest path from the section's inputs). A reduction
/// is computed by the kernel of its operand's level; what reads it comes
/// one level later.
pub fn levels(flow: &Flow, sec: &[Section]) -> Vec<usize> {
    let mut lvl = vec![0usize; flow.g.node_count()];
    for k in flow.g.node_indices() {
        let mut l = 0;
        for a in flow.args(k) {
            if sec[a.index()] == sec[k.index()] {
                l = l.max(lvl[a.index()] + usize::from(flow.is_reduction(a)));
            }
        }
        if flow.is_gemm(k) {
            l += 1;
        }
        lvl[k.index()] = l;
    }
    lvl
}
