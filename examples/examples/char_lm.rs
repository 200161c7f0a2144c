//! Character-level language model, CHARLM v1 (`../shared/CHARLM.md`).
//!
//! The model is declared with `rnn::model!` (one-hot input, a stack of the
//! chosen cell, a softmax head, cross-entropy) and trained by the library's
//! general loop, [`Trainer`], on random windows of the corpus
//! ([`TrainWindows`]). With no arguments this trains a one-layer LSTM
//! (H = 256) on the bundled tinyshakespeare corpus (compiled into the program) exactly as the spec says: batches of 32 random
//! windows of 64 characters, 2000 Adam steps at lr 2e-3, gradients clipped to
//! global norm 5, validation on 64 fixed windows at step 0 and every 250
//! steps, seed 0, float32. It shows a progress bar on stderr, prints one JSON
//! line per evaluation on stdout (and to `--metrics PATH`), then 300 sampled
//! characters (prime "\n", temperature 0.8).
//!
//! ```text
//! cargo run --release --example char_lm
//! cargo run --release --example char_lm -- --cell gru --steps 500 --metrics runs/gru.jsonl
//! ```
//!
//! `elapsed_s` and `chars_per_s` count training wall time only (batch
//! construction, forward, backward, clipping, update), as CHARLM section 5
//! defines it; `train_loss` is the mean batch loss since the previous
//! evaluation (`null` at step 0).
//!
//! The harness around the run:
//!
//! - the progress bar shows each step's loss, global gradient norm (before
//!   clipping) and chars/s; it is hidden when stderr is not a terminal or
//!   with `--no-progress`;
//! - `--step-metrics PATH` writes one JSON line per step: `step`, `loss`,
//!   `grad_norm`, `lr`, `time_s` (the step's wall time); the `--metrics`
//!   file keeps exactly the per-evaluation lines;
//! - `--plot PATH.svg` draws the per-step training loss and the validation
//!   loss against step, rewritten at every evaluation;
//! - `--save PATH` also checkpoints during training, at every evaluation or
//!   every `--checkpoint-every N` steps, starting with the initial model
//!   (atomically, after checking every parameter is finite). A NaN or
//!   infinite loss, gradient or parameter stops the run with an error
//!   naming the step, and the last good checkpoint stays at PATH.
//!
//! ```text
//! cargo run --release --example char_lm -- --steps 500 --save runs/lstm.safetensors \
//!     --step-metrics runs/steps.jsonl --plot runs/loss.svg
//! cargo run --release --example char_lm -- --steps 1000 --resume runs/lstm.safetensors \
//!     --step-metrics runs/steps.jsonl
//! cargo run --release --example char_lm -- generate --load runs/lstm.safetensors --prime ROMEO: --length 500
//! ```
//!
//! Checkpoints hold everything a run needs to continue: parameters, Adam's
//! moments and step, the trainer's counters and the running mean of the
//! training loss. `--resume CKPT` (with the run's corpus, cell, sizes,
//! batch, window length and seed) rebuilds the run, draws the batches it
//! had used, and continues to `--steps`: every later metric line, the
//! parameters and the sample are the same to the bit as one uninterrupted
//! run's (one thread).
//!
//! `--distributed` trains on the ranks of `mpirun` (a build with the `mpi`
//! feature): every rank draws the same global batch of `--batch` windows
//! from the seed and trains on its share, the gradients are all-reduced
//! at every step, and rank 0 alone evaluates, reports, checkpoints and
//! samples; `chars_per_s` counts all ranks. The ranks check every
//! `--eval-every` steps (with `--eval-every 0`, at the end) that their
//! parameters are still identical.
//!
//! ```text
//! cargo build --release -p rnn-examples --features mpi --example char_lm
//! mpirun -np 2 target/release/examples/char_lm --distributed --steps 500
//! ```
//!
//! Without `--save` the run checkpoints to
//! `runs/char_lm-CELL-hH-lL-seedS.safetensors` (or, if that exists, the
//! first free name `-2`, `-3`, ... beside it); `--no-save` saves nothing.
//! Every option and output path is checked before the first step: see
//! [`rnn_examples::cli`] for the ranges and [`rnn_examples::outputs`] for
//! what an output may replace. `generate` rebuilds the model and its
//! vocabulary from a checkpoint alone
//! ([`rnn_examples::charlm_checkpoint`]); with the run's seed (the default)
//! and temperature it prints the run's own final sample.

