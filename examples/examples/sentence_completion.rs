//! Word-level sentence completion: "my favourite dish is sushi . so , my
//! favourite cuisine is" -> "japanese", for dishes never seen in that
//! sentence.
//!
//! The corpus pairs 60 dishes with 10 cuisines. Every dish appears in fact
//! sentences ("sushi is a japanese dish ."); only the training dishes
//! appear in the completion sentences ("my favourite dish is sushi . so ,
//! my favourite cuisine is japanese .", "i ordered sushi , so i must like
//! japanese food ."). Two dishes per cuisine are held out of those, and the
//! test asks for the cuisine after the completion prompts with them: the
//! model (word embedding, GRU, softmax over the vocabulary) has to combine
//! the facts with the template. The report gives the held-out accuracy
//! against chance (10%), the accuracy on training dishes and on the facts,
//! and a few greedy completions.
//!
//! ```text
//! cargo run --release --example sentence_completion
//! cargo run --release --example sentence_completion -- --cell lstm --held-out 3 --seed 1
//! ```
//!
//! Deterministic (same `--seed`, same split and output, to the bit) and
//! single-threaded; the logic is in `rnn_examples::tasks::sentence_completion`.

use clap::Parser;
use rnn_examples::tasks::CellKind;
use rnn_examples::tasks::sentence_completion::{Config, run_with};
use rnn_examples::{print_report, run_example};
use std::process::ExitCode;

/// Complete sentences about dishes the completion template never saw.
#[derive(Debug, Parser)]
#[command(name = "sentence_completion", version)]
struct Args {
    /// Recurrent cell (rnn, gru, lstm).
    #[arg(long, default_value_t = Config::default().cell)]
    cell: CellKind,
    /// Hidden size.
    #[arg(long, default_value_t = Config::default().hidden)]
    hidden: usize,
    /// Width of a word embedding.
    #[arg(long, default_value_t = Config::default().embed_dim)]
    embed_dim: usize,
    /// Dishes per cuisine held out of the completion sentences (0 to 5).
    #[arg(long, default_value_t = Config::default().held_out)]
    held_out: usize,
    /// Sentences per training step.
    #[arg(long, default_value_t = Config::default().batch)]
    batch: usize,
    /// Training steps.
    #[arg(long, default_value_t = Config::default().steps)]
    steps: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = Config::default().lr)]
    lr: f64,
    /// Clip gradients to this global norm (0: off).
    #[arg(long, default_value_t = Config::default().clip)]
    clip: f64,
    /// Held-out completions to print.
    #[arg(long, default_value_t = Config::default().show)]
    show: usize,
    /// Seed of the split, the batches and the initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Do not show the progress bar.
    #[arg(long)]
    no_progress: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        cell: args.cell,
        hidden: args.hidden,
        embed_dim: args.embed_dim,
        held_out: args.held_out,
        batch: args.batch,
        steps: args.steps,
        lr: args.lr,
        clip: args.clip,
        show: args.show,
        seed: args.seed,
    };
    run_example(
        config.steps,
        args.no_progress,
        |observer| run_with(&config, observer),
        |report, start| {
            print_report(&report, report.train_seconds, start);
            Ok(())
        },
    )
}
