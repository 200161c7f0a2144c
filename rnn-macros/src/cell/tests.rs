//! Snapshots of the compiler's intermediate forms for the shipped cells
//! (read from the facade's `src/cells.rs`, so they follow the real
//! definitions): the step graph's shapes, the backward flow produced by
//! autodiff, the scheduled programs after time planning, and the emitted
//! source. CI never writes snapshots; a changed one fails the test.

use crate::cell::ast::CellDef;
use crate::cell::expand::{compile, emit};
use crate::cell::inspect::{flow_text, plan_text};
use crate::cell::ir::Names;
use crate::cell::options::Options;
use crate::cell::schedule::Item;

fn shipped() -> Vec<(String, CellDef)> {
    let text = include_str!("../../../src/cells.rs");
    let file: syn::File = syn::parse_str(text).expect("cells.rs parses");
    file.items
        .into_iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) => Some(m.mac.tokens),
            _ => None,
        })
        .map(|tokens| {
            let def: CellDef = syn::parse2(tokens).expect("cell parses");
            (def.name.to_string().to_lowercase(), def)
        })
        .collect()
}

#[test]
fn shipped_cells_are_found() {
    let names: Vec<String> = shipped().into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["lstm", "gru", "rnntanh", "rnnrelu"]);
}

#[test]
fn graph_after_autodiff() {
    for (name, def) in shipped() {
        let c = compile(&def, Options::OPTIMISED).expect("compiles");
        let names = Names::of(&c.planned.shaped.sg.decls);
        insta::assert_snapshot!(format!("{name}_autodiff"), flow_text(&c.plans.bwd_flow, &names));
    }
}

#[test]
fn programs_after_time_planning() {
    for (name, def) in shipped() {
        let c = compile(&def, Options::OPTIMISED).expect("compiles");
        let names = Names::of(&c.planned.shaped.sg.decls);
        insta::assert_snapshot!(format!("{name}_plan"), plan_text(&names, &c.plans));
    }
}

#[test]
fn emitted_source_is_valid_rust() {
    for (name, def) in shipped() {
        let c = compile(&def, Options::OPTIMISED).expect("compiles");
        let naive = compile(&def, Options::REFERENCE).expect("compiles");
        let tokens = emit(&def, &c, &naive);
        let file: syn::File = syn::parse2(tokens).expect("emitted code parses as Rust");
        let source = prettyplease::unparse(&file);
        assert!(
            source.contains(&format!("impl<F: __rt::Float> __rt::Cell<F> for {}<F>", def.name)),
            "{name}"
        );
    }
}

#[test]
fn time_plan_hoists_input_products_and_keeps_recurrent_ones() {
    for (name, def) in shipped() {
        let c = compile(&def, Options::OPTIMISED).expect("compiles");
        let groups = &c.plans.groups;
        assert_eq!(groups.len(), 2, "{name}: one product on x, one on h");
        assert!(groups[0].hoisted, "{name}: W_ih @ x runs for many steps at once");
        assert!(!groups[1].hoisted, "{name}: W_hh @ h stays in the loop");
        // Forward: the input projection runs in the loop for a chunk of steps
        // at a time, then one product + one fused kernel per step.
        assert!(c.plans.train.pre.is_empty(), "{name}");
        assert_eq!(c.plans.train.body.len(), 3, "{name}");
        assert!(
            matches!(&c.plans.train.body[0], Item::Gemm { group: 0, c, .. } if c.chunked),
            "{name}: the projection writes a chunk buffer"
        );
        assert!(c.plans.train.own.iter().any(|b| b.chunked), "{name}");
        // Backward: the weight gradients are single products after the loop.
        assert_eq!(c.plans.bwd.weight_grads.len(), 2, "{name}");
    }
}

#[test]
fn products_sharing_an_operand_are_stacked() {
    let def: CellDef = syn::parse_quote! {
        cell Mgu(I, H) {
            input x: [I];
            state h: [H];
            param w_f: [H, I];
            param u_f: [H, H];
            param w_h: [H, I];
            param u_h: [H, H];
            let f = sigmoid(w_f @ x + u_f @ h);
            h = (1.0 - f) * h + f * tanh(w_h @ x + u_h @ (f * h));
        }
    };
    let c = compile(&def, Options::OPTIMISED).expect("compiles");
    let g = &c.plans.groups;
    assert_eq!(g[0].weights, vec![0, 2], "w_f and w_h share x: one product");
    assert!(g[0].hoisted);
    assert_eq!(c.plans.train.packed_groups, vec![0]);
    let naive = compile(&def, Options::REFERENCE).expect("compiles");
    assert_eq!(naive.plans.groups.len(), 4, "the naive schedule stacks nothing");
}

/// Prints how long expanding each shipped cell takes (issue: keep it under
/// 50 ms). Printing only: speed is judged from the printed figures, not asserted.
#[test]
fn expansion_time_of_shipped_cells() {
    for (name, def) in shipped() {
        let start = std::time::Instant::now();
        let c = compile(&def, Options::OPTIMISED).expect("compiles");
        let naive = compile(&def, Options::REFERENCE).expect("compiles");
        let tokens = emit(&def, &c, &naive);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(!tokens.is_empty());
        println!("expand {name}: {ms:.1} ms (optimised + naive schedules, with SOURCE and DOT)");
    }
}