use clap::{Parser, Subcommand, ValueEnum};
use rnn::runtime::optim::{Adam, AdamConfig};
use rnn::runtime::train::{BatchSource, Checkpointer, MetricsWriter, StepStats, Trainer, TrainerConfig};
use rnn::{Cell, SeqModel};
use rnn_examples::charlm::{Corpus, TrainWindows, Windows, val_windows};
use rnn_examples::charlm_checkpoint::{META_SEED, load_checkpoint, run_metadata};
use rnn_examples::cli::{at_least_one, clip_norm, positive_finite, temperature, threads};
use rnn_examples::outputs::{Output, OutputKind, check_outputs, fresh_path};
use rnn_examples::plot::{PlotOptions, Series, write_loss_curve};
use rnn_examples::progress::TrainProgress;
use rnn_examples::ranks::Ranks;
use serde_json::json;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

rnn::model! {
    /// CHARLM's model with an LSTM: one-hot characters in, `L` layers of
    /// `H`, next-character logits out.
    model CharLstm(V, H, L) {
        input: one_hot(V);
        cell: rnn::cells::Lstm { h: H } x L;
        head: softmax(V);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// The same with a GRU.
    model CharGru(V, H, L) {
        input: one_hot(V);
        cell: rnn::cells::Gru { h: H } x L;
        head: softmax(V);
        loss: cross_entropy;
    }
}

rnn::model! {
    /// The same with a vanilla tanh RNN.
    model CharRnn(V, H, L) {
        input: one_hot(V);
        cell: rnn::cells::RnnTanh { h: H } x L;
        head: softmax(V);
        loss: cross_entropy;
    }
}

/// CHARLM v1's number of fixed validation windows.
const VAL_WINDOWS: usize = 64;

/// Which recurrent cell to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CellKind {
    /// PyTorch-equivalent LSTM (gates i, f, g, o).
    Lstm,
    /// PyTorch-equivalent GRU (gates r, z, n).
    Gru,
    /// Vanilla tanh RNN.
    Rnn,
}

/// Train a character-level language model (CHARLM v1 with no options), or
/// generate text from a checkpoint.
#[derive(Debug, Parser)]
#[command(name = "char_lm", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model (what runs when no subcommand is given).
    Train(Box<Args>),
    /// Generate text from a checkpoint alone (model and vocabulary are
    /// rebuilt from the file).
    Generate(GenerateArgs),
}

