//! What the cell language has, in words for error messages: its keywords,
//! operators and functions, the nearest known word to a typo, and what to
//! say when a user reaches past its edge (an operator, a method or an index
//! it does not have).
//!
//! The parser and the resolver call these; nothing here reads tokens.

use crate::cell::ir::Func;

/// The words that start a line of a cell body.
pub const KEYWORDS: &[&str] = &["input", "state", "param", "output", "let"];

/// The operators, as a user reads them.
pub const OPERATORS: &str = "`+`, `-`, `*`, `/`, `@` and unary `-`";

/// Every function a user may call, by name, in the order the docs list them.
pub fn function_names() -> Vec<&'static str> {
    Func::USER
        .iter()
        .map(|p| p.0)
        .chain(Func::USER_REDUCE.iter().map(|p| p.0))
        .chain(Func::USER_BINARY.iter().map(|p| p.0))
        .chain(["concat"])
        .collect()
}

/// The message for `w.T` anywhere but left of `@`.
pub fn transpose_outside_product() -> &'static str {
    "`w.T` is read only as the left side of a product (`w.T @ v`), which runs as a product by the transposed matrix"
}

/// The message for `concat(..)` anywhere but right of `@`.
pub fn concat_outside_product() -> &'static str {
    "`concat(..)` is read only by a product, `w @ concat(x, h)` (with `param w: [G, I + H];`), which runs as one product per part; elsewhere it is not supported"
}

/// The candidate closest to `word` (at most a third of its letters changed,
/// and at least one letter kept), if any.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, c)| d <= limit && d < c.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// "did you mean `x`? " for the nearest candidate, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match nearest(word, candidates) {
        Some(c) => format!("did you mean `{c}`? "),
        None => String::new(),
    }
}

/// The message for a line that starts with an unknown word followed by a
/// name (`parm w: [H];`).
pub fn unknown_keyword(word: &str) -> String {
    let hint = did_you_mean(word, KEYWORDS.iter().copied());
    format!(
        "unknown keyword `{word}`; {hint}a line declares a name (`input`, `state`, `param`, `output`), defines one (`let`) or assigns a state or output (`h = ...;`)"
    )
}

/// The message for a punctuation token where an operator or the end of an
/// expression should be, or `None` when the token is not one the language
/// could be mistaken to have.
pub fn unsupported_punct(op: &str) -> Option<String> {
    let msg = match op {
        "." => "`.` is not part of the cell language: values have no methods or fields; `.T` transposes a matrix parameter on the left of `@` (`u.T @ h`)".to_string(),
        "%" | "^" | "&" | "|" | "<" | ">" | "=" | "!" | "?" | "&&" | "||" | "==" | "!=" | "<=" | ">=" | "<<" | ">>" => format!(
            "`{op}` is not an operation of the cell language; it has {OPERATORS} and the functions {}",
            function_names().join(", ")
        ),
        _ => return None,
    };
    Some(msg)
}

/// The message for `**` (a power).
pub fn power() -> String {
    format!(
        "`**` is not an operation of the cell language; write a square as `x * x`, a root as `sqrt(x)`, other powers as `exp(k * log(x))` (it has {OPERATORS})"
    )
}

/// The message for an index (`h[0]`).
pub fn indexing() -> &'static str {
    "indexing is not part of the cell language; cut a vector into equal parts with `let [a, b] = split(v);`"
}

/// The message for a difference or quotient in a declared shape (`[I - H]`).
pub fn shape_arithmetic(op: &str) -> String {
    format!(
        "`{op}` in a shape is not supported; an axis is a dimension (`H`), a multiple (`4 * H`), a number, or the columns of a matrix as a sum (`[4 * H, I + H]`)"
    )
}

/// The message for a sum on an axis other than a matrix's columns.
pub fn shape_sum() -> &'static str {
    "a sum of sizes is only the columns of a matrix parameter (`param w: [4 * H, I + H];`), which `w @ concat(x, h)` reads"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_leaves_strangers() {
        assert_eq!(nearest("parm", KEYWORDS.iter().copied()), Some("param"));
        assert_eq!(nearest("stat", KEYWORDS.iter().copied()), Some("state"));
        assert_eq!(nearest("lte", KEYWORDS.iter().copied()), Some("let"));
        assert_eq!(nearest("sigmod", function_names()), Some("sigmoid"));
        assert_eq!(nearest("softplsu", function_names()), Some("softplus"));
        assert_eq!(nearest("weights", KEYWORDS.iter().copied()), None);
        assert_eq!(nearest("x", ["y", "h"]), None, "one letter is not a typo of another");
    }
}
