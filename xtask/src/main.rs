//! Project automation: `cargo xtask reproduce` (the paper's protocol, with a report next to the paper's numbers),
//! `cargo xtask validate` (what CI runs) and `cargo xtask bench` (sgm against PyTorch and
//! scikit-learn, written to `docs/performance.md`; `--criterion` runs the criterion benchmarks instead) and
//! `cargo xtask fuzz --seconds N` (the fuzz targets of `fuzz/`, with cargo-fuzz on nightly), `cargo xtask cuda-build`
//! (sgm with `--features cuda` from NVIDIA's wheels, no GPU needed) and `cargo xtask gpu-check --prepare` (the one
//! prepared GPU check; docs/gpu.md).

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::Command;

mod bench;
mod fuzz;
mod parity;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "sgm project automation")]
struct Xtask {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The paper's protocol in one command (the synthetic set by default), writing report/ next to the paper's
    /// numbers. The same as `sgm reproduce`.
    Reproduce(Box<sgm_cli::reproduce::ReproduceArgs>),
    /// Format check, clippy with warnings denied, then the test suite: exactly what `.ci/run` runs.
    Validate,
    /// sgm against PyTorch (train step, eval, embedding per backbone) and scikit-learn (kNN, k-means, GMM, t-SNE):
    /// a table of times and ratios, printed and written to docs/performance.md.
    Bench(bench::BenchArgs),
    /// Fuzz sgm's readers of untrusted input (FER+ label files, images, .npy, safetensors, checkpoints, TOML
    /// configurations) with cargo-fuzz on nightly, each target for --seconds; prints executions and crashes.
    Fuzz(fuzz::FuzzArgs),
    /// sgm against PyTorch references (torchvision's backbones under identical weights with --init), written to
    /// docs/fidelity.md.
    Parity(parity::ParityArgs),
    /// Build `sgm` (and the `gpu_check` example) with `--features cuda` against a CUDA 13.0 toolchain installed
    /// from NVIDIA's Python wheels: `scripts/cuda-toolchain.sh`, whose arguments follow (see docs/gpu.md).
    CudaBuild {
        /// Arguments for scripts/cuda-toolchain.sh (`--compute-cap N`, `--root DIR`, `--toolchain-only`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The prepared GPU check: `--prepare` packs the CUDA build, the data and the PyTorch reference into
    /// `gpu-pack/`; `--dry-run` runs the whole check here on the CPU with tiny sizes (`scripts/gpu-check.sh`).
    GpuCheck {
        /// Arguments for scripts/gpu-check.sh (`--prepare`, `--dry-run`, `--out DIR`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> Result<()> {
    match Xtask::parse().command {
        Task::Reproduce(args) => {
            // As the sgm binary runs it: the same CPU settings and the same error report.
            let cli = sgm_cli::Cli { verbose: 0, command: sgm_cli::Command::Reproduce(args) };
            if sgm_cli::main_with_cli(cli) != std::process::ExitCode::SUCCESS {
                std::process::exit(1);
            }
            Ok(())
        }
        Task::Parity(args) => parity::parity(&args, &workspace_root()),
        Task::Validate => {
            let ci = workspace_root().join(".ci").join("run");
            run(Command::new("bash").arg(&ci))
        }
        Task::Bench(args) if args.criterion => {
            let mut cmd = cargo();
            cmd.args(["bench", "--workspace", "--bench", "*"]);
            if let Some(f) = args.filter {
                cmd.args(["--", &f]);
            }
            run(&mut cmd)
        }
        Task::Bench(args) => {
            if let Some(f) = &args.filter {
                bail!("unexpected argument {f:?} (a criterion filter needs --criterion)");
            }
            bench::bench(&args)
        }
        Task::Fuzz(args) => fuzz::fuzz(&workspace_root(), &args),
        Task::CudaBuild { args } => script("cuda-toolchain.sh", &args),
        Task::GpuCheck { args } => script("gpu-check.sh", &args),
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

/// Runs `scripts/NAME` with bash from the workspace root.
fn script(name: &str, args: &[String]) -> Result<()> {
    let root = workspace_root();
    run(Command::new("bash").arg(root.join("scripts").join(name)).args(args).current_dir(&root))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