/// The settings of a training run.
#[derive(Debug, Clone, clap::Args)]
struct Args {
    /// Corpus file, read as UTF-8 [default: the bundled tinyshakespeare.txt,
    /// compiled into the program].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Recurrent cell.
    #[arg(long, value_enum, default_value_t = CellKind::Lstm)]
    cell: CellKind,
    /// Hidden size H (>= 1).
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    hidden: usize,
    /// Number of stacked layers (>= 1).
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    layers: usize,
    /// Windows per batch B (>= 1).
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    batch: usize,
    /// Window length T (>= 1).
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    seq_len: usize,
    /// Training steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Adam learning rate (finite, > 0).
    #[arg(long, default_value_t = 2e-3, value_parser = positive_finite)]
    lr: f64,
    /// Clip gradients to this global L2 norm (finite, > 0; see --no-clip).
    #[arg(long, default_value_t = 5.0, value_parser = clip_norm)]
    clip: f64,
    /// Do not clip gradients.
    #[arg(long, conflicts_with = "clip")]
    no_clip: bool,
    /// Evaluate every N steps (and after the last; 0: only at 0 and the end).
    #[arg(long, default_value_t = 250)]
    eval_every: usize,
    /// Seed for initialisation, batches and sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for matrix products, 1 to the machine's available
    /// parallelism (rows split between them; the elementwise loops run on
    /// one).
    #[arg(long, default_value_t = 1, value_parser = threads)]
    threads: usize,
    /// Also write the JSON metric lines to this file.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Write one JSON line per step (step, loss, grad_norm, lr, time_s) to this file.
    #[arg(long)]
    step_metrics: Option<PathBuf>,
    /// Draw the training and validation loss curves to this SVG file
    /// (rewritten at every evaluation).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Save the model (safetensors) to this file, at every evaluation (see
    /// --checkpoint-every) and at the end [default:
    /// runs/char_lm-CELL-hH-lL-seedS.safetensors, or the first free
    /// name -2, -3, ... beside it].
    #[arg(long, conflicts_with = "no_save")]
    save: Option<PathBuf>,
    /// Save no checkpoint.
    #[arg(long)]
    no_save: bool,
    /// Continue the run saved in this checkpoint (written by a run with the
    /// same corpus, cell, sizes, batch, window length and seed), up to
    /// --steps in all, exactly as if it had not stopped; checkpoints go
    /// back to the same file unless --save says otherwise, and metric
    /// files are appended to.
    #[arg(long, conflicts_with = "no_save")]
    resume: Option<PathBuf>,
    /// Checkpoint every N steps instead of at every evaluation (0: only at
    /// the end).
    #[arg(long, conflicts_with = "no_save")]
    checkpoint_every: Option<usize>,
    /// Overwrite output files that exist and are not outputs of an earlier
    /// run of the same kind (never the corpus).
    #[arg(long)]
    force: bool,
    /// Do not show the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Characters to sample after training.
    #[arg(long, default_value_t = 300)]
    sample: usize,
    /// Text the sample continues; every character must be in the corpus
    /// [default: a newline, or the corpus's first character if it has none].
    #[arg(long)]
    prime: Option<String>,
    /// Sampling temperature (finite, >= 0; 0: greedy).
    #[arg(long, default_value_t = 0.8, value_parser = temperature)]
    temperature: f64,
    /// Train on the ranks of `mpirun -np N` (data parallel): each rank
    /// takes its share of every batch of --batch windows, the gradients
    /// are summed across ranks at every step, and rank 0 alone reports,
    /// checkpoints and samples. Needs a build with `--features mpi`.
    #[arg(long)]
    distributed: bool,
}

/// The settings of `char_lm generate`.
#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Checkpoint written by a training run (--save).
    #[arg(long)]
    load: PathBuf,
    /// Text to continue; every character must be in the model's vocabulary
    /// [default: a newline, or the vocabulary's first character].
    #[arg(long)]
    prime: Option<String>,
    /// Characters to generate.
    #[arg(long, default_value_t = 300)]
    length: usize,
    /// Sampling temperature (finite, >= 0; 0: greedy).
    #[arg(long, default_value_t = 0.8, value_parser = temperature)]
    temperature: f64,
    /// Seed of the sampling [default: the run's seed stored in the
    /// checkpoint], so that a run's final sample is reproduced.
    #[arg(long)]
    seed: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Generate(g)) => generate(&g),
        Some(Command::Train(args)) => train(&args),
        None => train(&cli.train),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `char_lm generate`: the checkpoint's model continues the prime.
fn generate(g: &GenerateArgs) -> Result<(), Box<dyn Error>> {
    let loaded = load_checkpoint(&g.load)?;
    let prime = g.prime.clone().unwrap_or_else(|| default_prime(&loaded.vocab));
    let seed = match g.seed {
        Some(s) => s,
        None => loaded
            .metadata
            .get(META_SEED)
            .and_then(|s| s.parse().ok())
            .ok_or("the checkpoint stores no seed; give --seed")?,
    };
    let text = loaded.generate(&prime, g.length, g.temperature, &mut rnn::seeded_rng(seed))?;
    println!("{prime}{text}");
    Ok(())
}

/// A newline if the vocabulary has one, else its first character.
fn default_prime(vocab: &[char]) -> String {
    if vocab.contains(&'\n') {
        "\n".into()
    } else {
        vocab.first().map(|c| c.to_string()).unwrap_or_default()
    }
}

