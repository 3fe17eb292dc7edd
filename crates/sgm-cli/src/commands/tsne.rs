//! `sgm tsne`: a 2-d t-SNE map of embeddings (the paper's Figures 2 and 7) as CSV: perplexity 30, PCA
//! initialisation, the first 4000 points, Barnes-Hut.

use anyhow::{Context, Result};
use clap::Args;
use sgm_cluster::{tsne_2d, TsneConfig};
use sgm_core::embedding_files::{is_safetensors, read_embeddings, read_labels};
use std::path::PathBuf;

/// Arguments of `sgm tsne`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm tsne --embeddings test.safetensors --out tsne.csv
  sgm tsne --embeddings train.npy --labels train.labels.npy --max-points 10000 --out tsne.csv")]
pub struct TsneArgs {
    /// Embeddings (.npy 2-D, or .safetensors with `embeddings` and optionally `labels`).
    #[arg(long, value_name = "FILE")]
    pub embeddings: PathBuf,
    /// Labels written beside the coordinates (default: the `labels` tensor of a .safetensors file).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Perplexity.
    #[arg(long, default_value_t = 30.0)]
    pub perplexity: f32,
    /// Barnes-Hut θ (0: exact t-SNE, quadratic in the number of points).
    #[arg(long, default_value_t = 0.5)]
    pub theta: f32,
    /// Gradient-descent epochs.
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// Only the first this many points are mapped (the paper: 4000).
    #[arg(long, default_value_t = 4000)]
    pub max_points: usize,
    /// Use all cores (faster; the map then differs from run to run in its last bits). Default: one thread,
    /// bit-reproducible.
    #[arg(long)]
    pub parallel: bool,
    /// Output CSV: index,x,y[,label].
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Write --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
}

/// Runs `sgm tsne`.
pub fn run(a: TsneArgs) -> Result<()> {
    sgm_train::output_guard::check_output(&a.out, a.force)?;
    let emb = read_embeddings(&a.embeddings)?;
    let labels = match &a.labels {
        Some(p) => Some(read_labels(p, "labels")?),
        None if is_safetensors(&a.embeddings) => read_labels(&a.embeddings, "labels").ok(),
        None => None,
    };
    let cfg = TsneConfig {
        perplexity: a.perplexity,
        theta: a.theta,
        epochs: a.epochs,
        max_points: a.max_points,
        deterministic: !a.parallel,
    };
    let start = std::time::Instant::now();
    let y = tsne_2d(&emb, &cfg).with_context(|| format!("t-SNE of {}", a.embeddings.display()))?;
    let m = y.len() / 2;
    if let Some(l) = &labels {
        if l.len() < m {
            anyhow::bail!(
                "{}: {} labels for {} points",
                a.labels.as_ref().unwrap_or(&a.embeddings).display(),
                l.len(),
                m
            );
        }
    }
    crate::csv_files::write_map_csv(&a.out, &y[..2 * m], labels.as_ref().map(|l| &l[..m]), None)?;
    println!("t-SNE of {m} points in {:.1} s written to {}", start.elapsed().as_secs_f64(), a.out.display());
    Ok(())
}
