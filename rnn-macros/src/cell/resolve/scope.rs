//! Names in scope while resolving, and expressions -> step-graph nodes.
//!
//! A name is bound to a node, to a matrix parameter (valid only as the left
//! side of `@`) or to an output not assigned yet. `let` may not hide a
//! declared name. An expression that has an error yields no node; its
//! users then yield none either, without a second error, and a name whose
//! `let` failed is not reported again as unknown.

use crate::cell::ast::{BinOp, Expr};
use crate::cell::ir::{Func, Id, Op, StepGraph};
use crate::cell::language;
use crate::errors::Errors;
use proc_macro2::Span;
use std::collections::HashMap;
use syn::Ident;

/// What a name refers to while resolving.
#[derive(Clone, Copy)]
pub enum Binding {
    Node(Id),
    /// A matrix parameter: only valid as the left side of `@`.
    Matrix(Id),
    /// A declared output not assigned yet.
    Output(usize),
}

pub struct Cx<'a> {
    pub sg: &'a mut StepGraph,
    pub env: &'a mut HashMap<String, Binding>,
    pub used: &'a mut HashMap<String, bool>,
    pub errs: &'a mut Errors,
    /// Where each name a `let` defines is defined, for "defined after
    /// this use".
    pub lets: &'a HashMap<String, Span>,
}