/// Everything a training run checked before its first step.
struct Plan {
    corpus: Corpus,
    data_name: String,
    prime: String,
    save: Option<PathBuf>,
}

/// Metadata key of the batch size B of a run.
const META_BATCH: &str = "batch";
/// Metadata key of the window length T of a run.
const META_SEQ_LEN: &str = "seq_len";
/// Metadata keys of the training losses summed since the last evaluation.
const META_LOSS_SUM: &str = "train_loss_sum";
const META_LOSS_COUNT: &str = "train_loss_count";

/// Checks that the checkpoint `path` continues a run of these settings:
/// the data stream (seed, batch, window length) must be the same.
fn check_resume(args: &Args, path: &Path) -> Result<(), Box<dyn Error>> {
    let header = rnn::runtime::io::read_header(path).map_err(|e| format!("--resume: {e}"))?;
    for (key, option, want) in [
        (META_SEED, "--seed", args.seed.to_string()),
        (META_BATCH, "--batch", args.batch.to_string()),
        (META_SEQ_LEN, "--seq-len", args.seq_len.to_string()),
    ] {
        match header.metadata.get(key) {
            Some(v) if *v == want => {}
            Some(v) => {
                return Err(format!(
                    "--resume {}: the run used {option} {v}, this one {want}; give the same to continue it",
                    path.display()
                )
                .into());
            }
            None => {
                return Err(format!(
                    "--resume {}: no `{key}` in the checkpoint: not a char_lm training checkpoint",
                    path.display()
                )
                .into());
            }
        }
    }
    Ok(())
}

/// Reads the corpus and checks every setting and output path, so that a
/// bad one stops the run before any training.
fn plan(args: &Args) -> Result<Plan, Box<dyn Error>> {
    let (corpus, data_name) = match &args.data {
        Some(p) => (Corpus::from_file(p)?, p.display().to_string()),
        None => (Corpus::bundled(), "bundled tinyshakespeare.txt".to_string()),
    };
    let prime = match &args.prime {
        Some(p) if p.is_empty() => return Err("--prime: give at least one character".into()),
        Some(p) => {
            corpus
                .encode(p)
                .map_err(|e| format!("--prime {p:?}: {e} (the corpus's characters are the vocabulary)"))?;
            p.clone()
        }
        None => default_prime(corpus.vocab()),
    };
    if let Some(r) = &args.resume {
        check_resume(args, r)?;
    }
    let save = if args.no_save {
        None
    } else {
        Some(args.save.clone().or_else(|| args.resume.clone()).unwrap_or_else(|| {
            let name = format!(
                "char_lm-{}-h{}-l{}-seed{}.safetensors",
                format!("{:?}", args.cell).to_lowercase(),
                args.hidden,
                args.layers,
                args.seed
            );
            fresh_path(&Path::new("runs").join(name))
        }))
    };
    let svg = |p: &PathBuf| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
            == Some("svg")
    };
    if let Some(p) = args.plot.as_ref().filter(|p| !svg(p)) {
        return Err(format!("--plot {}: only .svg plots are written", p.display()).into());
    }
    let mut outputs = Vec::new();
    for (option, path, kind) in [
        ("--metrics", &args.metrics, OutputKind::Metrics),
        ("--step-metrics", &args.step_metrics, OutputKind::Metrics),
        ("--plot", &args.plot, OutputKind::Plot),
        ("--save", &save, OutputKind::Checkpoint),
    ] {
        if let Some(p) = path {
            outputs.push(Output::new(option, p, kind));
        }
    }
    let inputs: Vec<(&str, &Path)> = args.data.iter().map(|p| ("--data", p.as_path())).collect();
    check_outputs(&inputs, &outputs, args.force)?;
    Ok(Plan {
        corpus,
        data_name,
        prime,
        save,
    })
}

