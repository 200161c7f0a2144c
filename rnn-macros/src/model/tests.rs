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
            (quote!(sigmoid(C)), quote!(bce)),
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
            "unknown loss `mae`; expected one of `mse`, `cross_entropy`, `bce`",
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
        [
            "parse: unknown part `output`; a model has the parts `input`, `cell`, `head` and `loss`, \
          and optionally `pool`, `dropout` and `init`"
        ]
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

#[test]
fn optional_parts_in_any_order() {
    for extra in [
        quote!(pool: last;),
        quote!(pool: mean;),
        quote!(init: learned;),
        quote!(init: zeros;),
        quote!(dropout: 0.25;),
        quote!(dropout: 0;),
        quote!(dropout: layers 0.25, head 0.1;),
        quote!(dropout: input 0.1, layers 0.3, head 0.3,;),
        quote!(dropout: head 0.5; init: learned; pool: mean;),
    ] {
        let errs = errors(quote! {
            model M(W, H) { #extra input: dense(W); cell: Gru { h: H } x 2; head: sigmoid(1); loss: bce; }
        });
        assert!(errs.is_empty(), "{extra}: {errs:?}");
    }
}

#[test]
fn bce_pairs_with_sigmoid() {
    let errs = errors(quote! {
        model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; head: softmax(V); loss: bce; }
    });
    assert_eq!(
        errs,
        [
            "`bce` trains a `sigmoid` head; write `head: sigmoid(O);`, or use `loss: cross_entropy;` with a `softmax` head"
        ]
    );
    let errs = errors(quote! {
        model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; head: identity(V); loss: bce; }
    });
    assert_eq!(
        errs,
        ["`bce` trains a `sigmoid` head; write `head: sigmoid(O);`, or use `loss: mse;` with an `identity` head"]
    );
    // The pairing error of `cross_entropy` lists `bce` with `sigmoid` among the valid pairs.
    let errs = errors(quote! {
        model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; head: sigmoid(V); loss: cross_entropy; }
    });
    assert_eq!(errs.len(), 1);
    assert!(errs[0].ends_with("or `loss: bce;` with a `sigmoid` head"), "{errs:?}");
}

#[test]
fn dropout_probabilities_sites_and_layers() {
    let errs = errors(quote! {
        model M(H) {
            input: dense(3); cell: Gru { h: H } x 2; head: sigmoid(1); loss: bce;
            dropout: input 1.0, hidden 0.1, layers -0.1, head 0.2, head 0.3, layers 2;
        }
    });
    assert_eq!(
        errs,
        [
            "dropout probability `1.0` is not in [0, 1); write one such as `0.2`",
            "unknown dropout site `hidden`; expected one of `input`, `layers`, `head`",
            "dropout probability `-0.1` is not in [0, 1); write one such as `0.2`",
            "the `head` dropout is given twice; keep one",
            "dropout probability `2` is not in [0, 1); write one such as `0.2`",
            "the `layers` dropout is given twice; keep one",
        ]
    );
    let errs = errors(quote! {
        model M(H) { input: dense(3); cell: Gru { h: H } x 2; head: sigmoid(1); loss: bce; dropout: 1; }
    });
    assert_eq!(
        errs,
        ["dropout probability `1` is not in [0, 1); write one such as `0.2`"]
    );
}

#[test]
fn layers_dropout_needs_layers() {
    let layers_on_one = "`layers` dropout acts between stacked layers and has no effect on a model of one layer; \
                         remove it, or stack layers with `x N`";
    // One layer: no `x`, `x 1`, or a size fixed to 1 in the header.
    for (header, cell) in [
        (quote!((H)), quote!(Gru { h: H })),
        (quote!((H)), quote!(Gru { h: H } x 1)),
        (quote!((H, L = 1)), quote!(Gru { h: H } x L)),
    ] {
        let errs = errors(quote! {
            model M #header { input: dense(3); cell: #cell; head: sigmoid(1); loss: bce; dropout: layers 0.3, head 0.1; }
        });
        assert_eq!(errs, [layers_on_one], "{cell}");
    }
    let errs = errors(quote! {
        model M(H) { input: dense(3); cell: Gru { h: H }; head: sigmoid(1); loss: bce; dropout: 0.25; }
    });
    assert_eq!(
        errs,
        [
            "`dropout: 0.25;` also drops between stacked layers, which has no effect on a model of one layer; \
             name the other sites, `dropout: input 0.25, head 0.25;`, or stack layers with `x N`"
        ]
    );
    // A zero is no dropout; other sites are fine on one layer; a layer count bound at build time is
    // the runtime's to judge.
    for (header, cell, dropout) in [
        (quote!((H)), quote!(Gru { h: H }), quote!(layers 0.0, head 0.5)),
        (quote!((H)), quote!(Gru { h: H } x 1), quote!(input 0.1, head 0.5)),
        (quote!((H)), quote!(Gru { h: H }), quote!(0.0)),
        (quote!((H, L)), quote!(Gru { h: H } x L), quote!(layers 0.3)),
        (quote!((H, L)), quote!(Gru { h: H } x L), quote!(0.3)),
    ] {
        let errs = errors(quote! {
            model M #header { input: dense(3); cell: #cell; head: sigmoid(1); loss: bce; dropout: #dropout; }
        });
        assert!(errs.is_empty(), "{cell} {dropout}: {errs:?}");
    }
}