impl Cx<'_> {
    /// `w @ rhs` for the matrix parameter node `w`. A matrix declared with
    /// summed columns (`[G, I + H]`) takes `concat(..)` of as many parts,
    /// and `w @ concat(x, h)` becomes `w[:, ..I] @ x + w[:, I..] @ h`: one
    /// product per part, each stacked and hoisted as its operand allows.
    fn product(&mut self, w: Option<Id>, rhs: &Expr, span: Span) -> Option<Id> {
        let concat = match rhs {
            Expr::Call { func, args } if func == "concat" => Some((func, args)),
            _ => None,
        };
        let Some(w) = w else {
            // The left side had its error; resolve the right for its own.
            match concat {
                Some((_, args)) => self.exprs(args),
                None => {
                    self.expr(rhs);
                }
            }
            return None;
        };
        // A view (`u.T`) is a parameter past the declared ones: no parts.
        let parts = match self.sg.op(w) {
            Op::Param(k) => Some((k, self.sg.decls.params.get(k).map_or(0, |p| p.parts.len()))),
            _ => None,
        };
        match (parts, concat) {
            (Some((k, n)), Some((func, args))) if n > 0 => {
                let ids: Vec<Option<Id>> = args.iter().map(|a| self.expr(a)).collect();
                if args.len() != n {
                    let p = &self.sg.decls.params[k];
                    self.errs.push(
                        func.span(),
                        format!(
                            "`{}` has {n} column blocks ({}), so `concat` takes {n} parts here, got {}",
                            p.name,
                            p.show_shape(&self.sg.decls.dims),
                            args.len()
                        ),
                    );
                    return None;
                }
                let w_span = self.sg.g[w].span;
                let mut sum: Option<Id> = None;
                for (j, v) in ids.into_iter().enumerate() {
                    let slot = self.sg.decls.view_of(k, j, false);
                    let wv = self.sg.add(Op::Param(slot), w_span, &[]);
                    let prod = self.sg.add(Op::MatVec, span, &[wv, v?]);
                    sum = Some(match sum {
                        None => prod,
                        Some(acc) => self.sg.add(Op::Add, span, &[acc, prod]),
                    });
                }
                sum
            }
            (Some((k, n)), _) if n > 0 => {
                self.expr(rhs);
                let p = &self.sg.decls.params[k];
                self.errs.push(
                    span,
                    format!(
                        "`{}` is {}: multiply it by `concat(..)` of {n} parts of those widths (`{} @ concat(x, h)`)",
                        p.name,
                        p.show_shape(&self.sg.decls.dims),
                        p.name
                    ),
                );
                None
            }
            (_, Some((func, args))) => {
                self.exprs(args);
                self.errs.push(
                    func.span(),
                    "`concat(..)` needs a matrix declared with summed columns (`param w: [G, I + H];`) on the left of `@`",
                );
                None
            }
            _ => {
                let v = self.expr(rhs);
                Some(self.sg.add(Op::MatVec, span, &[w, v?]))
            }
        }
    }

    /// Resolves `args` for their own errors, when what reads them failed.
    fn exprs(&mut self, args: &[Expr]) {
        for a in args {
            self.expr(a);
        }
    }

    /// The weight node of `n.T` for the matrix parameter node `id`: its
    /// transposed view. A matrix with summed columns is not transposed.
    fn transposed(&mut self, n: &Ident, id: Id, span: Span) -> Option<Id> {
        let Op::Param(k) = self.sg.op(id) else {
            return None;
        };
        if !self.sg.decls.params[k].parts.is_empty() {
            self.errs.push(
                span,
                format!("`{n}` has summed columns, read by `{n} @ concat(..)`; it is not transposed"),
            );
            return None;
        }
        let slot = self.sg.decls.view_of(k, 0, true);
        Some(self.sg.add(Op::Param(slot), n.span(), &[]))
    }

    pub fn bind_let(&mut self, name: &Ident, id: Option<Id>) {
        let key = name.to_string();
        match self.env.get(&key) {
            Some(Binding::Matrix(..)) | Some(Binding::Output(_)) => {
                self.errs.push(
                    name.span(),
                    format!("`let {name}` hides a declared name; pick another name"),
                );
                return;
            }
            // A `let` may rebind a computed value, never a declaration.
            Some(Binding::Node(n)) if matches!(self.sg.op(*n), Op::Input(_) | Op::State(_) | Op::Param(_)) => {
                self.errs.push(
                    name.span(),
                    format!("`let {name}` hides a declared name; pick another name"),
                );
                return;
            }
            _ => {}
        }
        if let Some(id) = id {
            self.sg.g[id].label = Some(key.clone());
            self.env.insert(key, Binding::Node(id));
        } else {
            // Keep going after an error without cascading "cannot find" errors.
            self.env.remove(&key);
            self.used.insert(key, true);
        }
    }

    fn lookup(&mut self, name: &Ident) -> Option<Binding> {
        let key = name.to_string();
        match self.env.get(&key).copied() {
            Some(b) => {
                if let Some(u) = self.used.get_mut(&key) {
                    *u = true;
                }
                Some(b)
            }
            None => {
                if self.used.contains_key(&key) {
                    return None; // an earlier error already covers it
                }
                if let Some(def) = self.lets.get(&key) {
                    // Not in scope yet, so its `let` comes later.
                    self.errs.push(
                        name.span(),
                        format!(
                            "`{name}` is defined on line {}, after this use; equations run in order, so move `let {name} = ...;` above this line",
                            def.start().line
                        ),
                    );
                    return None;
                }
                let hint = language::did_you_mean(&key, self.env.keys().map(String::as_str));
                self.errs.push(
                    name.span(),
                    format!("cannot find `{name}` in this cell; {hint}declare it (`param {name}: [..];`) or define it (`let {name} = ...;`)"),
                );
                None
            }
        }
    }

    pub fn expr(&mut self, e: &Expr) -> Option<Id> {
        match e {
            Expr::Name(n) => match self.lookup(n)? {
                Binding::Node(id) => Some(id),
                Binding::Matrix(..) => {
                    self.errs
                        .push(n.span(), format!("`{n}` is a matrix; use it as `{n} @ v`"));
                    None
                }
                Binding::Output(_) => {
                    self.errs
                        .push(n.span(), format!("output `{n}` is read before it is assigned"));
                    None
                }
            },
            Expr::Num(v, span) => Some(self.sg.add(Op::Const(*v), *span, &[])),
            Expr::Neg(inner, span) => {
                let a = self.expr(inner)?;
                Some(self.sg.add(Op::Neg, *span, &[a]))
            }
            Expr::Binary {
                op: BinOp::MatVec,
                lhs,
                rhs,
                span,
            } => {
                let w = match &**lhs {
                    Expr::Transposed(n, span) => match self.lookup(n) {
                        Some(Binding::Matrix(id)) => self.transposed(n, id, *span),
                        Some(_) => {
                            self.errs.push(
                                n.span(),
                                format!("`.T` transposes a matrix parameter; `{n}` is not one"),
                            );
                            None
                        }
                        None => None,
                    },
                    Expr::Name(n) => match self.lookup(n) {
                        Some(Binding::Matrix(id)) => Some(id),
                        Some(_) => {
                            self.errs.push(
                                n.span(),
                                format!("the left side of `@` must be a matrix parameter; `{n}` is not one"),
                            );
                            None
                        }
                        None => None,
                    },
                    other => {
                        self.errs
                            .push(other.span(), "the left side of `@` must be a matrix parameter name");
                        None
                    }
                };
                self.product(w, rhs, *span)
            }
            Expr::Binary { op, lhs, rhs, span } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let op = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    BinOp::Mul => Op::Mul,
                    BinOp::Div => Op::Div,
                    BinOp::MatVec => unreachable!("handled above"),
                };
                Some(self.sg.add(op, *span, &[a?, b?]))
            }
            Expr::Transposed(n, span) => {
                self.lookup(n);
                self.errs.push(*span, language::transpose_outside_product());
                None
            }
            Expr::Call { func, args } => {
                let name = func.to_string();
                if name == "concat" {
                    self.errs.push(func.span(), language::concat_outside_product());
                    self.exprs(args);
                    return None;
                }
                if name == "split" {
                    self.errs
                        .push(func.span(), "`split` must be destructured: `let [a, b] = split(v);`");
                    return None;
                }
                let found = Func::USER_BINARY
                    .iter()
                    .map(|&(n, op)| (n, op, 2))
                    .chain(Func::USER_REDUCE.iter().map(|&(n, op)| (n, op, 1)))
                    .chain(Func::USER.iter().map(|&(n, f)| (n, Op::Func(f), 1)))
                    .find(|(n, ..)| *n == name);
                let Some((_, op, arity)) = found else {
                    let known = language::function_names();
                    let hint = language::did_you_mean(&name, known.iter().copied());
                    self.errs.push(
                        func.span(),
                        format!(
                            "unknown function `{func}`; {hint}the cell language has {}",
                            known.join(", ")
                        ),
                    );
                    for a in args {
                        self.expr(a);
                    }
                    return None;
                };
                // Every argument is resolved, so a wrong count adds no
                // "never used" errors for what it names.
                let ids: Vec<Option<Id>> = args.iter().map(|a| self.expr(a)).collect();
                if args.len() != arity {
                    let want = if arity == 1 { "one argument" } else { "two arguments" };
                    self.errs
                        .push(func.span(), format!("`{func}` takes {want}, got {}", args.len()));
                    return None;
                }
                let ids: Option<Vec<Id>> = ids.into_iter().collect();
                Some(self.sg.add(op, func.span(), &ids?))
            }
        }
    }
}
