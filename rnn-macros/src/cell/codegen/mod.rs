//! Emits the cell from its declarations and its schedule: its types
//! ([`types`]), its `Cell` implementation ([`emit`], here), its inspection
//! constants ([`consts`]) and, for cells that ask, the reference schedule
//! ([`reference`]). `quote!` lives only under this module, and nothing here
//! fails or decides: every choice was made by the scheduler.
//!
//! Emitted code is hygienic: absolute paths through `::rnn::__private`
//! (aliased `__rt`), helpers inside `const _: () = { ... };`, no bare
//! `Result`, `Ok`, `Vec` or primitive type names that a user type could
//! shadow. Buffers are plain `Vec`s taken from the workspace before the
//! time loop, so the loop allocates nothing.

mod backward;
mod body;
pub mod consts;
mod forward;
mod gemm;
mod kernel;
pub mod reference;
mod slices;
mod tokens;
pub mod types;

use crate::cell::ir::Decls;
use crate::cell::schedule::Plans;
use body::Ctx;
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use tokens::{dim, dim_field, dims, dims_ident};

/// The cell's `Cell` implementation.
pub fn emit(decls: &Decls, plans: &Plans) -> TokenStream {
    let cx = &Ctx { decls, plans };
    let name = &decls.name;
    let dims_name = dims_ident(decls);
    let dims_param = cx.dim_locals(quote!(dims));
    let dims_self = cx.dim_locals(quote!(self.dims));
    let cell_name = name.to_string();
    let pnames: Vec<String> = decls.params.iter().map(|p| p.name.to_string()).collect();
    let snames: Vec<String> = decls.states.iter().map(|p| p.name.to_string()).collect();
    let pidents: Vec<&Ident> = decls.params.iter().map(|p| &p.name).collect();
    let pindex: Vec<proc_macro2::Literal> = (0..pidents.len()).map(proc_macro2::Literal::usize_unsuffixed).collect();
    let n_params = pidents.len();
    let zeros = decls.params.iter().map(|p| {
        let n = &p.name;
        match p.shape.as_slice() {
            [r, c] => {
                let (r, c) = (dim(*r), if p.parts.is_empty() { dim(*c) } else { dims(&p.parts) });
                quote!(#n: __rt::ndarray::Array2::zeros((#r, #c)),)
            }
            [w] => {
                let w = dim(*w);
                quote!(#n: __rt::ndarray::Array1::zeros(#w),)
            }
            // A scalar is held as one value.
            [] => quote!(#n: __rt::ndarray::Array1::zeros(1usize),),
            _ => unreachable!("shapes are checked"),
        }
    });
    let first_state = dim(decls.states[0].shape[0]);
    let input_width = dims(&decls.input_widths());
    let output_width = dim(decls.output_width());
    let state_widths = decls.states.iter().map(|s| dim(s.shape[0]));
    let with_input = {
        let d = decls.inputs[0].shape[0];
        match d.sym {
            Some(s) if decls.inputs.len() == 1 && d.coef == 1 && decls.dims[s].1.is_none() => {
                let f = dim_field(&decls.dims[s].0);
                quote! {
                    let mut dims = dims;
                    dims.#f = input_size;
                    __rt::core::result::Result::Ok(dims)
                }
            }
            _ => {
                let msg = if decls.inputs.len() == 1 {
                    format!(
                        "{} cannot take an input of another width: its input is declared with a fixed or scaled size",
                        name
                    )
                } else {
                    format!(
                        "{} takes its inputs side by side and cannot take an input of another width: build it with sizes whose inputs add up to the width given",
                        name
                    )
                };
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
    let forward = forward::body(cx, false);
    let forward_train = forward::body(cx, true);
    let backward = backward::body(cx);
    let n_states = decls.states.len();
    // Every form of the forward pass runs one body per program: the packed
    // one, which a full batch reaches with `BatchSizes::full`.
    let forwards = quote! {
        fn forward_ws(
            &self,
            xs: __rt::ndarray::ArrayView3<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            out: &mut __rt::Forward<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            let (__t_len, __b) = __rt::check_input("xs", &xs, <Self as __rt::Cell<F>>::input_size(self))?;
            <Self as __rt::Cell<F>>::forward_packed_ws(self, __rt::CellInput::Values(xs), __rt::BatchSizes::full(__t_len, __b), init, ws, out)
        }
        fn forward_train_ws(
            &self,
            xs: __rt::ndarray::ArrayView3<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            trace: &mut __rt::Trace<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            let (__t_len, __b) = __rt::check_input("xs", &xs, <Self as __rt::Cell<F>>::input_size(self))?;
            <Self as __rt::Cell<F>>::forward_train_packed_ws(self, __rt::CellInput::Values(xs), __rt::BatchSizes::full(__t_len, __b), init, ws, trace)
        }
        fn forward_input_ws(
            &self,
            input: __rt::CellInput<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            out: &mut __rt::Forward<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            let (__t_len, __b) = input.check("xs", <Self as __rt::Cell<F>>::input_size(self))?;
            <Self as __rt::Cell<F>>::forward_packed_ws(self, input, __rt::BatchSizes::full(__t_len, __b), init, ws, out)
        }
        fn forward_train_input_ws(
            &self,
            input: __rt::CellInput<'_, F>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            trace: &mut __rt::Trace<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            let (__t_len, __b) = input.check("xs", <Self as __rt::Cell<F>>::input_size(self))?;
            <Self as __rt::Cell<F>>::forward_train_packed_ws(self, input, __rt::BatchSizes::full(__t_len, __b), init, ws, trace)
        }
        fn forward_packed_ws(
            &self,
            input: __rt::CellInput<'_, F>,
            sizes: __rt::BatchSizes<'_>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            out: &mut __rt::Forward<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            #forward
        }
        fn forward_train_packed_ws(
            &self,
            input: __rt::CellInput<'_, F>,
            sizes: __rt::BatchSizes<'_>,
            init: &[__rt::ndarray::Array2<F>],
            ws: &mut __rt::Workspace<F>,
            trace: &mut __rt::Trace<F>,
        ) -> __rt::core::result::Result<(), __rt::RnnError> {
            #forward_train
        }
    };
    quote! {
        #[allow(clippy::all, unused_mut, unused_variables, unused_assignments, unused_parens, non_snake_case, unused_doc_comments, clippy::pedantic)]
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
                fn param(&self, k: ::core::primitive::usize) -> __rt::ndarray::ArrayViewD<'_, F> {
                    match k {
                        #( #pindex => self.#pidents.view().into_dyn(), )*
                        _ => ::core::panic!("{} has {} parameters, asked for parameter {}", #cell_name, #n_params, k),
                    }
                }
                fn param_mut(&mut self, k: ::core::primitive::usize) -> __rt::ndarray::ArrayViewMutD<'_, F> {
                    match k {
                        #( #pindex => self.#pidents.view_mut().into_dyn(), )*
                        _ => ::core::panic!("{} has {} parameters, asked for parameter {}", #cell_name, #n_params, k),
                    }
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
