//! Emits the cell: its types, its `Cell` implementation and its inspection
//! constants. `quote!` lives only under this module.
//!
//! Emitted code is hygienic: absolute paths through `::rnn::__private`
//! (aliased `__rt`), helpers inside `const _: () = { ... };`, no bare
//! `Result`, `Ok`, `Vec` or primitive type names that a user type could shadow.

mod bodies;
pub mod program;

use crate::cell::ast::CellDef;
use crate::cell::flow::{Flow, Group};
use crate::cell::inspect::Texts;
use crate::cell::ir::Decls;
use crate::cell::schedule::Plans;
use proc_macro2::{Ident, TokenStream};
use program::dim;
use quote::{format_ident, quote};

/// Everything codegen reads.
pub struct Ctx<'a> {
    pub decls: &'a Decls,
    pub groups: &'a [Group],
    pub fwd_flow: &'a Flow,
    pub bwd_flow: &'a Flow,
    pub plans: &'a Plans,
}

/// Field name of a dimension in the `Dims` struct (`H` -> `h`).
pub fn dim_field(name: &Ident) -> Ident {
    format_ident!("{}", name.to_string().to_lowercase(), span = name.span())
}

pub fn dims_ident(decls: &Decls) -> Ident {
    format_ident!("{}Dims", decls.name)
}

