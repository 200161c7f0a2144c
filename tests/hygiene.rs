//! The emitted code must not depend on names a user can shadow: this module
//! declares types, values and macros named like prelude items and
//! primitives, then declares a cell beside them and runs every entry point.
//! A bare `Result`, `Ok`, `Vec`, `f32`, `str`, `vec!`, ... in the generated
//! code would resolve to one of these and fail to compile.
#![allow(dead_code, non_camel_case_types, unused_macros)]

// Prelude types and values.
struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct Vec;
struct Box;
struct String;
// Prelude traits.
struct Clone;
struct Copy;
struct Default;
struct Sized;
struct Send;
struct Sync;
struct Drop;
struct Fn;
struct FnMut;
struct FnOnce;
struct Iterator;
struct IntoIterator;
struct DoubleEndedIterator;
struct ExactSizeIterator;
struct Extend;
struct From;
struct Into;
struct TryFrom;
struct TryInto;
struct AsRef;
struct AsMut;
struct PartialEq;
struct Eq;
struct PartialOrd;
struct Ord;
struct ToOwned;
struct ToString;
// Primitive types.
struct f32;
struct f64;
struct usize;
struct isize;
struct u8;
struct u32;
struct u64;
struct i32;
struct i64;
struct bool;
struct char;
struct str;
// Modules a bare `std::` or `core::` path would hit.
mod std {}
mod core {}
mod alloc {}
// Prelude macros.
macro_rules! vec {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `vec!`")
    };
}
macro_rules! format {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `format!`")
    };
}
macro_rules! panic {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `panic!`")
    };
}
macro_rules! assert {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `assert!`")
    };
}
macro_rules! assert_eq {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `assert_eq!`")
    };
}
macro_rules! debug_assert {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `debug_assert!`")
    };
}
macro_rules! debug_assert_eq {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `debug_assert_eq!`")
    };
}
macro_rules! unreachable {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `unreachable!`")
    };
}
macro_rules! unimplemented {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `unimplemented!`")
    };
}
macro_rules! todo {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `todo!`")
    };
}
macro_rules! matches {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `matches!`")
    };
}
macro_rules! write {
    ($($t:tt)*) => {
        ::core::compile_error!("generated code used a bare `write!`")
    };
}

rnn::cell! {
    /// Every operation of the language, two states and an output, declared
    /// among shadowing names.
    pub cell Shadowed(I, H, O) {
        input x: [I];
        state h: [H];
        state c: [H];
        output y: [O];
        param w: [4 * H, I];
        param u: [4 * H, H];
        param b: [4 * H];
        param p: [H];
        param v: [O, H];
        param tanh_g: [H];

        // Value names the emitted code must keep apart from its own: a
        // generated name (`t3`), a sub-block's (`gates_0`), the loop's
        // (`__n`, `__j`), a type's (`F`), a unit struct's (`Some`); and
        // the names it gives its slices and adjoints: a stored value's
        // (`c_new_out`), a gradient's (`d_b`), the given adjoints (`d_out`,
        // `d_h_next`), a product's (`w_x`), a function's (`tanh_g`, also a
        // parameter's name).
        let gates = w @ x + u @ h + b;
        let gates_0 = gates * 1.0;
        let d_b = gates_0 + 0.0;
        let c_new_out = d_b * 1.0;
        let d_out = c_new_out - 0.0;
        let d_h_next = d_out * 1.0;
        let w_x = d_h_next + 0.0;
        let t3 = w_x + 0.0;
        let __n = t3;
        let __j = __n;
        let F = __j;
        let Some = F;
        let [i, f, g, o] = split(Some);
        c = sigmoid(f) * c + hard_sigmoid(i) * tanh(g) - 0.1 * exp(-(c * c));
        h = sigmoid(o) * relu(c + p) + tanh_g * tanh(g);
        y = tanh(v @ h);
    }
}

type Real = ::core::primitive::f64;

#[test]
fn shadowed_cell_runs() {
    use ::rnn::Cell as _;
    let (t, batch, i, hidden, o) = (5, 2, 3, 4, 2);
    let cell = Shadowed::<Real>::new(ShadowedDims { i, h: hidden, o }, &mut ::rnn::seeded_rng(0));
    ::core::assert_eq!(cell.input_size(), i);
    ::core::assert_eq!(cell.output_size(), o);
    ::core::assert_eq!(cell.state_sizes(), ::std::vec![hidden, hidden]);

    let xs =
        ::ndarray::Array3::<Real>::from_shape_fn((t, batch, i), |(a, b, c)| ((a * 7 + b * 3 + c) as Real * 0.37).sin());

    let out = cell.forward(xs.view(), &[]).expect("forward");
    ::core::assert_eq!(out.outputs.shape(), &[t, batch, o]);
    ::core::assert_eq!(out.states.len(), 2);
    for s in &out.states {
        ::core::assert_eq!(s.shape(), &[batch, hidden]);
    }

    let trace = cell.forward_train(xs.view(), &[]).expect("forward_train");
    ::core::assert_eq!(trace.outputs.shape(), &[t, batch, o]);
    ::core::assert_eq!(trace.outputs, out.outputs);

    let d_out = ::ndarray::Array3::<Real>::ones((t, batch, o));
    let (grads, input) = cell.backward(&trace, d_out.view(), &[]).expect("backward");
    ::core::assert_eq!(input.d_xs.shape(), &[t, batch, i]);
    ::core::assert_eq!(input.d_init.len(), 2);
    for d in &input.d_init {
        ::core::assert_eq!(d.shape(), &[batch, hidden]);
    }
    ::core::assert_eq!(grads.w.dim(), (4 * hidden, i));
    ::core::assert_eq!(grads.u.dim(), (4 * hidden, hidden));
    ::core::assert_eq!(grads.b.dim(), 4 * hidden);
    ::core::assert_eq!(grads.p.dim(), hidden);
    ::core::assert_eq!(grads.v.dim(), (o, hidden));
    ::core::assert!(grads.v.iter().any(|g| *g != 0.0), "the output weight gets a gradient");

    let mut state = cell.zero_state(batch);
    let mut last = ::core::option::Option::None;
    for step in 0..t {
        let y = cell
            .step(xs.index_axis(::ndarray::Axis(0), step), &mut state)
            .expect("step");
        ::core::assert_eq!(y.shape(), &[batch, o]);
        last = ::core::option::Option::Some(y);
    }
    let last = last.expect("at least one step");
    ::core::assert_eq!(state.len(), 2);
    for s in &state {
        ::core::assert_eq!(s.shape(), &[batch, hidden]);
    }
    // Streaming and sequence forward agree.
    let diff = (&last - &out.outputs.index_axis(::ndarray::Axis(0), t - 1)).mapv(Real::abs);
    ::core::assert!(diff.iter().all(|d| *d < 1e-12), "step and forward disagree");
}