#[test]
fn unknown_pooling_and_initial_state_and_repeated_optional_parts() {
    let errs = errors(quote! {
        model M(V, H) {
            input: one_hot(V); cell: Lstm { h: H }; head: softmax(V); loss: cross_entropy;
            pool: max; init: random; pool: last; init: learned; dropout: head 0.1; dropout: head 0.2;
        }
    });
    assert_eq!(
        errs,
        [
            "the `pool:` part is declared twice; a model has one, remove the other",
            "the `init:` part is declared twice; a model has one, remove the other",
            "the `dropout:` part is declared twice; a model has one, remove the other",
            "unknown pooling `max`; expected `last` or `mean` (leave `pool:` out for a head at every step)",
            "unknown initial state `random`; expected `zeros` or `learned`",
        ]
    );
}

#[test]
fn dropout_syntax_errors() {
    let cases = [
        (
            quote!(dropout: ;),
            "parse: expected a dropout probability, e.g. `dropout: 0.2;`, or probabilities by site, \
             e.g. `dropout: layers 0.3, head 0.1;`",
        ),
        (
            quote!(dropout: layers, head 0.1;),
            "parse: expected the probability of `layers` dropout, e.g. `layers 0.2`",
        ),
        (
            quote!(dropout: 0.5f32;),
            "parse: write the probability without the `f32` suffix, e.g. `0.2`",
        ),
        (
            quote!(dropout: head "0.5";),
            "parse: expected the probability of `head` dropout, e.g. `head 0.2`",
        ),
        (quote!(dropout: head 0.1 layers 0.2;), "parse: expected `,`"),
        (quote!(pool: last mean;), "parse: expected `;`"),
    ];
    for (part, want) in cases {
        let errs = errors(quote! {
            model M(V, H) { input: one_hot(V); cell: Lstm { h: H }; head: softmax(V); loss: cross_entropy; #part }
        });
        assert_eq!(errs, [want], "{part}");
    }
}

/// A pooled yes/no classifier with every optional part.
fn pooled_classifier() -> ModelDef {
    syn::parse2(quote! {
        /// Says whether a sequence's sum is positive.
        pub model SignOfSum(W, H = 16) {
            input: dense(W);
            cell: Gru { h: H } x 2 bidirectional;
            head: sigmoid(1);
            loss: bce;
            pool: last;
            dropout: input 0.1, layers 0.25, head 0.3;
            init: learned;
        }
    })
    .unwrap()
}

#[test]
fn declaration_text_with_optional_parts() {
    assert_eq!(
        emit::declaration(&pooled_classifier()),
        "model SignOfSum(W, H = 16) {\n    input: dense(W);\n    cell: Gru { h: H } x 2 bidirectional;\n    \
         head: sigmoid(1);\n    loss: bce;\n    pool: last;\n    dropout: input 0.1, layers 0.25, head 0.3;\n    \
         init: learned;\n}"
    );
}

#[test]
fn emitted_pooled_classifier() {
    let def = pooled_classifier();
    let model = check::check(&def).unwrap_or_else(|e| panic!("{e}"));
    let file: syn::File = syn::parse2(emit::emit(&model)).expect("emitted code parses");
    insta::assert_snapshot!("model_pooled_classifier", prettyplease::unparse(&file));
}

#[test]
fn emitted_config_of_the_short_forms() {
    // `dropout: p;` is `Dropout::all(p)`; only the parts declared reach the config.
    let def: ModelDef = syn::parse2(quote! {
        model Mean(V, H) {
            input: embedding(V, 8); cell: Lstm { h: H } x 3; head: softmax(V); loss: cross_entropy;
            pool: mean; dropout: 0.2;
        }
    })
    .unwrap();
    let model = check::check(&def).unwrap_or_else(|e| panic!("{e}"));
    let text = emit::emit(&model).to_string();
    assert!(
        text.contains(
            ". layers (3) . bidirectional (false) . pooling (__rt :: Pooling :: Mean) \
             . dropout (__rt :: Dropout :: all (0.2)) }"
        ),
        "{text}"
    );
    assert!(!text.contains("learn_init ("), "{text}");
    assert!(
        text.contains("const DROPOUT : __rt :: Dropout = __rt :: Dropout { input : 0.2 , layers : 0.2 , head : 0.2 }")
    );
    assert!(text.contains("const LEARN_INIT : :: core :: primitive :: bool = false"));
}
