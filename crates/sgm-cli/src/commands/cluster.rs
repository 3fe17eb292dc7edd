//! `sgm cluster`: EM (or k-means) groups over embeddings, each with its medoid and the members nearest to it —
//! the paper's 40 EM groups on FER+ (Figure 8), as JSON and CSV.

use crate::groups_files::GroupsReport;
use anyhow::{bail, Context, Result};
use clap::Args;
use sgm_cluster::{fit_groups, groups_with_medoids, CovarianceType, GroupMethod, GroupingConfig};
use sgm_core::embedding_files::{is_safetensors, read_embeddings, read_labels};
use std::path::PathBuf;

/// Arguments of `sgm cluster`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm cluster --embeddings train.safetensors --groups 40 --method gmm --top 16 --out runs/groups
  sgm cluster --embeddings test.npy --labels test.labels.npy --groups 8 --method kmeans --out groups8")]
pub struct ClusterArgs {
    /// Embeddings (.npy 2-D, or .safetensors with `embeddings` and optionally `labels`).
    #[arg(long, value_name = "FILE")]
    pub embeddings: PathBuf,
    /// Labels for each group's majority label and purity (default: the `labels` tensor of a .safetensors file).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Number of groups (the paper: 40 on FER+).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub groups: u32,
    /// Clustering method.
    #[arg(long, value_enum, default_value_t = GroupMethod::Gmm)]
    pub method: GroupMethod,
    /// Covariance of the GMM components.
    #[arg(long, value_enum, default_value_t = CovarianceType::Full)]
    pub covariance: CovarianceType,
    /// Members nearest each medoid to list.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
    /// Independent initialisations (GMM) or runs (k-means); the best is kept.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub n_init: u32,
    /// EM iteration cap.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_iter: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder for groups.json, groups.csv and assignments.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write into --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
}

/// Runs `sgm cluster`.
pub fn run(args: ClusterArgs) -> Result<()> {
    sgm_train::output_guard::check_output(&args.out, args.force)?;
    let emb = read_embeddings(&args.embeddings)?;
    let labels = match &args.labels {
        Some(p) => Some(read_labels(p, "labels")?),
        None if is_safetensors(&args.embeddings) => read_labels(&args.embeddings, "labels").ok(),
        None => None,
    };
    if let Some(l) = &labels {
        if l.len() != emb.rows() {
            let source = args.labels.as_ref().unwrap_or(&args.embeddings);
            bail!("{}: {} labels for {} embeddings", source.display(), l.len(), emb.rows());
        }
    }
    let cfg = GroupingConfig {
        groups: args.groups as usize,
        method: args.method,
        covariance: args.covariance,
        n_init: args.n_init as usize,
        max_iter: args.max_iter as usize,
        seed: args.seed,
    };
    let fit = fit_groups(&emb, &cfg).with_context(|| format!("grouping {}", args.embeddings.display()))?;
    let groups = groups_with_medoids(&emb, &fit.assignments, args.top as usize, labels.as_deref())?;
    let report = GroupsReport::new(args.embeddings.display().to_string(), &cfg, &fit, groups);
    report.write(&args.out, &fit.assignments)?;
    println!(
        "{} groups over {} points ({:?}); largest {}, smallest {}; written to {}",
        report.groups.len(),
        report.n,
        report.method,
        report.groups.first().map_or(0, |g| g.size),
        report.groups.last().map_or(0, |g| g.size),
        args.out.display()
    );
    Ok(())
}
