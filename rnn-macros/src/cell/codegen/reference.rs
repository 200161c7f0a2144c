//! The reference schedule as hidden inherent methods, for differential
//! tests: emitted only for a cell declared with `#[reference_schedule]`.
//!
//! `plans` were made under `Options::REFERENCE`; the bodies are the same
//! emitters the optimised methods use.

use super::body::Ctx;
use super::{backward, forward};
use crate::cell::ir::Decls;
use crate::cell::schedule::Plans;
use proc_macro2::TokenStream;
use quote::quote;

/// The reference schedule as hidden inherent methods, for differential tests.
pub fn emit(decls: &Decls, plans: &Plans) -> TokenStream {
    let cx = &Ctx { decls, plans };
    let name = &decls.name;
    let forward_train = forward::body(cx, true);
    let backward = backward::body(cx);
    quote! {
        #[allow(clippy::all, unused_mut, unused_variables, unused_assignments, unused_parens, non_snake_case, unused_doc_comments, clippy::pedantic)]
        const _: () = {
            use ::rnn::__private as __rt;
            impl<F: __rt::Float> #name<F> {
                /// `forward_train` under the reference schedule (every value stored, nothing hoisted or stacked).
                #[doc(hidden)]
                pub fn reference_forward_train(
                    &self,
                    xs: __rt::ndarray::ArrayView3<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                ) -> __rt::core::result::Result<__rt::Trace<F>, __rt::RnnError> {
                    let mut trace = __rt::Trace::empty();
                    self.reference_forward_train_ws(xs, init, &mut __rt::Workspace::new(), &mut trace)?;
                    __rt::core::result::Result::Ok(trace)
                }
                #[doc(hidden)]
                pub fn reference_forward_train_ws(
                    &self,
                    xs: __rt::ndarray::ArrayView3<'_, F>,
                    init: &[__rt::ndarray::Array2<F>],
                    ws: &mut __rt::Workspace<F>,
                    trace: &mut __rt::Trace<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    let (__t_len, __b) = __rt::check_input("xs", &xs, <Self as __rt::Cell<F>>::input_size(self))?;
                    self.reference_forward_train_packed_ws(__rt::CellInput::Values(xs), __rt::BatchSizes::full(__t_len, __b), init, ws, trace)
                }
                /// `forward_train_packed` under the reference schedule.
                #[doc(hidden)]
                pub fn reference_forward_train_packed(
                    &self,
                    input: __rt::CellInput<'_, F>,
                    sizes: __rt::BatchSizes<'_>,
                    init: &[__rt::ndarray::Array2<F>],
                ) -> __rt::core::result::Result<__rt::Trace<F>, __rt::RnnError> {
                    let mut trace = __rt::Trace::empty();
                    self.reference_forward_train_packed_ws(input, sizes, init, &mut __rt::Workspace::new(), &mut trace)?;
                    __rt::core::result::Result::Ok(trace)
                }
                #[doc(hidden)]
                pub fn reference_forward_train_packed_ws(
                    &self,
                    input: __rt::CellInput<'_, F>,
                    sizes: __rt::BatchSizes<'_>,
                    init: &[__rt::ndarray::Array2<F>],
                    ws: &mut __rt::Workspace<F>,
                    trace: &mut __rt::Trace<F>,
                ) -> __rt::core::result::Result<(), __rt::RnnError> {
                    #forward_train
                }
                /// `backward_into` under the reference schedule; takes a trace from `reference_forward_train`.
                #[doc(hidden)]
                pub fn reference_backward_into(
                    &self,
                    trace: &__rt::Trace<F>,
                    d_out: __rt::ndarray::ArrayView3<'_, F>,
                    d_final: &[__rt::ndarray::Array2<F>],
                    grads: &mut Self,
                ) -> __rt::core::result::Result<__rt::InputGrads<F>, __rt::RnnError> {
                    let mut input = __rt::InputGrads::empty();
                    self.reference_backward_ws(trace, d_out, d_final, grads, &mut __rt::Workspace::new(), &mut input)?;
                    __rt::core::result::Result::Ok(input)
                }
                #[doc(hidden)]
                pub fn reference_backward_ws(
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
