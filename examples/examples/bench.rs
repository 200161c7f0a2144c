//! Benchmark of the shipped cells on workload v1 (`WORKLOAD.md`).
//!
//! ```text
//! cargo run --release --example bench -- [--cells lstm,gru,rnn] \
//!     [--configs tiny,small,medium,large] [--modes train,infer] [--threads N] [--json] \
//!     [--lengths full|uniform]
//! ```
//!
//! `--lengths uniform` gives every sequence its own length, uniform in
//! `1..=T` from a fixed seed (`workload::uniform_lengths`), and runs the
//! batch through one layer of `Layers` with those lengths; GFLOP/s then
//! counts the products of the steps that run.
//!
//! Timing follows section 7: inputs and parameters are built outside the
//! timed region, 3 warm-up steps, then single steps are timed until they add
//! up to >= 2 s or 20 steps, never fewer than 3. For `tiny` and `small` the
//! training-step checksums are compared with the reference; the process
//! exits non-zero if any fails.

use clap::Parser;
use rnn::Cell;
use rnn::runtime::gemm::in_pool;
use rnn_examples::workload::{self, CellKind, Checksums, Config, Inputs};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "bench", version, about = "Benchmark the shipped cells on workload v1")]
struct Args {
    /// Cells to run (lstm, gru, rnn; lnlstm and lngru, the layer-normalised LSTM and GRU, and catlstm, the LSTM written `w @ concat(x, h)`, on request).
    #[arg(long, value_delimiter = ',', default_value = "lstm,gru,rnn")]
    cells: Vec<String>,
    /// Configurations (tiny, small, medium, large).
    #[arg(long, value_delimiter = ',', default_value = "tiny,small,medium,large")]
    configs: Vec<String>,
    /// Modes (train, infer).
    #[arg(long, value_delimiter = ',', default_value = "train,infer")]
    modes: Vec<String>,
    /// Threads for matrix products (rayon's pool); the elementwise loops run on one.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the SGEMM rate measurement.
    #[arg(long)]
    no_gemm: bool,
    /// Sequence lengths: `full` (every sequence T steps, WORKLOAD.md), or
    /// `uniform`: sequence k has length 1 + ((value k+1 of SplitMix64 stream
    /// 7) >> 40) * T >> 24, uniform in 1..=T and the same in
    /// examples/peers/torch_packed_workload.py; the batch runs through one
    /// layer of `Layers` with these lengths (sorted, packed and unpacked in
    /// every step, as PyTorch's pack_padded_sequence path)
    #[arg(long, default_value = "full", value_parser = ["full", "uniform"])]
    lengths: String,
}

struct Timing {
    median_ms: f64,
    min_ms: f64,
    reps: usize,
}