/// A training run (the default command); with `--distributed`, this
/// rank's part of one (an error on any rank stops them all).
fn train(args: &Args) -> Result<(), Box<dyn Error>> {
    let ranks = Ranks::new(args.distributed)?;
    let trained = if ranks.is_root() {
        train_rank(args, &ranks)
    } else {
        // The other ranks train silently and write nothing.
        let quiet = Args {
            no_progress: true,
            metrics: None,
            step_metrics: None,
            plot: None,
            save: None,
            no_save: true,
            sample: 0,
            ..args.clone()
        };
        train_rank(&quiet, &ranks)
    };
    if let Err(e) = &trained {
        if ranks.size() > 1 {
            eprintln!("error on rank {}: {e}", ranks.rank());
        }
        ranks.abort_if_distributed();
    }
    trained
}

/// [`train`] on this rank.
fn train_rank(args: &Args, ranks: &Ranks) -> Result<(), Box<dyn Error>> {
    let plan = plan(args)?;
    rnn::runtime::gemm::set_threads(args.threads)?;
    let corpus = &plan.corpus;
    let (v, h, l) = (corpus.vocab_size(), args.hidden, args.layers);
    let mut rng = rnn::seeded_rng(args.seed);
    match args.cell {
        CellKind::Lstm => {
            let sizes = CharLstmSizes { v, h, l };
            run(
                args,
                ranks,
                &plan,
                CharLstm::<f32>::new(sizes, &mut rng)?.into_inner(),
                rng,
            )
        }
        CellKind::Gru => {
            let sizes = CharGruSizes { v, h, l };
            run(
                args,
                ranks,
                &plan,
                CharGru::<f32>::new(sizes, &mut rng)?.into_inner(),
                rng,
            )
        }
        CellKind::Rnn => {
            let sizes = CharRnnSizes { v, h, l };
            run(
                args,
                ranks,
                &plan,
                CharRnn::<f32>::new(sizes, &mut rng)?.into_inner(),
                rng,
            )
        }
    }
}

