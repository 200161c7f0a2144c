//! Every operation of the cell language appears in a cell that is
//! gradchecked: the shipped cells (`src/cells.rs`) and the cells of the
//! integration tests (`tests/common/cells.rs`), each of which
//! `tests/custom_cells.rs` checks against finite differences.

use super::ast::{BinOp, CellDef, Equation, Expr};
use super::ir::Func;
use super::tests::find_cells;
use proc_macro2::TokenStream;
use std::collections::BTreeSet;

/// Every `cell!` in `text`, parsed.
fn cells_in(text: &str) -> Vec<CellDef> {
    let tokens: TokenStream = text.parse().expect("the file lexes");
    let mut found = Vec::new();
    find_cells(tokens, &mut found);
    found
        .into_iter()
        .map(|t| syn::parse2(t).expect("the cell parses"))
        .collect()
}

/// The operations an expression uses, by the name the user writes.
fn ops(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::Name(_) => {}
        Expr::Num(..) => {
            out.insert("number".into());
        }
        Expr::Neg(a, _) => {
            out.insert("unary -".into());
            ops(a, out);
        }
        Expr::Binary { op, lhs, rhs, .. } => {
            let name = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::MatVec => "@",
            };
            out.insert(name.into());
            ops(lhs, out);
            ops(rhs, out);
        }
        Expr::Transposed(..) => {
            out.insert(".T".into());
        }
        Expr::Call { func, args } => {
            out.insert(func.to_string());
            for a in args {
                ops(a, out);
            }
        }
    }
}

#[test]
fn every_operation_appears_in_a_gradchecked_cell() {
    let shipped = cells_in(include_str!("../../../src/cells.rs"));
    let custom = cells_in(include_str!("../../../tests/common/cells.rs"));
    let gradchecks = include_str!("../../../tests/custom_cells.rs");
    let mut used = BTreeSet::new();
    for def in shipped.iter().chain(&custom) {
        for eq in &def.eqs {
            match eq {
                Equation::Let { expr, .. } | Equation::Assign { expr, .. } => ops(expr, &mut used),
                Equation::LetSplit { expr, .. } => {
                    used.insert("split".into());
                    ops(expr, &mut used);
                }
            }
        }
    }
    // Each custom cell is gradchecked by name.
    for def in &custom {
        let call = format!("{}::<f64>::new", def.name);
        assert!(
            gradchecks.contains(&call),
            "tests/custom_cells.rs never gradchecks `{}`",
            def.name
        );
    }
    let mut language: Vec<String> = ["+", "-", "*", "/", "@", "unary -", "number", "split", "concat", ".T"]
        .into_iter()
        .map(String::from)
        .collect();
    language.extend(Func::USER.iter().map(|f| f.0.to_string()));
    language.extend(Func::USER_BINARY.iter().map(|f| f.0.to_string()));
    let missing: Vec<&String> = language.iter().filter(|op| !used.contains(*op)).collect();
    assert!(missing.is_empty(), "operations no gradchecked cell uses: {missing:?}");
}
