//! The cell's public types: the parameter struct (generic over the float
//! type, with its sizes), `NameDims`, `NameGrads` and `NameState`.
//!
//! Also emitted beside `compile_error!` when the cell has an error
//! (`fallback.rs`), from what the user wrote, so the user sees one error
//! and not a cascade of "cannot find type".

use super::tokens::dim_field;
use crate::cell::ast::{CellDef, DeclKind};
use crate::cell::ir::Decls;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// A parameter field of the cell struct.
pub struct Field {
    pub name: Ident,
    /// `Array2` if true, else `Array1`.
    pub matrix: bool,
    /// The shape in the field's doc (`[4 * H, I]`; empty when unknown).
    pub shape: String,
}

/// The parameter fields of a checked cell.
pub fn fields(decls: &Decls) -> Vec<Field> {
    decls
        .params
        .iter()
        .map(|p| Field {
            name: p.name.clone(),
            matrix: p.shape.len() == 2,
            shape: p.show_shape(&decls.dims),
        })
        .collect()
}

/// The cell's public types (also emitted on error, so users see one error).
pub fn emit(def: &CellDef, dims: &[(Ident, Option<usize>)], fields: &[Field]) -> TokenStream {
    let (attrs, vis, name) = (&def.attrs, &def.vis, &def.name);
    let dims_name = format_ident!("{}Dims", name);
    let grads_name = format_ident!("{}Grads", name);
    let no_params = fields.is_empty();
    let fields = fields.iter().map(|Field { name: p, matrix, shape }| {
        let doc = format!(" Parameter `{p}`, shape {shape}.");
        let ty = if *matrix {
            quote!(::rnn::__private::ndarray::Array2<F>)
        } else {
            quote!(::rnn::__private::ndarray::Array1<F>)
        };
        quote!(#[doc = #doc] pub #p: #ty,)
    });
    let dim_fields = dims.iter().filter(|d| d.1.is_none()).map(|(d, _)| {
        let f = dim_field(d);
        let doc = format!(" Size `{d}`.");
        quote!(#[doc = #doc] pub #f: ::core::primitive::usize,)
    });
    let states: Vec<&Ident> = def
        .decls
        .iter()
        .filter(|d| d.kind == DeclKind::State)
        .map(|d| &d.name)
        .collect();
    let state_name = format_ident!("{}State", name);
    let state_doc = format!(" The states of [`{name}`] by name, each `[B, width]`.");
    let state_fields = states.iter().map(|s| {
        let doc = format!(" State `{s}`.");
        quote!(#[doc = #doc] pub #s: ::rnn::__private::ndarray::Array2<F>,)
    });
    // Only a cell with an error has no state; its struct must still use `F`
    // so that rustc adds nothing to the error the user is shown.
    let (marker, marker_init, vec_of) = if states.is_empty() {
        (
            quote!(#[doc(hidden)] pub __no_state: ::core::marker::PhantomData<F>,),
            quote!(__no_state: ::core::marker::PhantomData,),
            quote!(::<::rnn::__private::ndarray::Array2<F>>),
        )
    } else {
        (quote!(), quote!(), quote!())
    };
    // Likewise a cell with no parameter (an error too).
    let param_marker = if no_params {
        quote!(#[doc(hidden)] pub __no_params: ::core::marker::PhantomData<F>,)
    } else {
        quote!()
    };
    let dims_doc = format!(" The sizes [`{name}`] is built with.");
    let grads_doc = format!(" Gradients of [`{name}`]'s parameters: the same fields, holding dL/dparameter.");
    quote! {
        #(#attrs)*
        #[derive(Clone, Debug)]
        #vis struct #name<F = ::core::primitive::f32> {
            /// The bound sizes.
            pub dims: #dims_name,
            #(#fields)*
            #param_marker
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
            #marker
        }
        impl<F> #state_name<F> {
            /// The states in declaration order, as the `Cell` methods take them.
            pub fn into_vec(self) -> ::std::vec::Vec<::rnn::__private::ndarray::Array2<F>> {
                ::std::vec::Vec #vec_of ::from([#(self.#states),*])
            }
            /// From declaration order; `None` if the number of states is wrong.
            pub fn from_vec(states: ::std::vec::Vec<::rnn::__private::ndarray::Array2<F>>) -> ::core::option::Option<Self> {
                let mut it = states.into_iter();
                let s = Self { #(#states: it.next()?,)* #marker_init };
                if it.next().is_some() {
                    return ::core::option::Option::None;
                }
                ::core::option::Option::Some(s)
            }
        }
    }
}
