//! Data-parallel training over MPI: builds programs of `rnn-examples` with
//! the `mpi` feature and runs them on two ranks (`mpirun -np 2`):
//!
//! - `mpi_check` (`examples/examples/mpi_check.rs`): two ranks train as one
//!   process does, to 1e-12 in f64; a checkpoint of two ranks resumes in
//!   one; a perturbed rank is found;
//! - `char_lm --distributed`: reports once, from rank 0, and its validation
//!   losses are those of one process on the same global batches.
//!
//! Needs an MPI installation (`mpirun` on the path; README, "Training on
//! several processes"). Without one the tests say so and pass, unless
//! `RNN_REQUIRE_MPI` is set, as `.ci/run` sets it after installing Open MPI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `mpirun` on the path, if there is one.
fn mpirun() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("mpirun"))
        .find(|p| p.is_file())
}

/// `mpirun`, unless MPI is missing and not required (then the test says
/// so and passes).
fn mpirun_or_skip() -> Option<PathBuf> {
    let found = mpirun();
    if found.is_none() {
        assert!(
            std::env::var_os("RNN_REQUIRE_MPI").is_none(),
            "RNN_REQUIRE_MPI is set but there is no mpirun on the path"
        );
        eprintln!("not run: no mpirun on the path (install Open MPI; README, \"Training on several processes\")");
    }
    found
}

/// Builds the program `name` of `rnn-examples` with the `mpi` feature;
/// its executable.
fn build(name: &str) -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["build", "-p", "rnn-examples", "--features", "mpi", "--example", name])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo names the {name} executable"))
}

/// Runs `exe args` on `ranks` ranks (one process, without `mpirun`, for 1);
/// its standard output, after checking that every rank succeeded.
fn run(mpirun: &Path, ranks: usize, exe: &Path, args: &[&str]) -> String {
    let mut cmd = if ranks == 1 {
        Command::new(exe)
    } else {
        let mut c = Command::new(mpirun);
        c.args(["--allow-run-as-root", "--oversubscribe", "-np", &ranks.to_string()])
            .arg(exe);
        c
    };
    let out = cmd.args(args).output().expect("the program runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{} on {ranks} rank(s) failed:\n{stdout}\n{stderr}",
        exe.display()
    );
    stdout.into_owned()
}

#[test]
fn two_ranks_train_as_one_process_does() {
    let Some(mpirun) = mpirun_or_skip() else { return };
    let stdout = run(&mpirun, 2, &build("mpi_check"), &[]);
    println!("{stdout}");
    for expected in [
        "f64: 2 ranks vs one process",
        "f32: 2 ranks",
        "checkpoint of the 2-rank run",
        "perturbed rank found",
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in:\n{stdout}");
    }
}

/// The validation losses of `char_lm`'s metric lines.
fn val_losses(stdout: &str) -> Vec<f64> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| m["val_loss"].as_f64())
        .collect()
}

#[test]
fn char_lm_on_two_ranks_learns_as_one_process() {
    let Some(mpirun) = mpirun_or_skip() else { return };
    let exe = build("char_lm");
    let args = [
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--hidden",
        "16",
        "--batch",
        "6",
        "--seq-len",
        "12",
        "--no-save",
        "--no-progress",
        "--sample",
        "0",
    ];
    let one = val_losses(&run(&mpirun, 1, &exe, &args));
    let two = val_losses(&run(&mpirun, 2, &exe, &[&args[..], &["--distributed"]].concat()));
    // Rank 0 alone reports: one line per evaluation (steps 0, 3 and 6).
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(two.len(), 3, "{two:?}");
    assert!(one[2] < one[0], "the one-process run learns: {one:?}");
    for (a, b) in one.iter().zip(&two) {
        assert!(
            (a - b).abs() <= 1e-5 * a.abs(),
            "one process {one:?}, two ranks {two:?}"
        );
    }
}
