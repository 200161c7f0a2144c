//! Snapshots of the compiler's intermediate forms for the shipped cells
//! (read from the facade's `src/cells.rs`, so they follow the real
//! definitions): the step graph's shapes, the backward flow produced by
//! autodiff, the scheduled programs after time planning, and the emitted
//! source. CI never writes snapshots; a changed one fails the test.

use super::ast::CellDef;
use super::inspect::{flow_text, plan_text};
use super::ir::Names;
use super::options::Options;
use super::schedule::{Item, Plans};
use super::time::{self, Planned};
use super::{check, emit, expand, lower};
use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// The shipped cells. `src/cells.rs` declares each as `$crate::cell! {
/// $($attr)* ... }` inside the `__shipped_cells!` macro; the `$($attr)*`
/// slot is dropped here.
fn shipped() -> Vec<(String, CellDef)> {
    let text = include_str!("../../../src/cells.rs");
    let tokens: TokenStream = text.parse().expect("cells.rs lexes");
    let mut cells = Vec::new();
    find_cells(tokens, &mut cells);
    cells
        .into_iter()
        .map(|tokens| {
            let def: CellDef = syn::parse2(tokens).expect("cell parses");
            (def.name.to_string().to_lowercase(), def)
        })
        .collect()
}

/// The bodies of every `cell! { .. }` in `tokens`, without a leading `$(..)*`.
pub(super) fn find_cells(tokens: TokenStream, out: &mut Vec<TokenStream>) {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in tts.iter().enumerate() {
        match (tt, tts.get(i + 1), tts.get(i + 2)) {
            (TokenTree::Ident(id), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(body)))
                if id == "cell" && bang.as_char() == '!' && body.delimiter() == Delimiter::Brace =>
            {
                let mut body: Vec<TokenTree> = body.stream().into_iter().collect();
                if matches!(body.first(), Some(TokenTree::Punct(p)) if p.as_char() == '$') {
                    body.drain(..3);
                }
                out.push(body.into_iter().collect());
            }
            (TokenTree::Group(g), ..) => find_cells(g.stream(), out),
            _ => {}
        }
    }
}

/// A cell through every pass up to the schedule, under `options`.
fn compile(def: &CellDef, options: Options) -> (Planned, Plans) {
    let planned = time::plan(check(def).expect("compiles"));
    let plans = lower(&planned, options);
    (planned, plans)
}

#[test]
fn shipped_cells_are_found() {
    let names: Vec<String> = shipped().into_iter().map(|c| c.0).collect();
    assert_eq!(
        names,
        ["lstm", "gru", "rnntanh", "rnnrelu", "layernormlstm", "layernormgru"]
    );
}

#[test]
fn graph_after_autodiff() {
    for (name, def) in shipped() {
        let (planned, plans) = compile(&def, Options::OPTIMISED);
        let names = Names::of(&planned.shaped.sg.decls);
        insta::assert_snapshot!(format!("{name}_autodiff"), flow_text(&plans.bwd_flow, &names));
    }
}

#[test]
fn programs_after_time_planning() {
    for (name, def) in shipped() {
        let (planned, plans) = compile(&def, Options::OPTIMISED);
        let names = Names::of(&planned.shaped.sg.decls);
        insta::assert_snapshot!(format!("{name}_plan"), plan_text(&names, &plans));
    }
}

#[test]
fn emitted_source_is_valid_rust() {
    for (name, def) in shipped() {
        let (planned, _) = compile(&def, Options::OPTIMISED);
        let tokens = emit(&def, &planned);
        let file: syn::File = syn::parse2(tokens).expect("emitted code parses as Rust");
        let source = prettyplease::unparse(&file);
        assert!(
            source.contains(&format!("impl<F: __rt::Float> __rt::Cell<F> for {}<F>", def.name)),
            "{name}"
        );
        assert!(
            !source.contains("reference_forward_train"),
            "{name}: no reference methods unless asked"
        );
    }
}

