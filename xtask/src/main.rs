//! Project automation: `cargo xtask validate` (what CI runs) and `cargo xtask bench` (criterion benchmarks).

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "sgm project automation")]
struct Xtask {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Format check, clippy with warnings denied, then the test suite: exactly what `.ci/run` runs.
    Validate,
    /// Run the criterion benchmarks (pass a filter to run a subset, e.g. `cargo xtask bench knn`).
    Bench {
        /// Only benchmarks whose name contains this.
        filter: Option<String>,
    },
}

fn main() -> Result<()> {
    match Xtask::parse().command {
        Task::Validate => {
            let ci = workspace_root().join(".ci").join("run");
            run(Command::new("bash").arg(&ci))
        }
        Task::Bench { filter } => {
            let mut cmd = cargo();
            cmd.args(["bench", "--workspace", "--bench", "*"]);
            if let Some(f) = filter {
                cmd.args(["--", &f]);
            }
            run(&mut cmd)
        }
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
