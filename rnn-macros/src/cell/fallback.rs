//! On error: the cell's public skeleton beside `compile_error!`, so the user
//! sees the real error and not a cascade of "cannot find type" errors.
//! Built from what the user wrote (`CellDef`), since the cell did not
//! resolve or check: the same types as a checked cell, and a `Cell`
//! implementation whose methods are `unimplemented!()`.

use crate::cell::ast::{CellDef, DeclKind};
use crate::cell::codegen::types::{self, Field};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

pub fn skeleton(def: &CellDef) -> TokenStream {
    let dims: Vec<_> = def
        .dims
        .iter()
        .map(|d| (d.name.clone(), d.fixed.map(|f| f.0)))
        .collect();
    let params: Vec<_> = def
        .decls
        .iter()
        .filter(|d| d.kind == DeclKind::Param)
        .map(|d| Field {
            name: d.name.clone(),
            matrix: d.shape.len() >= 2,
            shape: String::new(),
        })
        .collect();
    let mut out = types::emit(def, &dims, &params);
    let name = &def.name;
    let dims_name = format_ident!("{}Dims", name);
    out.extend(quote! {
        #[allow(unused_variables, clippy::all)]
        const _: () = {
            use ::rnn::__private as __rt;
            impl<F: __rt::Float> __rt::Cell<F> for #name<F> {
                type Dims = #dims_name;
                const NAME: &'static ::core::primitive::str = "";
                const PARAM_NAMES: &'static [&'static ::core::primitive::str] = &[];
                const STATE_NAMES: &'static [&'static ::core::primitive::str] = &[];
                fn new<R: __rt::rand::Rng + ?::core::marker::Sized>(dims: #dims_name, rng: &mut R) -> Self { ::core::unimplemented!() }
                fn zeros(dims: #dims_name) -> Self { ::core::unimplemented!() }
                fn dims(&self) -> #dims_name { ::core::unimplemented!() }
                fn with_input_size(dims: #dims_name, input_size: ::core::primitive::usize) -> __rt::core::result::Result<#dims_name, __rt::RnnError> { ::core::unimplemented!() }
                fn input_size(&self) -> ::core::primitive::usize { ::core::unimplemented!() }
                fn output_size(&self) -> ::core::primitive::usize { ::core::unimplemented!() }
                fn state_sizes(&self) -> __rt::Vec<::core::primitive::usize> { ::core::unimplemented!() }
                fn params(&self) -> __rt::Vec<(&'static ::core::primitive::str, __rt::ndarray::ArrayViewD<'_, F>)> { ::core::unimplemented!() }
                fn params_mut(&mut self) -> __rt::Vec<(&'static ::core::primitive::str, __rt::ndarray::ArrayViewMutD<'_, F>)> { ::core::unimplemented!() }
                fn forward_ws(&self, xs: __rt::ndarray::ArrayView3<'_, F>, init: &[__rt::ndarray::Array2<F>], ws: &mut __rt::Workspace<F>, out: &mut __rt::Forward<F>) -> __rt::core::result::Result<(), __rt::RnnError> { ::core::unimplemented!() }
                fn forward_train_ws(&self, xs: __rt::ndarray::ArrayView3<'_, F>, init: &[__rt::ndarray::Array2<F>], ws: &mut __rt::Workspace<F>, trace: &mut __rt::Trace<F>) -> __rt::core::result::Result<(), __rt::RnnError> { ::core::unimplemented!() }
                fn backward_ws(&self, trace: &__rt::Trace<F>, d_out: __rt::ndarray::ArrayView3<'_, F>, d_final: &[__rt::ndarray::Array2<F>], grads: &mut Self, ws: &mut __rt::Workspace<F>, input: &mut __rt::InputGrads<F>) -> __rt::core::result::Result<(), __rt::RnnError> { ::core::unimplemented!() }
                fn step(&self, x: __rt::ndarray::ArrayView2<'_, F>, state: &mut [__rt::ndarray::Array2<F>]) -> __rt::core::result::Result<__rt::ndarray::Array2<F>, __rt::RnnError> { ::core::unimplemented!() }
            }
        };
    });
    out
}