/// Trains, evaluates, saves and samples `model` (built from `rng`, which
/// then draws the training windows) as rank `ranks` of the run: every rank
/// trains on its shard of each batch; only rank 0 evaluates and reports.
fn run<C: Cell<f32> + Send + Sync>(
    args: &Args,
    ranks: &Ranks,
    plan: &Plan,
    model: SeqModel<f32, C>,
    rng: rand::rngs::StdRng,
) -> Result<(), Box<dyn Error>> {
    let corpus = &plan.corpus;
    let v = corpus.vocab_size();
    let root = ranks.is_root();
    let shard = ranks.shard(args.batch);
    if shard.is_empty() {
        return Err(format!(
            "--batch {} has no window for each of {} ranks",
            args.batch,
            ranks.size()
        )
        .into());
    }
    // Characters per second over all ranks: this rank's times the global
    // batch over its shard.
    let all_ranks = args.batch as f64 / shard.len() as f64;
    if root {
        eprintln!(
            "{}: {} characters ({} train, {} validation), V = {v}; {} x{} H = {}, {} parameters; {} thread(s){}",
            plan.data_name,
            corpus.len(),
            corpus.train().len(),
            corpus.val().len(),
            C::NAME,
            args.layers,
            args.hidden,
            model.num_scalars(),
            args.threads,
            if ranks.size() > 1 {
                format!(" per rank, {} ranks", ranks.size())
            } else {
                String::new()
            }
        );
    }
    let adam = Adam::new(AdamConfig {
        lr: args.lr,
        ..AdamConfig::default()
    })?;
    let config = TrainerConfig {
        clip_norm: (!args.no_clip).then_some(args.clip),
        ..TrainerConfig::default()
    };
    let mut windows = TrainWindows::new(corpus, args.seq_len, args.batch, rng)?.with_shard(shard)?;
    let val = val_windows(corpus, args.seq_len, VAL_WINDOWS)?;
    // The ranks check they agree at every evaluation (without evaluations
    // in between, at the end).
    let check_every = if args.eval_every > 0 {
        args.eval_every
    } else {
        args.steps.max(1)
    };
    let mut trainer = ranks.trainer(model, adam, config, check_every)?;
    // The running sum of training losses since the last evaluation.
    let (mut sum, mut count) = (0.0, 0usize);
    if let Some(path) = &args.resume {
        let saved = trainer.resume_from(path)?;
        let parse = |k: &str| saved.get(k).and_then(|v| v.parse::<f64>().ok());
        (sum, count) = (
            parse(META_LOSS_SUM).unwrap_or(0.0),
            parse(META_LOSS_COUNT).unwrap_or(0.0) as usize,
        );
        // The same batches as the run that stopped: draw the ones it used.
        for _ in 0..trainer.steps() {
            BatchSource::<f32>::next_batch(&mut windows)?;
        }
        if root {
            eprintln!("resumed {} at step {}", path.display(), trainer.steps());
        }
        // Every rank read the same file; they start from rank 0's parameters.
        trainer.check_in_sync()?;
    }
    let mut report = Report::new(args, C::NAME, args.resume.is_some())?;
    let meta = |steps: usize, val_loss: Option<f64>, sum: f64, count: usize| {
        let mut m = run_metadata(corpus.vocab(), args.seed, steps, val_loss);
        for (k, v) in [
            (META_BATCH, args.batch.to_string()),
            (META_SEQ_LEN, args.seq_len.to_string()),
            (META_LOSS_SUM, format!("{sum:?}")),
            (META_LOSS_COUNT, count.to_string()),
        ] {
            m.insert(k.to_string(), v);
        }
        m
    };
    // Without --checkpoint-every, checkpoints follow the evaluations.
    let mut checkpoints = plan
        .save
        .as_ref()
        .map(|p| Checkpointer::new(p, args.checkpoint_every.unwrap_or(0)));
    let at_evals = args.checkpoint_every.is_none();

    let trained = (|| -> Result<f64, Box<dyn Error>> {
        let mut final_val = f64::NAN;
        if args.resume.is_none() && root {
            final_val = report.evaluate(&mut trainer, &val, None, all_ranks)?;
            // The initial model is the first good checkpoint.
            if let Some(ck) = checkpoints.as_mut().filter(|ck| at_evals || ck.every() > 0) {
                ck.save(0, &trainer, &meta(0, Some(final_val), 0.0, 0))?;
            }
        }
        while trainer.steps() < args.steps {
            let s = rnn::runtime::gemm::in_pool(|| trainer.step(&mut windows))?;
            sum += s.loss;
            count += 1;
            if root {
                report.step(&s, trainer.positions_per_sec() * all_ranks)?;
            }
            let due = args.eval_every > 0 && s.step % args.eval_every == 0;
            let evaluated = due || s.step == args.steps;
            if evaluated && root {
                final_val = report.evaluate(&mut trainer, &val, Some(sum / count as f64), all_ranks)?;
                // Only the evaluations of the interval start a new mean, so
                // a run resumed from its last step reports what one run would.
                if due {
                    (sum, count) = (0.0, 0);
                }
            }
            if let Some(ck) = checkpoints.as_mut() {
                if at_evals && evaluated {
                    ck.save(s.step, &trainer, &meta(s.step, Some(final_val), sum, count))?;
                } else if !at_evals {
                    ck.save_if_due(s.step, &trainer, &meta(s.step, None, sum, count))?;
                }
            }
        }
        Ok(final_val)
    })();
    report.progress.finish();
    let final_val = match trained {
        Ok(v) => v,
        Err(e) => {
            // Keep what the run showed so far (best effort), then say where
            // the last good checkpoint is.
            let _ = report.plot();
            return Err(match &checkpoints {
                Some(ck) => format!("{e}; {}", ck.describe()).into(),
                None => e,
            });
        }
    };
    if root {
        eprintln!(
            "final validation loss {final_val:.4} nats/char ({:.4} bits/char); training wall time {:.1} s, {:.0} chars/s",
            final_val / std::f64::consts::LN_2,
            trainer.train_time().as_secs_f64(),
            trainer.positions_per_sec() * all_ranks
        );
        if let Some(st) = trainer.sync_stats().filter(|st| st.reductions > 0) {
            let share = st.reduce_time.as_secs_f64() / trainer.train_time().as_secs_f64();
            eprintln!(
                "all-reduce: {} bytes per step, {:.3} ms per step, {:.1} % of rank 0's training time",
                st.bytes_per_reduce,
                1e3 * st.reduce_time.as_secs_f64() / st.reductions as f64,
                100.0 * share
            );
        }
    }

    if let Some(ck) = checkpoints.as_mut() {
        let steps = trainer.steps();
        let val_loss = Some(final_val).filter(|v| v.is_finite());
        ck.save(steps, &trainer, &meta(steps, val_loss, sum, count))?;
        eprintln!("saved {}", ck.path().display());
    }
    let model = trainer.into_model();
    if args.sample > 0 {
        let prime = corpus.encode(&plan.prime)?;
        let ids = model.generate(&prime, args.sample, args.temperature, &mut rnn::seeded_rng(args.seed))?;
        println!("\n{}{}", plan.prime, corpus.decode(&ids));
    }
    Ok(())
}

