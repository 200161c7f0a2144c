//! Prints a shipped cell's emitted source and writes its graphs as DOT.
//!
//! ```text
//! cargo run --example inspect -- lstm [--out DIR] [--plan] [--shapes]
//! ```
//! Cells: `lstm`, `gru`, `rnn_tanh`, `rnn_relu`, `layer_norm_lstm`,
//! `layer_norm_gru`. Writes `<cell>_step.dot` and `<cell>_unrolled.dot`
//! into `DIR` (default `.`); render them with
//! `dot -Tsvg`.

use clap::Parser;
use rnn::cells::{Gru, LayerNormGru, LayerNormLstm, Lstm, RnnRelu, RnnTanh};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "inspect",
    version,
    about = "Show the code and graphs the cell compiler produced for a shipped cell"
)]
struct Args {
    /// lstm, gru, rnn_tanh, rnn_relu, layer_norm_lstm or layer_norm_gru.
    cell: String,
    /// Folder for the DOT files.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Also print the scheduled programs.
    #[arg(long)]
    plan: bool,
    /// Also print the table of symbolic shapes.
    #[arg(long)]
    shapes: bool,
}

/// The inspection constants of one cell.
struct Info {
    source: &'static str,
    step_dot: &'static str,
    unrolled_dot: &'static str,
    plan: &'static str,
    shapes: &'static [(&'static str, &'static str)],
}

macro_rules! info {
    ($t:ty) => {
        Info {
            source: <$t>::SOURCE,
            step_dot: <$t>::STEP_DOT,
            unrolled_dot: <$t>::UNROLLED_DOT,
            plan: <$t>::PLAN,
            shapes: <$t>::SHAPES,
        }
    };
}

fn main() -> ExitCode {
    let args = Args::parse();
    let info = match args.cell.as_str() {
        "lstm" => info!(Lstm<f32>),
        "gru" => info!(Gru<f32>),
        "rnn_tanh" | "rnn" => info!(RnnTanh<f32>),
        "rnn_relu" => info!(RnnRelu<f32>),
        "layer_norm_lstm" => info!(LayerNormLstm<f32>),
        "layer_norm_gru" => info!(LayerNormGru<f32>),
        other => {
            eprintln!(
                "unknown cell {other:?}; expected lstm, gru, rnn_tanh, rnn_relu, layer_norm_lstm or layer_norm_gru"
            );
            return ExitCode::from(2);
        }
    };
    println!("{}", info.source);
    if args.shapes {
        println!("// shapes");
        for (value, shape) in info.shapes {
            println!("//   {value:<40} {shape}");
        }
    }
    if args.plan {
        println!("{}", info.plan);
    }
    for (suffix, text) in [("step", info.step_dot), ("unrolled", info.unrolled_dot)] {
        let path = args.out.join(format!("{}_{suffix}.dot", args.cell));
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