fn time_steps(mut step: impl FnMut()) -> Timing {
    for _ in 0..3 {
        step();
    }
    let mut times = Vec::new();
    let mut total = 0.0;
    while times.len() < 3 || (total < 2.0 && times.len() < 20) {
        let t0 = Instant::now();
        step();
        let dt = t0.elapsed().as_secs_f64();
        total += dt;
        times.push(dt * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = times.len();
    let median_ms = if n % 2 == 1 {
        times[n / 2]
    } else {
        0.5 * (times[n / 2 - 1] + times[n / 2])
    };
    Timing {
        median_ms,
        min_ms: times[0],
        reps: n,
    }
}

/// Times one mode; for train also returns the checksums of one extra step.
fn run_cell<C: Cell<f32> + Send + Sync>(
    cell: &C,
    inp: &Inputs,
    mode: &str,
    want_sums: bool,
) -> (Timing, Option<Checksums>) {
    // One workspace for all steps, so the timed steady state allocates nothing.
    let mut stepper = workload::Stepper::new(cell);
    if mode == "train" {
        let t = time_steps(|| {
            in_pool(|| stepper.train(cell, inp)).expect("train step");
            black_box(stepper.outputs());
        });
        let sums = want_sums.then(|| {
            stepper.train(cell, inp).expect("train step");
            workload::checksums_of(stepper.outputs(), stepper.grads(), stepper.input_grads())
        });
        (t, sums)
    } else {
        let t = time_steps(|| {
            in_pool(|| stepper.infer(cell, inp)).expect("infer step");
        });
        (t, None)
    }
}

/// Times one mode over sequences of [`workload::uniform_lengths`].
fn run_lengths<C: Cell<f32> + Send + Sync>(cell: &C, cfg: &Config, inp: &Inputs, mode: &str) -> Timing {
    let mut stepper = workload::LengthsStepper::new(cell, cfg).expect("one layer of the cell");
    if mode == "train" {
        time_steps(|| {
            in_pool(|| stepper.train(inp)).expect("train step");
            black_box(stepper.outputs());
        })
    } else {
        time_steps(|| {
            in_pool(|| stepper.infer(inp)).expect("infer step");
        })
    }
}

fn run(kind: CellKind, cfg: &Config, mode: &str, want_sums: bool, lengths: bool) -> (Timing, Option<Checksums>) {
    let inp = workload::inputs(cfg);
    if lengths {
        let t = match kind {
            CellKind::Lstm => run_lengths(&workload::lstm(cfg), cfg, &inp, mode),
            CellKind::Gru => run_lengths(&workload::gru(cfg), cfg, &inp, mode),
            CellKind::Rnn => run_lengths(&workload::rnn_tanh(cfg), cfg, &inp, mode),
            CellKind::LnLstm => run_lengths(&workload::layer_norm_lstm(cfg), cfg, &inp, mode),
            CellKind::LnGru => run_lengths(&workload::layer_norm_gru(cfg), cfg, &inp, mode),
            CellKind::CatLstm => run_lengths(&workload::concat_lstm(cfg), cfg, &inp, mode),
        };
        return (t, None);
    }
    match kind {
        CellKind::Lstm => run_cell(&workload::lstm(cfg), &inp, mode, want_sums),
        CellKind::Gru => run_cell(&workload::gru(cfg), &inp, mode, want_sums),
        CellKind::Rnn => run_cell(&workload::rnn_tanh(cfg), &inp, mode, want_sums),
        CellKind::LnLstm => run_cell(&workload::layer_norm_lstm(cfg), &inp, mode, want_sums),
        CellKind::LnGru => run_cell(&workload::layer_norm_gru(cfg), &inp, mode, want_sums),
        CellKind::CatLstm => run_cell(&workload::concat_lstm(cfg), &inp, mode, want_sums),
    }
}

/// GFLOP/s of `gemm_nt::<f32>` for `C[m×n] = A[m×k]·B[n×k]^T` (packing included).
fn sgemm_rate(m: usize, n: usize, k: usize) -> f64 {
    let a = workload::stream(11, m * k, 1.0);
    let b = workload::stream(12, n * k, 1.0);
    let mut c = vec![0.0f32; m * n];
    let mut ws = rnn::runtime::Workspace::new();
    let t = time_steps(|| {
        rnn::runtime::gemm::gemm_nt::<f32>(&mut ws, m, n, k, &a, k, &b, k, 0.0, &mut c, n);
        black_box(&c);
    });
    2.0 * (m * n * k) as f64 / (t.median_ms * 1e-3) / 1e9
}

/// GFLOP/s of `gemm_packed::<f32>` on a `B` packed once beforehand, as the
/// time loop uses its weights.
fn sgemm_prepacked_rate(m: usize, n: usize, k: usize) -> f64 {
    let a = workload::stream(11, m * k, 1.0);
    let b = workload::stream(12, n * k, 1.0);
    let packed = rnn::runtime::gemm::PackedB::nt(&b, n, k, k);
    let mut c = vec![0.0f32; m * n];
    let t = time_steps(|| {
        rnn::runtime::gemm::gemm_packed(m, rnn::runtime::gemm::Strided::rows(&a, k), &packed, 0.0, &mut c, n);
        black_box(&c);
    });
    2.0 * (m * n * k) as f64 / (t.median_ms * 1e-3) / 1e9
}

/// GFLOP/s of ndarray's `general_mat_mul` (matrixmultiply's sgemm) for the same product.
fn matrixmultiply_rate(m: usize, n: usize, k: usize) -> f64 {
    let a = ndarray::Array2::from_shape_vec((m, k), workload::stream(11, m * k, 1.0)).expect("shape");
    let b = ndarray::Array2::from_shape_vec((n, k), workload::stream(12, n * k, 1.0)).expect("shape");
    let mut c = ndarray::Array2::<f32>::zeros((m, n));
    let t = time_steps(|| {
        ndarray::linalg::general_mat_mul(1.0, &a, &b.t(), 0.0, &mut c);
        black_box(&c);
    });
    2.0 * (m * n * k) as f64 / (t.median_ms * 1e-3) / 1e9
}

/// GFLOP/s of the `gemm` crate (one thread) for the same product.
fn gemm_crate_rate(m: usize, n: usize, k: usize) -> f64 {
    let a = workload::stream(11, m * k, 1.0);
    let b = workload::stream(12, n * k, 1.0);
    let mut c = vec![0.0f32; m * n];
    let t = time_steps(|| {
        // SAFETY: A is m x k row-major, B^T (k x n) reads B (n x k) with
        // column stride k, and C is m x n row-major: every pointer and
        // stride stays inside its buffer. `gemm` computes
        // dst = alpha dst + beta lhs rhs, so beta = 1 and dst is not read.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                k as isize,
                b.as_ptr(),
                k as isize,
                1,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        black_box(&c);
    });
    // The same product as ours (so the strides above are right).
    let mut ours = vec![0.0f32; m * n];
    rnn::runtime::gemm::gemm_nt::<f32>(
        &mut rnn::runtime::Workspace::new(),
        m,
        n,
        k,
        &a,
        k,
        &b,
        k,
        0.0,
        &mut ours,
        n,
    );
    let worst = c
        .iter()
        .zip(&ours)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "the gemm crate's product differs from ours by {worst}");
    2.0 * (m * n * k) as f64 / (t.median_ms * 1e-3) / 1e9
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = rnn::runtime::gemm::set_threads(args.threads) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let mut cells = Vec::new();
    for c in &args.cells {
        match CellKind::parse(c) {
            Some(k) => cells.push(k),
            None => {
                eprintln!("unknown cell {c:?} (lstm, gru, rnn, lnlstm, lngru, catlstm)");
                return ExitCode::from(2);
            }
        }
    }
    let mut configs = Vec::new();
    for c in &args.configs {
        match workload::config(c) {
            Some(cfg) => configs.push(cfg),
            None => {
                eprintln!("unknown config {c:?} (tiny, small, medium, large)");
                return ExitCode::from(2);
            }
        }
    }
    for m in &args.modes {
        if m != "train" && m != "infer" {
            eprintln!("unknown mode {m:?} (train, infer)");
            return ExitCode::from(2);
        }
    }

    if !args.json {
        println!(
            "rnn workload v1, threads={}, lengths {} (matrix products split across threads; elementwise loops on one)",
            args.threads, args.lengths
        );
        println!(
            "{:<5} {:<7} {:<6} {:>11} {:>11} {:>5} {:>9}",
            "cell", "config", "mode", "median ms", "min ms", "reps", "GFLOP/s"
        );
    }

    let mut failures = 0usize;
    let mut sum_lines = Vec::new();
    for cfg in &configs {
        for &kind in &cells {
            for mode in &args.modes {
                let uniform = args.lengths == "uniform";
                let want_sums = !uniform && mode == "train" && workload::reference(kind, cfg.name).is_some();
                let (t, sums) = run(kind, cfg, mode, want_sums, uniform);
                // With lengths, the products cover only the steps that run.
                let share = if uniform {
                    workload::uniform_lengths(cfg.t, cfg.b).iter().sum::<usize>() as f64 / (cfg.t * cfg.b) as f64
                } else {
                    1.0
                };
                let flops = share
                    * if mode == "train" {
                        workload::train_flops(kind, cfg)
                    } else {
                        workload::forward_flops(kind, cfg)
                    };
                let gflops = flops / (t.median_ms * 1e-3) / 1e9;
                let mut failed = Vec::new();
                if let (Some(s), Some(r)) = (sums, workload::reference(kind, cfg.name)) {
                    failed = workload::check(&s, &r);
                    if !failed.is_empty() {
                        failures += 1;
                    }
                }
                if args.json {
                    let checksums = match sums {
                        Some(s) => {
                            let mut m = serde_json::Map::new();
                            for (n, v) in Checksums::NAMES.iter().zip(s.values()) {
                                m.insert(n.to_string(), serde_json::json!(v));
                            }
                            m.insert("ok".into(), serde_json::json!(failed.is_empty()));
                            m.insert("failed".into(), serde_json::json!(failed));
                            serde_json::Value::Object(m)
                        }
                        None => serde_json::Value::Null,
                    };
                    println!(
                        "{}",
                        serde_json::json!({
                            "system": "rnn",
                            "cell": kind.name(),
                            "config": cfg.name,
                            "mode": mode,
                            "threads": args.threads,
                            "median_ms": t.median_ms,
                            "min_ms": t.min_ms,
                            "reps": t.reps,
                            "gflops": gflops,
                            "lengths": args.lengths,
                            "checksums": checksums,
                        })
                    );
                } else {
                    println!(
                        "{:<5} {:<7} {:<6} {:>11.3} {:>11.3} {:>5} {:>9.2}",
                        kind.name(),
                        cfg.name,
                        mode,
                        t.median_ms,
                        t.min_ms,
                        t.reps,
                        gflops
                    );
                }
                if let Some(s) = sums {
                    let r = workload::reference(kind, cfg.name).unwrap();
                    let mut line = format!(
                        "{} {}: {}",
                        kind.name(),
                        cfg.name,
                        if failed.is_empty() { "ok" } else { "FAIL" }
                    );
                    for (j, n) in Checksums::NAMES.iter().enumerate() {
                        let mark = if failed.contains(n) { " FAIL" } else { "" };
                        line += &format!(
                            "\n    {n:<10} {:>16.8} (ref {:>16.8}){mark}",
                            s.values()[j],
                            r.values()[j]
                        );
                    }
                    sum_lines.push(line);
                }
            }
        }
    }

    if !args.json && !sum_lines.is_empty() {
        println!("\nchecksums (relative 1e-4; sum_dx relative to sumabs_dx):");
        for l in &sum_lines {
            println!("{l}");
        }
    }

    if !args.no_gemm {
        let large = workload::config("large").unwrap();
        let (n, k) = (4 * large.h, large.i);
        let shapes = [(large.t * large.b, n, k), (large.b, n, k)];
        for (m, n, k) in shapes {
            let rate = sgemm_rate(m, n, k);
            let prepacked = sgemm_prepacked_rate(m, n, k);
            // The alternatives we measured against: ndarray's GEMM (matrixmultiply) and the `gemm` crate.
            let mm = matrixmultiply_rate(m, n, k);
            let gc = gemm_crate_rate(m, n, k);
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"system": "rnn", "kernel": "gemm_nt_f32", "m": m, "n": n, "k": k, "threads": args.threads, "gflops": rate})
                );
                println!(
                    "{}",
                    serde_json::json!({"system": "rnn", "kernel": "gemm_packed_f32", "m": m, "n": n, "k": k, "threads": args.threads, "gflops": prepacked})
                );
                println!(
                    "{}",
                    serde_json::json!({"system": "ndarray", "kernel": "matrixmultiply_sgemm", "m": m, "n": n, "k": k, "threads": 1, "gflops": mm})
                );
                println!(
                    "{}",
                    serde_json::json!({"system": "gemm", "kernel": "gemm_crate_sgemm", "m": m, "n": n, "k": k, "threads": 1, "gflops": gc})
                );
            } else {
                println!(
                    "sgemm M={m} N={n} K={k}, {} thread(s): ours {rate:.2} GFLOP/s packing B in the call, {prepacked:.2} on B packed once (as in the loop); ndarray/matrixmultiply (1 thread) {mm:.2}, the gemm crate (1 thread) {gc:.2} GFLOP/s",
                    args.threads
                );
            }
        }
    }

    if failures > 0 {
        eprintln!("{failures} checksum set(s) FAILED");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
