//! `cargo xtask fuzz --seconds N`: every fuzz target of `fuzz/` (cargo-fuzz, libFuzzer, nightly) for N seconds,
//! starting from the seed corpus that `sgm_train::fuzzing::seeds` builds from the real formats; prints the
//! executions and crashes of each target and fails when any target crashed.

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::Path;
use std::process::Command;

/// Arguments of `cargo xtask fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Seconds of fuzzing per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Only these targets (default: all of sgm_train::fuzzing::TARGETS).
    #[arg(long, value_delimiter = ',')]
    pub targets: Option<Vec<String>>,
    /// The sanitizer cargo-fuzz builds with: none (fastest; panics, aborts, out-of-memory and timeouts are still
    /// caught) or address.
    #[arg(long, default_value = "none")]
    pub sanitizer: String,
    /// Memory limit of a fuzzed process in MiB: an input that makes a reader allocate more is a crash.
    #[arg(long, default_value_t = 2048)]
    pub rss_limit_mb: u64,
}

/// One target's outcome.
struct Outcome {
    target: String,
    executions: u64,
    corpus: usize,
    crashes: Vec<String>,
}

pub fn fuzz(root: &Path, a: &FuzzArgs) -> Result<()> {
    let targets: Vec<String> = match &a.targets {
        Some(t) => t.clone(),
        None => sgm_train::fuzzing::TARGETS.iter().map(|s| s.to_string()).collect(),
    };
    for t in &targets {
        if !sgm_train::fuzzing::TARGETS.contains(&t.as_str()) {
            bail!("unknown fuzz target '{t}' (known: {})", sgm_train::fuzzing::TARGETS.join(", "));
        }
    }
    let probe = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        bail!(
            "cargo-fuzz on the nightly toolchain is needed: `rustup toolchain install nightly` and \
             `cargo install cargo-fuzz`"
        );
    }
    let fuzz_dir = root.join("fuzz");
    let seeds = sgm_train::fuzzing::seeds().map_err(|e| anyhow::anyhow!("building the seed corpus: {e}"))?;
    for t in &targets {
        let corpus = fuzz_dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
        for (_, name, bytes) in seeds.iter().filter(|(target, _, _)| target == t) {
            std::fs::write(corpus.join(format!("seed-{name}")), bytes)?;
        }
        for (_, path) in sgm_train::fuzzing::regressions(&root.join(sgm_train::fuzzing::REGRESSIONS_DIR))?
            .into_iter()
            .filter(|(target, _)| target == t)
        {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            std::fs::copy(&path, corpus.join(format!("regression-{name}")))?;
        }
    }
    let mut build = Command::new("cargo");
    build.current_dir(root).args(["+nightly", "fuzz", "build", "--sanitizer", &a.sanitizer]);
    super::run(&mut build)?;

    let mut outcomes = Vec::new();
    for t in &targets {
        eprintln!("fuzzing {t} for {} s", a.seconds);
        let corpus = fuzz_dir.join("corpus").join(t);
        let output = Command::new("cargo")
            .current_dir(root)
            .args(["+nightly", "fuzz", "run", "--sanitizer", &a.sanitizer, t])
            .arg(&corpus)
            .args([
                "--".to_string(),
                format!("-max_total_time={}", a.seconds),
                format!("-rss_limit_mb={}", a.rss_limit_mb),
                "-timeout=20".to_string(),
                "-print_final_stats=1".to_string(),
            ])
            .output()
            .with_context(|| format!("cannot start cargo fuzz run {t}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let executions = log
            .lines()
            .filter_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .sum::<u64>();
        let crashes: Vec<String> = log
            .lines()
            .filter(|l| l.contains("Test unit written to"))
            .map(|l| l.rsplit(' ').next().unwrap_or(l).to_string())
            .collect();
        if !output.status.success() && crashes.is_empty() {
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("cargo fuzz run {t} failed without a crash input:\n{}", tail.join("\n"));
        }
        let corpus_size = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
        outcomes.push(Outcome { target: t.clone(), executions, corpus: corpus_size, crashes });
    }

    println!("| target | seconds | executions | corpus | crashes |");
    println!("|---|---|---|---|---|");
    for o in &outcomes {
        println!("| `{}` | {} | {} | {} | {} |", o.target, a.seconds, o.executions, o.corpus, o.crashes.len());
    }
    let total: u64 = outcomes.iter().map(|o| o.executions).sum();
    let crashed: Vec<&String> = outcomes.iter().flat_map(|o| &o.crashes).collect();
    println!("\n{total} executions in all, {} crashes", crashed.len());
    if !crashed.is_empty() {
        for c in &crashed {
            println!("crash input: {c}");
        }
        bail!(
            "{} crashes; reproduce one with `cargo +nightly fuzz run TARGET FILE`, and keep it in \
             tests/fixtures/fuzz-regressions/TARGET/ once fixed",
            crashed.len()
        );
    }
    Ok(())
}
