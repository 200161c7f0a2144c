//! Runs a PyTorch reference fixture through this library and writes what it computes.
//!
//! A fixture (`tests/fixtures/torch/README.md`) holds the parameters of an
//! `nn.LSTM` / `nn.GRU` / `nn.RNN` (any `num_layers`, uni- or bidirectional),
//! its inputs, the upstream gradients of a fixed loss, and PyTorch's outputs
//! and gradients. This program picks the shipped cell from the metadata
//! (`cell`, `nonlinearity`) and the float type from `dtype` (float32 files run
//! in `f32`, float64 files in `f64`), runs the training forward and BPTT
//! through `rnn::runtime::Layers`, writes `out`, `h_n`, (`c_n`), `loss` and
//! `grad_<name>` for every parameter and for `x`, `h0`, (`c0`) to `--out`
//! (safetensors, same dtype), and prints how every tensor compares with
//! PyTorch's. The exit status is 1 if any tensor is outside the README's
//! tolerance (unless `--no-check`), 2 on an error. A fixture with `lengths`
//! (`tests/fixtures/torch_packed/`) is a variable-length batch, run as
//! PyTorch ran it, as packed sequences.
//!
//! ```text
//! cargo run --release --example torch_parity -- \
//!     --fixture tests/fixtures/torch/lstm_T5_B3_I4_H6.safetensors --out /tmp/lstm.safetensors
//! cargo run --release --example torch_parity -- \
//!     --fixture tests/fixtures/torch_packed/gru_packed_bidir2.safetensors --out /tmp/gru.safetensors
//! ```

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "torch_parity",
    version,
    about = "Run a PyTorch RNN fixture through rnn and write the results"
)]
struct Args {
    /// The fixture (`*.safetensors`, format described in tests/fixtures/torch/README.md).
    #[arg(long)]
    fixture: PathBuf,
    /// Where to write the results (safetensors, in the fixture's dtype).
    #[arg(long)]
    out: PathBuf,
    /// Exit 0 even if a tensor differs from the fixture beyond tolerance.
    #[arg(long)]
    no_check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match rnn_examples::parity::run_shipped(&args.fixture, Some(args.out.as_path())) {
        Ok(report) => {
            println!("{report}");
            println!("results written to {}", args.out.display());
            if report.passed() || args.no_check {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
