//! Data-parallel training over MPI: builds the `mpi_check` program with the
//! `mpi` feature and runs it on two ranks (`mpirun -np 2`); its checks
//! (two ranks train as one process does, to 1e-12 in f64; a checkpoint of
//! two ranks resumes in one; a perturbed rank is found) are in
//! `examples/examples/mpi_check.rs`.
//!
//! Needs an MPI installation (`mpirun` on the path; README, "Training on
//! several processes"). Without one the test says so and passes, unless
//! `RNN_REQUIRE_MPI` is set, as `.ci/run` sets it after installing Open MPI.

use std::path::PathBuf;
use std::process::Command;

/// `mpirun` on the path, if there is one.
fn mpirun() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("mpirun"))
        .find(|p| p.is_file())
}

/// Builds `mpi_check` with the `mpi` feature; its executable.
fn build_check() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "rnn-examples",
            "--features",
            "mpi",
            "--example",
            "mpi_check",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building mpi_check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "mpi_check")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the mpi_check executable")
}

#[test]
fn two_ranks_train_as_one_process_does() {
    let Some(mpirun) = mpirun() else {
        assert!(
            std::env::var_os("RNN_REQUIRE_MPI").is_none(),
            "RNN_REQUIRE_MPI is set but there is no mpirun on the path"
        );
        eprintln!("not run: no mpirun on the path (install Open MPI; README, \"Training on several processes\")");
        return;
    };
    let exe = build_check();
    let out = Command::new(mpirun)
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(&exe)
        .output()
        .expect("mpirun runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{stdout}");
    assert!(out.status.success(), "mpi_check failed on 2 ranks:\n{stdout}\n{stderr}");
    for expected in [
        "f64: 2 ranks vs one process",
        "f32: 2 ranks",
        "checkpoint of the 2-rank run",
        "perturbed rank found",
    ] {
        assert!(stdout.contains(expected), "no `{expected}` in:\n{stdout}");
    }
}