#[test]
fn time_plan_hoists_input_products_and_keeps_recurrent_ones() {
    // The plain cells (the layer-normalised ones normalise in the loop).
    for (name, def) in shipped().into_iter().filter(|(n, _)| !n.starts_with("layernorm")) {
        let (_, c) = compile(&def, Options::OPTIMISED);
        let groups = &c.groups;
        assert_eq!(groups.len(), 2, "{name}: one product on x, one on h");
        assert!(groups[0].hoisted, "{name}: W_ih @ x runs for many steps at once");
        assert!(!groups[1].hoisted, "{name}: W_hh @ h stays in the loop");
        // Forward: the input projection runs in the loop for a chunk of steps
        // at a time, then one product + one fused kernel per step.
        assert!(c.train.pre.is_empty(), "{name}");
        assert_eq!(c.train.body.len(), 3, "{name}");
        assert!(
            matches!(&c.train.body[0], Item::Gemm { group: 0, c, .. } if c.chunked),
            "{name}: the projection writes a chunk buffer"
        );
        assert!(c.train.own.iter().any(|b| b.chunked), "{name}");
        // Backward: the weight gradients are single products after the loop.
        assert_eq!(c.bwd.weight_grads.len(), 2, "{name}");
    }
}

#[test]
fn reductions_are_summed_in_the_loop_that_computes_their_operand() {
    let mut reductions = 0;
    for (name, def) in shipped() {
        let (_, c) = compile(&def, Options::OPTIMISED);
        for (prog, flow) in [(&c.infer, &c.fwd_flow), (&c.train, &c.fwd_flow), (&c.bwd, &c.bwd_flow)] {
            for item in prog.pre.iter().chain(&prog.body).chain(&prog.post) {
                let Item::Kernel(k) = item else { continue };
                for (n, _) in k.targets.iter().filter(|t| flow.is_reduction(t.0)) {
                    reductions += 1;
                    let operand = flow.args(*n)[0];
                    let stored = flow.is_gemm(operand) || flow.has_buffer(operand);
                    assert!(
                        stored || k.inline.contains(&operand),
                        "{name}: %{} reads its operand %{} back from memory",
                        n.index(),
                        operand.index()
                    );
                }
            }
        }
    }
    assert!(reductions > 0, "the layer-normalised cells reduce");
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
    let (_, c) = compile(&def, Options::OPTIMISED);
    let g = &c.groups;
    assert_eq!(g[0].weights, vec![0, 2], "w_f and w_h share x: one product");
    assert!(g[0].hoisted);
    assert_eq!(c.train.packed_groups, vec![0]);
    let (_, reference) = compile(&def, Options::REFERENCE);
    assert_eq!(reference.groups.len(), 4, "the reference schedule stacks nothing");
}

#[test]
fn reference_methods_only_for_cells_that_ask() {
    let cell = |attr: TokenStream| {
        quote::quote! {
            #attr
            /// A cell.
            cell Rnn(I, H) {
                input x: [I];
                state h: [H];
                param w: [H, I];
                param u: [H, H];
                h = tanh(w @ x + u @ h);
            }
        }
    };
    let def: CellDef = syn::parse2(cell(quote::quote!(#[reference_schedule]))).expect("parses");
    assert!(def.reference_schedule);
    assert_eq!(def.attrs.len(), 1, "the attribute is taken out; the doc stays");
    let plain = expand(cell(TokenStream::new())).to_string();
    let with = expand(cell(quote::quote!(#[reference_schedule]))).to_string();
    assert!(!plain.contains("reference_forward_train"));
    assert!(with.contains("reference_forward_train") && with.contains("reference_backward_into"));
    assert!(with.starts_with(&plain), "the optimised code is the same either way");
    let bad = expand(cell(quote::quote!(#[reference_schedule(fast)])));
    assert!(
        bad.to_string().contains("compile_error"),
        "the attribute takes no arguments"
    );
}

/// Prints how long expanding each shipped cell takes (issue: keep it under
/// 50 ms). Printing only: speed is judged from the printed figures, not asserted.
#[test]
fn expansion_time_of_shipped_cells() {
    for (name, def) in shipped() {
        let start = std::time::Instant::now();
        let planned = time::plan(check(&def).expect("compiles"));
        let tokens = emit(&def, &planned);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(!tokens.is_empty());
        let start = std::time::Instant::now();
        let reference = lower(&planned, Options::REFERENCE);
        let ref_ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(!reference.bwd.body.is_empty());
        println!("expand {name}: {ms:.1} ms (with SOURCE and DOT); reference schedule {ref_ms:.1} ms more when asked");
    }
}