/// Where a run reports: progress bar, metric files and the loss plot.
struct Report {
    progress: TrainProgress,
    metrics: Option<MetricsWriter>,
    step_metrics: Option<MetricsWriter>,
    plot: Option<(PathBuf, PlotOptions)>,
    train: Series,
    val: Series,
}

impl Report {
    /// Opens the files `args` names (creating parent directories; appending
    /// to the metric files when `append`).
    fn new(args: &Args, cell: &str, append: bool) -> Result<Self, Box<dyn Error>> {
        let open = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| {
                    if append {
                        MetricsWriter::append(p)
                    } else {
                        MetricsWriter::create(p)
                    }
                })
                .transpose()
        };
        let title = format!(
            "char_lm: {cell} x{} H = {}, seed {}",
            args.layers, args.hidden, args.seed
        );
        Ok(Report {
            progress: TrainProgress::new(args.steps as u64, "chars", args.no_progress),
            metrics: open(&args.metrics)?,
            step_metrics: open(&args.step_metrics)?,
            plot: args.plot.clone().map(|p| {
                let options = PlotOptions {
                    title,
                    ..PlotOptions::default()
                };
                (p, options)
            }),
            train: Series::new("train", []),
            val: Series::new("validation", []),
        })
    }

    /// Shows and records one training step.
    fn step(&mut self, s: &StepStats, chars_per_s: f64) -> Result<(), Box<dyn Error>> {
        self.progress.update(s.step as u64, s.loss, s.grad_norm, chars_per_s);
        self.train.push(s.step as f64, s.loss);
        if let Some(m) = self.step_metrics.as_mut() {
            m.write_fields(&[
                ("step", json!(s.step)),
                ("loss", json!(s.loss)),
                ("grad_norm", json!(s.grad_norm)),
                ("lr", json!(s.lr)),
                ("time_s", json!(s.time.as_secs_f64())),
            ])?;
        }
        Ok(())
    }

    /// Evaluates, prints and records the CHARLM metric line, redraws the
    /// plot; returns the validation loss.
    fn evaluate<C: Cell<f32>>(
        &mut self,
        trainer: &mut Trainer<f32, C, Adam<f32>>,
        val: &Windows,
        train_loss: Option<f64>,
        all_ranks: f64,
    ) -> Result<f64, Box<dyn Error>> {
        let val_loss = trainer.evaluate(&val.batch())?;
        // Written by hand to keep the key order; every number is finite.
        let line = format!(
            r#"{{"step":{},"val_loss":{},"train_loss":{},"elapsed_s":{},"chars_per_s":{}}}"#,
            trainer.steps(),
            val_loss,
            train_loss.map_or("null".to_string(), |l| l.to_string()),
            trainer.train_time().as_secs_f64(),
            trainer.positions_per_sec() * all_ranks,
        );
        self.progress.suspend(|| println!("{line}"));
        if let Some(m) = self.metrics.as_mut() {
            m.write_line(&line)?;
        }
        self.val.push(trainer.steps() as f64, val_loss);
        self.plot()?;
        Ok(val_loss)
    }

    /// Redraws the loss plot, if one was asked for.
    fn plot(&self) -> Result<(), Box<dyn Error>> {
        if let Some((path, options)) = &self.plot {
            write_loss_curve(path, &[self.train.clone(), self.val.clone()], options)?;
        }
        Ok(())
    }
}
