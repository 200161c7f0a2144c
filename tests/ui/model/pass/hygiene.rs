// The emitted code must not depend on names a user can shadow: types,
// traits and macros named like prelude items sit beside the declaration.
#![allow(dead_code, non_camel_case_types, unused_macros)]

struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct Vec;
struct Box;
struct String;
struct Clone;
struct Copy;
struct Default;
struct Sized;
struct PartialEq;
struct Eq;
struct From;
struct Into;
struct AsRef;
struct f32;
struct f64;
struct usize;
struct bool;
struct str;
struct Deref;
struct BTreeMap;
struct Path;
mod std {}
mod core {}
macro_rules! assert {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `assert!`")
    };
}
macro_rules! stringify {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `stringify!`")
    };
}
macro_rules! unimplemented {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `unimplemented!`")
    };
}

rnn::model! {
    /// A model declared among shadowing names.
    pub model Shadowed(V, H, O = 2) {
        input: embedding(V, 3);
        cell: rnn::cells::Gru { h: H } x 2 bidirectional;
        head: sigmoid(O);
        loss: mse;
    }
}

fn main() {
    let sizes = ShadowedSizes { v: 4, h: 3 };
    let model = Shadowed::<::core::primitive::f64>::new(sizes, &mut rnn::seeded_rng(0)).unwrap();
    let copy = ::core::clone::Clone::clone(&model);
    ::core::assert_eq!(copy.sizes(), sizes);
    ::core::assert_eq!(model.hidden_size(), 6);
    ::core::assert!(::std::format!("{model:?}").starts_with("Shadowed"));
    let _ = Shadowed::<::core::primitive::f64>::zeros(sizes).unwrap();
    let _ = <Shadowed>::DECLARATION;
}
