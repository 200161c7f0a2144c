//! [`Model`] -> tokens: the sizes struct, the cell alias, the model struct
//! wrapping the runtime's `SeqModel`, its constructors and constants.
//!
//! Infallible: everything the macro can judge was judged by the checker.
//! What it cannot see is left to rustc at the user's tokens: every mention
//! of the cell type is spanned at the cell's path (so "does not implement
//! `Cell`" lands there) and every `Dims` field at the field the user wrote
//! (so a misspelled field is "no field `hh` on type `LstmDims`" there).
//! Paths are absolute (`::rnn::__private`, `::core`, `::std`), so user
//! types named `Result`, `Vec`, ... do not interfere.

use super::ast::{DropoutPart, ModelDef, Part, PartBody, Size};
use super::check::{Activation, Dropout, Encoding, Loss, Model, Pooling, Rate, Value};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, LitInt, Member};

/// The names of the generated items.
struct Names {
    model: Ident,
    sizes: Ident,
    cell: Ident,
}

impl Names {
    fn of(def: &ModelDef) -> Names {
        Names {
            model: def.name.clone(),
            sizes: format_ident!("{}Sizes", def.name),
            cell: format_ident!("{}Cell", def.name),
        }
    }
}

/// What every piece of the output shares: the names, and the cell type
/// spanned at the user's path.
struct Cx<'a> {
    m: &'a Model<'a>,
    model: &'a Ident,
    sizes: Ident,
    /// `NameCell`, at the cell's span.
    cell: Ident,
    cell_span: Span,
    /// `NameCell<F>`.
    cell_ty: TokenStream,
    /// `<NameCell<F> as __rt::Cell<F>>`.
    cell_trait: TokenStream,
    /// `__rt::SeqModel<F, NameCell<F>>`.
    seq_ty: TokenStream,
    /// `NameCell<F>: __rt::Cell<F>`.
    cell_bound: TokenStream,
}

