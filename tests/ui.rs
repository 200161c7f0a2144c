//! Compile-fail and compile-pass tests of `rnn::cell!`'s diagnostics.
//! (`tests/ui/model/` holds those of `rnn::model!`, its passing cases in
//! `tests/ui/model/pass/`.)
//!
//! Every folder under `tests/ui/` except `pass/` holds one mistake per file,
//! with the expected compiler output beside it (`*.stderr`); `pass/` holds
//! cells that must compile and run. Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test --test ui` and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut categories: Vec<String> = std::fs::read_dir(&root)
        .expect("tests/ui exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name != "pass")
        .collect();
    categories.sort();
    assert!(!categories.is_empty(), "no compile-fail categories under tests/ui");
    for category in &categories {
        t.compile_fail(format!("tests/ui/{category}/*.rs"));
    }
    t.pass("tests/ui/pass/*.rs");
    // `rnn::model!`: its compile-fail cases are the `model` category above.
    t.pass("tests/ui/model/pass/*.rs");
}
