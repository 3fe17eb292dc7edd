//! `sgm export`: an inference-only model file from a training checkpoint.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `sgm export`.
#[derive(Debug, Args)]
#[command(after_help = "Example:
  sgm export --checkpoint runs/demo/best.safetensors --out model.safetensors
  sgm embed --checkpoint model.safetensors --split test --out test.safetensors")]
pub struct ExportArgs {
    /// A checkpoint written by `sgm train` (best, last, epoch-NNN or resume).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The model file to write: weights, BatchNorm statistics, model and input configuration, checksum.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Write --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
}

/// Runs `sgm export`.
pub fn run(a: ExportArgs) -> Result<()> {
    sgm_train::output_guard::check_output(&a.out, a.force)?;
    let s = sgm_train::train::export(&a.checkpoint, &a.out)?;
    eprintln!("{} tensors written to {} ({} optimiser tensors left out)", s.tensors, a.out.display(), s.dropped);
    Ok(())
}
