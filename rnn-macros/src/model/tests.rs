//! The parser and checker on small declarations: every rule's message, and
//! that several mistakes are all reported. The emitted code is snapshotted
//! for one model (pretty-printed, so a change reads as a diff).

use super::ast::ModelDef;
use super::{check, emit};
use quote::quote;

/// The messages `model!` reports for `tokens` (empty when it compiles).
fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
    let def: ModelDef = match syn::parse2(tokens) {
        Ok(def) => def,
        Err(e) => return e.into_iter().map(|e| format!("parse: {e}")).collect(),
    };
    match check::check(&def) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn char_lm_checks() {
    let errs = errors(quote! {
        /// A character language model.
        pub model CharLm(V, H = 256) {
            input: one_hot(V);
            cell: Lstm { h: H } x 2;
            head: softmax(V);
            loss: cross_entropy;
        }
    });
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn every_combination_of_encoding_and_loss_is_accepted() {
    for input in [quote!(one_hot(V)), quote!(embedding(V, 8)), quote!(dense(V))] {
        for (head, loss) in [
            (quote!(softmax(C)), quote!(cross_entropy)),
            (quote!(identity(C)), quote!(mse)),
            (quote!(sigmoid(C)), quote!(mse)),
        ] {
            let errs = errors(quote! {
                model M(V, C, H) { input: #input; cell: Gru { h: H }; head: #head; loss: #loss; }
            });
            assert!(errs.is_empty(), "{input} {head} {loss}: {errs:?}");
        }
    }
}

#[test]
fn parts_in_any_order_without_header() {
    let errs = errors(quote! {
        model M { loss: mse; head: identity(1); cell: path::to::MyCell bidirectional; input: dense(3); }
    });
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn missing_and_duplicated_parts() {
    let errs = errors(quote! {
        model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; cell: Gru { h: H }; head: softmax(V); }
    });
    assert_eq!(
        errs,
        [
            "the `cell:` part is declared twice; a model has one (stack layers with `x N`), remove the other",
            "model `M` has no `loss:` part; add one, e.g. `loss: cross_entropy;`",
        ]
    );
}

#[test]
fn unknown_names_are_all_reported() {
    let errs = errors(quote! {
        model M(V, H) { input: onehot(V); cell: Lstm { h: H }; head: relu(V); loss: mae; }
    });
    assert_eq!(
        errs,
        [
            "unknown input encoding `onehot`; expected one of `one_hot(V)`, `embedding(V, D)`, `dense(W)`",
            "unknown head `relu`; expected one of `identity(O)`, `sigmoid(O)`, `softmax(O)`",
            "unknown loss `mae`; expected one of `mse`, `cross_entropy`",
        ]
    );
}

#[test]
fn head_and_loss_must_agree() {
    let errs = errors(quote! {
        model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; head: softmax(V); loss: mse; }
    });
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("a `softmax` head is trained with `cross_entropy`"),
        "{errs:?}"
    );
    let errs = errors(quote! {
        model M(V, H) { input: dense(V); cell: Lstm { h: H }; head: sigmoid(V); loss: cross_entropy; }
    });
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("`cross_entropy` trains a `softmax` head"),
        "{errs:?}"
    );
}

#[test]
fn softmax_over_one_class() {
    let errs = errors(quote! {
        model M(H, C = 1) { input: dense(3); cell: Lstm { h: H }; head: softmax(C); loss: cross_entropy; }
    });
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("a softmax over 1 class is always 1"), "{errs:?}");
}

#[test]
fn sizes_declared_used_and_counted() {
    let errs = errors(quote! {
        model M(V, H, E, V) { input: embedding(V, D); cell: Lstm { h: H, h: 0 } x 0; head: softmax(V); loss: cross_entropy; }
    });
    assert_eq!(
        errs,
        [
            "size `V` is declared twice; remove one",
            "unknown size `D`; declare it in the header, `M(V, H, E, V, D)`, or write a number",
            "the cell's size `h` is given twice; keep one",
            "a size must be at least 1",
            "a model needs at least one layer; write `x 1` or leave `x N` out",
            "size `E` is never used; remove it from `M(V, H, E, V)` or use it in a part",
        ]
    );
}

#[test]
fn arity_and_generic_arguments() {
    let errs = errors(quote! {
        model M(V, H) { input: embedding(V); cell: Lstm<f32> { h: H }; head: softmax(V, H); loss: cross_entropy; }
    });
    assert_eq!(
        errs,
        [
            "`embedding` takes 2 sizes: `embedding(V, D)`",
            "write the cell type without generic arguments, `Lstm`; the model passes its float type",
            "`softmax` takes 1 size: `softmax(O)`",
        ]
    );
}

#[test]
fn syntax_errors() {
    let errs = errors(quote! { model M(V) { output: softmax(V); } });
    assert_eq!(
        errs,
        ["parse: unknown part `output`; a model has the parts `input`, `cell`, `head` and `loss`"]
    );
    let errs = errors(quote! { model M(V, H) { cell: Lstm(H); } });
    assert_eq!(
        errs,
        ["parse: name the cell's sizes by their fields in its `Dims` struct, e.g. `Lstm { h: H }`"]
    );
    let errs = errors(quote! { model M(V, H) { cell: Lstm { h: H } y 2; } });
    assert_eq!(errs, ["parse: expected one of: `x`, `bidirectional`, `;`"]);
}

#[test]
fn declaration_text() {
    let def: ModelDef = syn::parse2(quote! {
        pub model CharLm(V, H = 256) {
            input: one_hot(V);
            cell: rnn::cells::Lstm { h: H } x 2 bidirectional;
            head: softmax(V);
            loss: cross_entropy;
        }
    })
    .unwrap();
    assert_eq!(
        emit::declaration(&def),
        "model CharLm(V, H = 256) {\n    input: one_hot(V);\n    cell: rnn::cells::Lstm { h: H } x 2 bidirectional;\n    head: softmax(V);\n    loss: cross_entropy;\n}"
    );
}

#[test]
fn emitted_char_lm() {
    let def: ModelDef = syn::parse2(quote! {
        /// A character language model.
        pub model CharLm(V, H = 256) {
            input: one_hot(V);
            cell: Lstm { h: H } x 2;
            head: softmax(V);
            loss: cross_entropy;
        }
    })
    .unwrap();
    let model = check::check(&def).unwrap_or_else(|e| panic!("{e}"));
    let file: syn::File = syn::parse2(emit::emit(&model)).expect("emitted code parses");
    insta::assert_snapshot!("model_char_lm", prettyplease::unparse(&file));
}
