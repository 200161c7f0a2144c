//! Reruns every example whose output README.md shows and checks each line
//! it shows against what the program prints now.
//!
//! In the README, an output block to check follows a marker line
//!
//! ```text
//! <!-- readme_check: NAME ARGS... -->
//! ```
//!
//! (an HTML comment, invisible when rendered). The program runs
//! `cargo run --release --quiet --example NAME -- ARGS...`, keeps its
//! standard output (the examples print their reports there and their
//! timings on standard error, so it is the same on every run of a seed),
//! and looks for every line of the block in it; a line that is `...` (or
//! ends with `...`, an elision) is skipped. It writes each program's
//! output to `runs/readme_check/NAME.txt`, reports each block, and exits
//! with status 1 if a line is missing.
//!
//! ```text
//! cargo run --release --example readme_check
//! cargo run --release --example readme_check -- --only brackets
//! ```

use clap::Parser;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// Rerun the examples whose output README.md shows, and check every line it shows.
#[derive(Debug, Parser)]
#[command(name = "readme_check", version)]
struct Args {
    /// The README to check.
    #[arg(long, default_value = "README.md")]
    readme: PathBuf,
    /// Check only these examples (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Where each program's output is written.
    #[arg(long, default_value = "runs/readme_check")]
    out: PathBuf,
}

/// One output block of the README and the command that prints it.
#[derive(Debug)]
struct Block {
    line: usize,
    example: String,
    args: Vec<String>,
    expected: Vec<String>,
}

const MARKER: &str = "<!-- readme_check:";

/// The marked output blocks of `text`.
fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let Some(rest) = lines[k].trim().strip_prefix(MARKER) else {
            k += 1;
            continue;
        };
        let command = rest
            .trim_end()
            .strip_suffix("-->")
            .ok_or(format!("line {}: marker without -->", k + 1))?;
        let mut words = command.split_whitespace().map(str::to_string);
        let example = words
            .next()
            .ok_or(format!("line {}: marker without an example", k + 1))?;
        let start = k + 1;
        if !lines.get(start).is_some_and(|l| l.trim_start().starts_with("```")) {
            return Err(format!("line {}: the marker must be right above a ``` block", k + 1));
        }
        let end = (start + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .ok_or(format!("line {}: unterminated block", start + 1))?;
        let expected = lines[start + 1..end]
            .iter()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.trim().is_empty() && !l.trim_end().ends_with("..."))
            .collect();
        out.push(Block {
            line: k + 1,
            example,
            args: words.collect(),
            expected,
        });
        k = end + 1;
    }
    Ok(out)
}

/// Runs one example through cargo; its standard output.
fn run(example: &str, args: &[String]) -> Result<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--release", "--quiet", "--example", example, "--"])
        .args(args)
        .arg("--no-progress")
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{example} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let text = match std::fs::read_to_string(&args.readme) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", args.readme.display());
            return ExitCode::FAILURE;
        }
    };
    let blocks = match blocks(&text) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: {e}", args.readme.display());
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    let mut failed = 0;
    for b in blocks
        .iter()
        .filter(|b| args.only.is_empty() || args.only.contains(&b.example))
    {
        let shown = format!("{} {}", b.example, b.args.join(" "));
        let printed = match run(&b.example, &b.args) {
            Ok(p) => p,
            Err(e) => {
                println!("README line {:>4}  {shown:<40} ERROR {e}", b.line);
                failed += 1;
                continue;
            }
        };
        let file = args.out.join(format!("{}.txt", b.example));
        let _ = std::fs::write(&file, &printed);
        let got: Vec<&str> = printed.lines().map(str::trim_end).collect();
        let missing: Vec<&String> = b.expected.iter().filter(|l| !got.contains(&l.as_str())).collect();
        if missing.is_empty() {
            println!("README line {:>4}  {shown:<40} ok ({} lines)", b.line, b.expected.len());
        } else {
            failed += 1;
            println!(
                "README line {:>4}  {shown:<40} {} of {} lines differ (output in {}):",
                b.line,
                missing.len(),
                b.expected.len(),
                file.display()
            );
            for l in missing {
                println!("    README: {l}");
            }
        }
    }
    if failed > 0 {
        println!("{failed} block(s) differ from what the programs print");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_marked_blocks_and_skips_elisions() {
        let text = "x\n<!-- readme_check: sine --seed 1 -->\n```text\na  b\n\n  ...\nc ...\nd\n```\n";
        let b = blocks(text).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].example.as_str(), b[0].args.clone()),
            ("sine", vec!["--seed".to_string(), "1".into()])
        );
        assert_eq!(b[0].expected, ["a  b", "d"]);
        assert!(blocks("<!-- readme_check: sine -->\ntext\n").is_err());
    }
}