/// The cell's public types (also emitted on error, so users see one error).
pub fn emit_types(def: &CellDef, sg_dims: &[(Ident, Option<usize>)], params: &[(Ident, usize, String)]) -> TokenStream {
    let (attrs, vis, name) = (&def.attrs, &def.vis, &def.name);
    let dims_name = format_ident!("{}Dims", name);
    let grads_name = format_ident!("{}Grads", name);
    let fields = params.iter().map(|(p, rank, shape)| {
        let doc = format!(" Parameter `{p}`, shape {shape}.");
        let ty = if *rank == 2 {
            quote!(::rnn::__private::ndarray::Array2<F>)
        } else {
            quote!(::rnn::__private::ndarray::Array1<F>)
        };
        quote!(#[doc = #doc] pub #p: #ty,)
    });
    let dim_fields = sg_dims.iter().filter(|d| d.1.is_none()).map(|(d, _)| {
        let f = dim_field(d);
        let doc = format!(" Size `{d}`.");
        quote!(#[doc = #doc] pub #f: ::core::primitive::usize,)
    });
    let states: Vec<&Ident> = def
        .decls
        .iter()
        .filter(|d| d.kind == crate::cell::ast::DeclKind::State)
        .map(|d| &d.name)
        .collect();
    let state_name = format_ident!("{}State", name);
    let state_doc = format!(" The states of [`{name}`] by name, each `[B, width]`.");
    let state_fields = states.iter().map(|s| {
        let doc = format!(" State `{s}`.");
        quote!(#[doc = #doc] pub #s: ::rnn::__private::ndarray::Array2<F>,)
    });
    let dims_doc = format!(" The sizes [`{name}`] is built with.");
    let grads_doc = format!(" Gradients of [`{name}`]'s parameters: the same fields, holding dL/dparameter.");
    quote! {
        #(#attrs)*
        #[derive(Clone, Debug)]
        #vis struct #name<F = ::core::primitive::f32> {
            /// The bound sizes.
            pub dims: #dims_name,
            #(#fields)*
        }
        #[doc = #dims_doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        #vis struct #dims_name {
            #(#dim_fields)*
        }
        #[doc = #grads_doc]
        #vis type #grads_name<F = ::core::primitive::f32> = #name<F>;
        #[doc = #state_doc]
        #[derive(Clone, Debug, PartialEq)]
        #vis struct #state_name<F = ::core::primitive::f32> {
            #(#state_fields)*
        }
        impl<F> #state_name<F> {
            /// The states in declaration order, as the `Cell` methods take them.
            pub fn into_vec(self) -> ::std::vec::Vec<::rnn::__private::ndarray::Array2<F>> {
                ::std::vec::Vec::from([#(self.#states),*])
            }
            /// From declaration order; `None` if the number of states is wrong.
            pub fn from_vec(states: ::std::vec::Vec<::rnn::__private::ndarray::Array2<F>>) -> ::core::option::Option<Self> {
                let mut it = states.into_iter();
                let s = Self { #(#states: it.next()?,)* };
                if it.next().is_some() {
                    return ::core::option::Option::None;
                }
                ::core::option::Option::Some(s)
            }
        }
    }
}

pub fn emit(def: &CellDef, cx: &Ctx<'_>) -> TokenStream {
    let decls = cx.decls;
    let name = &def.name;
    let dims_name = dims_ident(decls);
    let dims_param = cx.dim_locals(quote!(dims));
    let dims_self = cx.dim_locals(quote!(self.dims));
    let cell_name = name.to_string();
    let pnames: Vec<String> = decls.params.iter().map(|p| p.name.to_string()).collect();
    let snames: Vec<String> = decls.states.iter().map(|p| p.name.to_string()).collect();
    let pidents: Vec<&Ident> = decls.params.iter().map(|p| &p.name).collect();
    let zeros = decls.params.iter().map(|p| {
        let n = &p.name;
        match p.shape.as_slice() {
            [r, c] => {
                let (r, c) = (dim(*r), dim(*c));
                quote!(#n: __rt::ndarray::Array2::zeros((#r, #c)),)
            }
            [w] => {
                let w = dim(*w);
                quote!(#n: __rt::ndarray::Array1::zeros(#w),)
            }
            _ => unreachable!("shapes are checked"),
        }
    });
    let first_state = dim(decls.states[0].shape[0]);
    let input_width = dim(decls.inputs[0].shape[0]);
    let output_width = dim(decls.output_width());
    let state_widths = decls.states.iter().map(|s| dim(s.shape[0]));
    let with_input = {
        let d = decls.inputs[0].shape[0];
        match d.sym {
            Some(s) if d.coef == 1 && decls.dims[s].1.is_none() => {
                let f = dim_field(&decls.dims[s].0);
                quote! {
                    let mut dims = dims;
                    dims.#f = input_size;
                    __rt::core::result::Result::Ok(dims)
                }
            }
            _ => {
                let msg = format!(
                    "{} cannot take an input of another width: its input is declared with a fixed or scaled size",
                    name
                );
                quote! {
                    #dims_param
                    if #input_width == input_size {
                        __rt::core::result::Result::Ok(dims)
                    } else {
                        __rt::core::result::Result::Err(__rt::RnnError::Dimension(__rt::String::from(#msg)))
                    }
                }
            }
        }
    };
    let forward = cx.forward_body(false);
    let forward_train = cx.forward_body(true);
    let backward = cx.backward_body();
    let n_states = decls.states.len();
    // Cells that can look one-hot rows up implement the `*_input_ws` forms
    // (values or ids); their plain forms pass values to them.
    let (fwd, fwd_train, input_forms) = if cx.plans.one_hot_lookup {
        (
            quote!(<Self as __rt::Cell<F>>::forward_input_ws(
                self,
                __rt::CellInput::Values(xs),
                init,
                ws,
                out
            )),
            quote!(<Self as __rt::Cell<F>>::forward_train_input_ws(
                self,
                __rt::CellInput::Values(xs),
                init,
                ws,
                trace
            )),
            quote! {
                fn forward_input_ws(
                    &self,
                    input: __rt::CellInput<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                    ws: &mut __rt::Workspace<F>,
                    out: &mut __rt::Forward<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #forward
                }
                fn forward_train_input_ws(
                    &self,
                    input: __rt::CellInput<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                    ws: &mut __rt::Workspace<F>,
                    trace: &mut __rt::Trace<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #forward_train
                }
            },
        )
    } else {
        (forward, forward_train, TokenStream::new())
    };
    let forwards = quote! {
        fn forward_ws(
            &self,
            xs: __rt::ndarray::ArrayView3<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            out: &mut __rt::Forward<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            #fwd
        }
        fn forward_train_ws(
            &self,
            xs: __rt::ndarray::ArrayView3<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            trace: &mut __rt::Trace<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            #fwd_train
        }
        #input_forms
    };
    quote! {
        #[allow(clippy::all, unused_mut, unused_variables, unused_parens, non_snake_case, clippy::pedantic)]
        const _: () = {
            use ::rnn::__private as __rt;
            #[automatically_derived]
            impl<F: __rt::Float> __rt::Cell<F> for #name<F> {
                type Dims = #dims_name;
                const NAME: &'static ::core::primitive::str = #cell_name;
                const PARAM_NAMES: &'static [&'static ::core::primitive::str] = &[#(#pnames),*];
                const STATE_NAMES: &'static [&'static ::core::primitive::str] = &[#(#snames),*];

                fn new<R: __rt::rand::Rng + ?::core::marker::Sized>(dims: #dims_name, rng: &mut R) -> Self {
                    #dims_param
                    let mut __cell = <Self as __rt::Cell<F>>::zeros(dims);
                    let __bound = 1.0f64 / (#first_state as ::core::primitive::f64).sqrt();
                    #( __rt::uniform_fill(__cell.#pidents.as_slice_mut().expect("standard layout"), __bound, rng); )*
                    __cell
                }
                fn zeros(dims: #dims_name) -> Self {
                    #dims_param
                    Self { dims, #(#zeros)* }
                }
                fn dims(&self) -> #dims_name {
                    self.dims
                }
                fn with_input_size(dims: #dims_name, input_size: ::core::primitive::usize) -> __rt::core::result::Result<#dims_name, __rt::RnnError> {
                    #with_input
                }
                fn input_size(&self) -> ::core::primitive::usize {
                    #dims_self
                    #input_width
                }
                fn output_size(&self) -> ::core::primitive::usize {
                    #dims_self
                    #output_width
                }
                fn state_sizes(&self) -> __rt::Vec<::core::primitive::usize> {
                    #dims_self
                    __rt::Vec::from([#(#state_widths),*])
                }
                fn fill_zero(&mut self) {
                    #( self.#pidents.fill(F::zero()); )*
                }
                fn params(&self) -> __rt::Vec<(&'static ::core::primitive::str, __rt::ndarray::ArrayViewD<'_, F>)> {
                    __rt::Vec::from([#((#pnames, self.#pidents.view().into_dyn())),*])
                }
                fn params_mut(&mut self) -> __rt::Vec<(&'static ::core::primitive::str, __rt::ndarray::ArrayViewMutD<'_, F>)> {
                    __rt::Vec::from([#((#pnames, self.#pidents.view_mut().into_dyn())),*])
                }
                #forwards
                fn backward_ws(
                    &self,
                    trace: &__rt::Trace<F>,
                    d_out: __rt::ndarray::ArrayView3<'_, F>,
                    d_final: &[__rt::ndarray::Array2<F>],
                    grads: &mut Self,
                    ws: &mut __rt::Workspace<F>,
                    input: &mut __rt::InputGrads<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #backward
                }
                fn step(
                    &self,
                    x: __rt::ndarray::ArrayView2<'_, F>,
                    state: &mut [__rt::ndarray::Array2<F>],
                ) -> __rt::core::result::Result<__rt::ndarray::Array2<F>, __rt::RnnError> {
                    if state.len() != #n_states {
                        return __rt::core::result::Result::Err(__rt::RnnError::shape("state (number of states)", &[#n_states], &[state.len()]));
                    }
                    let __f = <Self as __rt::Cell<F>>::forward(self, x.insert_axis(__rt::ndarray::Axis(0)), state)?;
                    for (__s, __n) in state.iter_mut().zip(__f.states) {
                        *__s = __n;
                    }
                    __rt::core::result::Result::Ok(__f.outputs.index_axis_move(__rt::ndarray::Axis(0), 0))
                }
            }
        };
    }
}

/// The reference schedule as hidden inherent methods, for differential tests.
pub fn emit_naive(def: &CellDef, cx: &Ctx<'_>) -> TokenStream {
    let name = &def.name;
    let forward_train = cx.forward_body(true);
    let backward = cx.backward_body();
    quote! {
        #[allow(clippy::all, unused_mut, unused_variables, unused_parens, non_snake_case, clippy::pedantic)]
        const _: () = {
            use ::rnn::__private as __rt;
            impl<F: __rt::Float> #name<F> {
                /// `forward_train` under the naive schedule (every value stored, nothing hoisted or stacked).
                #[doc(hidden)]
                pub fn naive_forward_train(
                    &self,
                    xs: __rt::ndarray::ArrayView3<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                ) -> __rt::core::result::Result<__rt::Trace<F>, __rt::RnnError> {
                    let mut trace = __rt::Trace::empty();
                    self.naive_forward_train_ws(xs, init, &mut __rt::Workspace::new(), &mut trace)?;
                    __rt::core::result::Result::Ok(trace)
                }
                #[doc(hidden)]
                pub fn naive_forward_train_ws(
                    &self,
                    xs: __rt::ndarray::ArrayView3<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                    ws: &mut __rt::Workspace<F>,
                    trace: &mut __rt::Trace<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #forward_train
                }
                /// `backward_into` under the naive schedule; takes a trace from `naive_forward_train`.
                #[doc(hidden)]
                pub fn naive_backward_into(
                    &self,
                    trace: &__rt::Trace<F>,
                    d_out: __rt::ndarray::ArrayView3<'_, F>,
                    d_final: &[__rt::ndarray::Array2<F>],
                    grads: &mut Self,
                ) -> __rt::core::result::Result<__rt::InputGrads<F>, __rt::RnnError> {
                    let mut input = __rt::InputGrads::empty();
                    self.naive_backward_ws(trace, d_out, d_final, grads, &mut __rt::Workspace::new(), &mut input)?;
                    __rt::core::result::Result::Ok(input)
                }
                #[doc(hidden)]
                pub fn naive_backward_ws(
                    &self,
                    trace: &__rt::Trace<F>,
                    d_out: __rt::ndarray::ArrayView3<'_, F>,
                    d_final: &[__rt::ndarray::Array2<F>],
                    grads: &mut Self,
                    ws: &mut __rt::Workspace<F>,
                    input: &mut __rt::InputGrads<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #backward
                }
            }
        };
    }
}

/// `impl Name<F> { pub const SOURCE ... }` with the inspection strings.
pub fn emit_consts(name: &Ident, texts: &Texts) -> TokenStream {
    let Texts {
        source,
        step_dot,
        unrolled_dot,
        plan,
        shapes,
    } = texts;
    let rows = shapes.iter().map(|(a, b)| quote!((#a, #b)));
    quote! {
        impl<F> #name<F> {
            /// The Rust this cell compiled to, pretty-printed.
            pub const SOURCE: &'static ::core::primitive::str = #source;
            /// The step graph in Graphviz DOT.
            pub const STEP_DOT: &'static ::core::primitive::str = #step_dot;
            /// The graph unrolled over three steps in Graphviz DOT, with the
            /// time plan's decisions marked (hoisted, stacked, saved).
            pub const UNROLLED_DOT: &'static ::core::primitive::str = #unrolled_dot;
            /// The scheduled programs (forward, training forward, backward) as text.
            pub const PLAN: &'static ::core::primitive::str = #plan;
            /// Every value of the step with its symbolic shape.
            pub const SHAPES: &'static [(&'static ::core::primitive::str, &'static ::core::primitive::str)] = &[#(#rows),*];
        }
    }
}