impl<'a> Cx<'a> {
    fn new(m: &'a Model<'a>) -> Self {
        let names = Names::of(m.def);
        let cell_span = m.cell.ty.span();
        let cell = Ident::new(&names.cell.to_string(), cell_span);
        let cell_ty = quote_spanned!(cell_span=> #cell<F>);
        Cx {
            m,
            model: &m.def.name,
            sizes: names.sizes,
            cell_trait: quote_spanned!(cell_span=> <#cell_ty as __rt::Cell<F>>),
            seq_ty: quote_spanned!(cell_span=> __rt::SeqModel<F, #cell_ty>),
            cell_bound: quote_spanned!(cell_span=> #cell_ty: __rt::Cell<F>),
            cell,
            cell_span,
            cell_ty,
        }
    }
}

/// Everything `model!` emits for a checked model.
pub fn emit(m: &Model<'_>) -> TokenStream {
    let cx = Cx::new(m);
    let items = items(&cx);
    let helpers = helpers(&cx);
    let inherent = inherent(&cx);
    let traits = traits(&cx);
    let (activation, loss) = (activation_tokens(m.activation), loss_tokens(m.loss));
    let agree_msg = "rnn::model! and the runtime disagree on which loss goes with which head; update rnn-macros";
    quote! {
        #items

        #[allow(unused_qualifications, clippy::all)]
        const _: () = {
            use ::rnn::__private as __rt;

            const _: () = ::core::assert!(__rt::LossKind::accepts(#loss, #activation), #agree_msg);

            #helpers
            #inherent
            #traits
        };
    }
}

/// The public items: the sizes struct, the cell alias and the model struct.
fn items(cx: &Cx<'_>) -> TokenStream {
    let Cx {
        m,
        model,
        sizes,
        cell,
        cell_span,
        cell_ty,
        ..
    } = cx;
    let (vis, attrs, path) = (&m.def.vis, &m.def.attrs, m.cell.ty);
    let sizes_struct = sizes_struct(m.def, sizes, m.bound.iter().map(|b| (&b.name, &b.field)));
    let cell_doc = format!(" The recurrent cell of [`{model}`], generic over the float type.");
    let alias_target = quote_spanned!(*cell_span=> #path<F>);
    let decl_doc = declaration(m.def).lines().map(|l| format!(" {l}")).collect::<Vec<_>>();
    // Absolute paths: these items sit outside the `const _` block and its `__rt` alias.
    let bound = quote_spanned!(*cell_span=> #cell_ty: ::rnn::__private::Cell<F>);
    let seq_ty = quote_spanned!(*cell_span=> ::rnn::__private::SeqModel<F, #cell_ty>);
    quote! {
        #sizes_struct

        #[doc = #cell_doc]
        #vis type #cell<F = ::core::primitive::f32> = #alias_target;

        #(#attrs)*
        #[doc = ""]
        #[doc = " Declared with `rnn::model!`:"]
        #[doc = ""]
        #[doc = " ```text"]
        #(#[doc = #decl_doc])*
        #[doc = " ```"]
        #vis struct #model<F: ::rnn::__private::Float = ::core::primitive::f32>
        where
            #bound
        {
            sizes: #sizes,
            model: #seq_ty,
        }
    }
}

/// The free functions that look inside the cell's `Dims`.
///
/// They carry no `where NameCell<F>: Cell<F>` clause, unlike the model's
/// items: there the `Dims` projection normalises to the cell's own type
/// (with the clause in scope rustc keeps it opaque), and a type that is not
/// a `Cell`, or whose `Dims` has no `Default`, is reported here only. They
/// are spanned at the cell's path, so that is where such an error lands.
fn helpers(cx: &Cx<'_>) -> TokenStream {
    let Cx {
        m,
        model,
        sizes,
        cell_span,
        cell_trait,
        ..
    } = cx;
    let dims_ty = quote_spanned!(*cell_span=> #cell_trait::Dims);
    let config = config_expr(m);
    let field_sets = m.cell.fields.iter().map(|(member, v)| {
        let v = value(v);
        quote!(dims.#member = #v;)
    });
    let zero_checks = m.bound.iter().map(|b| {
        let (f, name) = (&b.field, &b.name);
        invalid_if(
            quote!(sizes.#f == 0),
            format!("size `{name}` of `{model}` is 0; every size must be at least 1"),
        )
    });
    let cell_text = path_text(m.cell.ty);
    let input_text = m
        .def
        .parts
        .iter()
        .find(|p| matches!(p.body, PartBody::Input(_)))
        .map(part_text)
        .unwrap_or_default();
    let overwrite_checks = m.cell.fields.iter().map(|(member, _)| {
        let field = member_text(member);
        invalid_if(
            quote!(dims.#member != declared.#member),
            format!(
                "the cell's size `{field}` is its input width, which the model sets from `{input_text}`; \
                 remove `{field}` from `{cell_text} {{ .. }}`"
            ),
        )
    });
    let empty_check = invalid_if(
        quote_spanned!(*cell_span=> #cell_trait::output_size(&#cell_trait::zeros(dims)) == 0),
        format!(
            "the cell `{cell_text}` has output width 0; give it its sizes in the declaration, \
             e.g. `cell: {cell_text} {{ h: H }}`"
        ),
    );
    quote_spanned! {*cell_span=>
        fn config_of(sizes: #sizes) -> __rt::SeqModelConfig {
            #config
        }

        fn cell_dims_of<F: __rt::Float>(sizes: #sizes) -> #dims_ty {
            let _ = &sizes;
            #[allow(unused_mut)]
            let mut dims: #dims_ty = ::core::default::Default::default();
            #(#field_sets)*
            dims
        }

        /// The cell's sizes with the input width set, and the settings; checks every size.
        fn prepare<F: __rt::Float>(
            sizes: #sizes,
        ) -> __rt::core::result::Result<(#dims_ty, __rt::SeqModelConfig), __rt::RnnError> {
            #(#zero_checks)*
            let config = config_of(sizes);
            let declared = cell_dims_of::<F>(sizes);
            let dims = #cell_trait::with_input_size(declared, config.encoding.input_width())?;
            #(#overwrite_checks)*
            #empty_check
            __rt::core::result::Result::Ok((dims, config))
        }
    }
}

/// `if cond { return Err(RnnError::Invalid(msg)) }`
fn invalid_if(cond: TokenStream, msg: String) -> TokenStream {
    quote! {
        if #cond {
            return __rt::core::result::Result::Err(__rt::RnnError::Invalid(__rt::String::from(#msg)));
        }
    }
}

/// The model's constants, constructors and accessors.
fn inherent(cx: &Cx<'_>) -> TokenStream {
    let Cx {
        m,
        model,
        sizes,
        cell_span,
        cell_trait,
        seq_ty,
        cell_bound,
        ..
    } = cx;
    let dims_ty = quote_spanned!(*cell_span=> #cell_trait::Dims);
    let decl = declaration(m.def);
    let size_names = m.bound.iter().map(|b| b.name.to_string());
    let (activation, loss) = (activation_tokens(m.activation), loss_tokens(m.loss));
    let bidirectional = m.bidirectional;
    let pooling = pooling_tokens(m.pooling);
    let dropout = match &m.dropout {
        Some(d) => dropout_literal(d),
        None => quote!(__rt::Dropout {
            input: 0.0,
            layers: 0.0,
            head: 0.0
        }),
    };
    let learn_init = m.learn_init.unwrap_or(false);
    quote! {
        #[automatically_derived]
        impl<F: __rt::Float> #model<F> where #cell_bound {
            /// The declaration, as `rnn::model!` read it.
            pub const DECLARATION: &'static ::core::primitive::str = #decl;
            /// The size symbols bound when the model is built, in the order of the fields of the sizes struct.
            pub const SIZE_NAMES: &'static [&'static ::core::primitive::str] = &[#(#size_names),*];
            /// The head's activation.
            pub const ACTIVATION: __rt::Activation = #activation;
            /// The training loss.
            pub const LOSS: __rt::LossKind = #loss;
            /// Whether every layer also runs in reverse.
            pub const BIDIRECTIONAL: ::core::primitive::bool = #bidirectional;
            /// What the head reads: every step, or one vector per sequence.
            pub const POOLING: __rt::Pooling = #pooling;
            /// The dropout probabilities (all 0 without a `dropout:` part).
            pub const DROPOUT: __rt::Dropout = #dropout;
            /// Whether the initial states are learned.
            pub const LEARN_INIT: ::core::primitive::bool = #learn_init;

            /// The runtime settings of the model for `sizes`: encoding, layers, direction, head width,
            /// activation and loss.
            pub fn config(sizes: #sizes) -> __rt::SeqModelConfig {
                config_of(sizes)
            }

            /// The cell's sizes as declared (its `Dims` from `Default`, with the fields the declaration
            /// names); the input width is set from the encoding when the model is built.
            pub fn cell_dims(sizes: #sizes) -> #dims_ty {
                cell_dims_of::<F>(sizes)
            }

            /// A model of `sizes`, initialised as PyTorch initialises the equivalent module (see
            /// `SeqModel::new`).
            ///
            /// Errors: `RnnError::Invalid` for a size of 0, a cell size the encoding sets, or a cell
            /// whose output width is 0; whatever the cell reports for its sizes.
            pub fn new<R: __rt::rand::Rng + ?::core::marker::Sized>(
                sizes: #sizes,
                rng: &mut R,
            ) -> __rt::core::result::Result<Self, __rt::RnnError> {
                let (dims, config) = prepare::<F>(sizes)?;
                let model = <#seq_ty>::new(dims, config, rng)?;
                __rt::core::result::Result::Ok(#model { sizes, model })
            }

            /// Like [`Self::new`] with every parameter zero (a gradient accumulator, or a model about
            /// to be loaded).
            pub fn zeros(sizes: #sizes) -> __rt::core::result::Result<Self, __rt::RnnError> {
                let (dims, config) = prepare::<F>(sizes)?;
                let model = <#seq_ty>::zeros(dims, config)?;
                __rt::core::result::Result::Ok(#model { sizes, model })
            }

            /// A model of `sizes` loaded from the safetensors file at `path` (which must hold this
            /// model's parameters; settings it states must agree); returns the file's metadata too.
            pub fn from_file(
                sizes: #sizes,
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> __rt::core::result::Result<
                (Self, ::std::collections::BTreeMap<__rt::String, __rt::String>),
                __rt::RnnError,
            > {
                let mut model = Self::zeros(sizes)?;
                let meta = model.model.load_file(path)?;
                __rt::core::result::Result::Ok((model, meta))
            }

            /// The sizes the model was built with.
            pub fn sizes(&self) -> #sizes {
                self.sizes
            }

            /// The runtime model.
            pub fn inner(&self) -> &#seq_ty {
                &self.model
            }

            /// The runtime model, mutably.
            pub fn inner_mut(&mut self) -> &mut #seq_ty {
                &mut self.model
            }

            /// The runtime model, by value.
            pub fn into_inner(self) -> #seq_ty {
                self.model
            }
        }
    }
}

/// `Deref` and `DerefMut` to the runtime model (its whole API), `Clone`, `Debug`.
fn traits(cx: &Cx<'_>) -> TokenStream {
    let Cx {
        model,
        seq_ty,
        cell_bound,
        ..
    } = cx;
    quote! {
        #[automatically_derived]
        impl<F: __rt::Float> ::core::ops::Deref for #model<F> where #cell_bound {
            type Target = #seq_ty;
            fn deref(&self) -> &#seq_ty {
                &self.model
            }
        }

        #[automatically_derived]
        impl<F: __rt::Float> ::core::ops::DerefMut for #model<F> where #cell_bound {
            fn deref_mut(&mut self) -> &mut #seq_ty {
                &mut self.model
            }
        }

        #[automatically_derived]
        impl<F: __rt::Float> ::core::clone::Clone for #model<F> where #cell_bound {
            fn clone(&self) -> Self {
                #model {
                    sizes: self.sizes,
                    model: ::core::clone::Clone::clone(&self.model),
                }
            }
        }

        #[automatically_derived]
        impl<F: __rt::Float> ::core::fmt::Debug for #model<F> where #cell_bound {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!(#model))
                    .field("sizes", &self.sizes)
                    .field("model", &self.model)
                    .finish()
            }
        }
    }
}

/// On error: the public names (`Name`, `NameSizes`, `NameCell`) with the
/// constructors, so the user sees the macro's errors and not a cascade of
/// "cannot find type" errors.
pub fn skeleton(def: &ModelDef) -> TokenStream {
    let Names { model, sizes, cell } = Names::of(def);
    let (vis, attrs) = (&def.vis, &def.attrs);
    let mut seen = Vec::new();
    let bound: Vec<(&Ident, Ident)> = def
        .sizes
        .iter()
        .filter(|d| d.fixed.is_none())
        .map(|d| (&d.name, super::check::size_field(&d.name)))
        .filter(|(_, f)| {
            let fresh = !seen.contains(f);
            seen.push(f.clone());
            fresh
        })
        .collect();
    let sizes_struct = sizes_struct(def, &sizes, bound.iter().map(|(n, f)| (*n, f)));
    quote! {
        #sizes_struct
        #[doc(hidden)]
        #vis type #cell<F = ::core::primitive::f32> = ::core::marker::PhantomData<F>;
        #(#attrs)*
        #vis struct #model<F = ::core::primitive::f32> {
            _float: ::core::marker::PhantomData<F>,
        }
        #[allow(unused_variables, clippy::all)]
        const _: () = {
            use ::rnn::__private as __rt;
            impl<F: __rt::Float> #model<F> {
                pub const DECLARATION: &'static ::core::primitive::str = "";
                pub const SIZE_NAMES: &'static [&'static ::core::primitive::str] = &[];
                pub const ACTIVATION: __rt::Activation = __rt::Activation::Identity;
                pub const LOSS: __rt::LossKind = __rt::LossKind::Mse;
                pub const BIDIRECTIONAL: ::core::primitive::bool = false;
                pub const POOLING: __rt::Pooling = __rt::Pooling::Steps;
                pub const DROPOUT: __rt::Dropout = __rt::Dropout { input: 0.0, layers: 0.0, head: 0.0 };
                pub const LEARN_INIT: ::core::primitive::bool = false;
                pub fn new<R: __rt::rand::Rng + ?::core::marker::Sized>(sizes: #sizes, rng: &mut R) -> __rt::core::result::Result<Self, __rt::RnnError> { ::core::unimplemented!() }
                pub fn zeros(sizes: #sizes) -> __rt::core::result::Result<Self, __rt::RnnError> { ::core::unimplemented!() }
                pub fn config(sizes: #sizes) -> __rt::SeqModelConfig { ::core::unimplemented!() }
                pub fn sizes(&self) -> #sizes { ::core::unimplemented!() }
            }
        };
    }
}

fn sizes_struct<'a>(def: &ModelDef, sizes: &Ident, bound: impl Iterator<Item = (&'a Ident, &'a Ident)>) -> TokenStream {
    let vis = &def.vis;
    let doc = format!(
        " The sizes [`{}`] is built with: one field per size of its declaration that is not fixed there.",
        def.name
    );
    let fields = bound.map(|(name, field)| {
        let doc = format!(" Size `{name}`.");
        quote!(#[doc = #doc] pub #field: ::core::primitive::usize,)
    });
    quote! {
        #[doc = #doc]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash,
            ::core::default::Default
        )]
        #vis struct #sizes {
            #(#fields)*
        }
    }
}

/// A size as an expression: a number at the user's token or `sizes.field`.
fn value(v: &Value) -> TokenStream {
    match v {
        Value::Fixed(n, span) => {
            let lit = LitInt::new(&n.to_string(), *span);
            quote!(#lit)
        }
        Value::Bound(field) => quote!(sizes.#field),
    }
}

fn activation_tokens(a: Activation) -> TokenStream {
    match a {
        Activation::Identity => quote!(__rt::Activation::Identity),
        Activation::Sigmoid => quote!(__rt::Activation::Sigmoid),
        Activation::Softmax => quote!(__rt::Activation::Softmax),
    }
}

fn loss_tokens(l: Loss) -> TokenStream {
    match l {
        Loss::Mse => quote!(__rt::LossKind::Mse),
        Loss::CrossEntropy => quote!(__rt::LossKind::CrossEntropy),
        Loss::BinaryCrossEntropy => quote!(__rt::LossKind::BinaryCrossEntropy),
    }
}

/// `Pooling::Steps` when `pool:` is left out.
fn pooling_tokens(p: Option<Pooling>) -> TokenStream {
    match p {
        None => quote!(__rt::Pooling::Steps),
        Some(Pooling::Last) => quote!(__rt::Pooling::Last),
        Some(Pooling::Mean) => quote!(__rt::Pooling::Mean),
    }
}

/// A probability as an `f64` literal at the user's token.
fn rate(r: Rate) -> TokenStream {
    let mut lit = Literal::f64_unsuffixed(r.value);
    lit.set_span(r.span);
    quote!(#lit)
}

/// `Dropout { input, layers, head }` (usable in a constant).
fn dropout_literal(d: &Dropout) -> TokenStream {
    let (input, layers, head) = (rate(d.input), rate(d.layers), rate(d.head));
    quote!(__rt::Dropout { input: #input, layers: #layers, head: #head })
}

/// `SeqModelConfig::new(encoding, output, activation, loss).layers(n).bidirectional(b)`, then
/// `.pooling(p)`, `.dropout(d)` and `.learn_init(l)` for the parts declared (a model without them
/// gets the runtime's defaults).
fn config_expr(m: &Model<'_>) -> TokenStream {
    let encoding = match &m.encoding {
        Encoding::OneHot { vocab } => {
            let vocab = value(vocab);
            quote!(__rt::Encoding::OneHot { vocab: #vocab })
        }
        Encoding::Embedding { vocab, dim } => {
            let (vocab, dim) = (value(vocab), value(dim));
            quote!(__rt::Encoding::Embedding { vocab: #vocab, dim: #dim })
        }
        Encoding::Dense { width } => {
            let width = value(width);
            quote!(__rt::Encoding::Dense { width: #width })
        }
    };
    let (output, layers, bidirectional) = (value(&m.head), value(&m.layers), m.bidirectional);
    let (activation, loss) = (activation_tokens(m.activation), loss_tokens(m.loss));
    let pooling = m.pooling.map(|p| {
        let p = pooling_tokens(Some(p));
        quote!(.pooling(#p))
    });
    let dropout = m.dropout.as_ref().map(|d| {
        let d = if d.same {
            let p = rate(d.input);
            quote!(__rt::Dropout::all(#p))
        } else {
            dropout_literal(d)
        };
        quote!(.dropout(#d))
    });
    let learn_init = m.learn_init.map(|l| quote!(.learn_init(#l)));
    quote! {
        let _ = &sizes;
        __rt::SeqModelConfig::new(#encoding, #output, #activation, #loss)
            .layers(#layers)
            .bidirectional(#bidirectional)
            #pooling
            #dropout
            #learn_init
    }
}

/// The declaration as text, one part per line, in the order written.
pub fn declaration(def: &ModelDef) -> String {
    let header: Vec<String> = def
        .sizes
        .iter()
        .map(|s| match s.fixed {
            Some((n, _)) => format!("{} = {n}", s.name),
            None => s.name.to_string(),
        })
        .collect();
    let mut out = format!("model {}({}) {{\n", def.name, header.join(", "));
    for part in &def.parts {
        out.push_str(&format!("    {}: {};\n", part.kind().key(), part_text(part)));
    }
    out.push('}');
    out
}

fn part_text(part: &Part) -> String {
    match &part.body {
        PartBody::Input(call) | PartBody::Head(call) => {
            let args: Vec<String> = call.args.iter().map(size_text).collect();
            format!("{}({})", call.func, args.join(", "))
        }
        PartBody::Cell(c) => {
            let mut s = path_text(&c.ty);
            if !c.fields.is_empty() {
                let fields: Vec<String> = c
                    .fields
                    .iter()
                    .map(|(m, v)| format!("{}: {}", member_text(m), size_text(v)))
                    .collect();
                s.push_str(&format!(" {{ {} }}", fields.join(", ")));
            }
            if let Some((_, n)) = &c.layers {
                s.push_str(&format!(" x {}", size_text(n)));
            }
            if c.bidirectional.is_some() {
                s.push_str(" bidirectional");
            }
            s
        }
        PartBody::Loss(name) | PartBody::Pool(name) | PartBody::Init(name) => name.to_string(),
        PartBody::Dropout(DropoutPart::All(p)) => p.text.clone(),
        PartBody::Dropout(DropoutPart::Sites(sites)) => {
            let sites: Vec<String> = sites.iter().map(|(s, p)| format!("{s} {}", p.text)).collect();
            sites.join(", ")
        }
    }
}

fn size_text(s: &Size) -> String {
    match s {
        Size::Sym(s) => s.to_string(),
        Size::Num(n, _) => n.to_string(),
    }
}

fn member_text(m: &Member) -> String {
    match m {
        Member::Named(n) => n.to_string(),
        Member::Unnamed(i) => i.index.to_string(),
    }
}

/// A path without spaces: `rnn::cells::Lstm`.
fn path_text(p: &syn::Path) -> String {
    let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if p.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segs.join("::"))
}
