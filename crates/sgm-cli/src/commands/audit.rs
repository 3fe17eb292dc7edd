//! `sgm audit`: images whose label disagrees with most of their K nearest neighbours in the embedding (the
//! paper's Figure 6), ranked by disagreement, as CSV.

use crate::args::DataArgs;
use anyhow::{bail, Result};
use clap::Args;
use sgm_cluster::audit_labels;
use sgm_core::embedding_files::{is_safetensors, read_embeddings, read_labels};
use sgm_data::Split;
use sgm_train::device::parse as device;
use std::path::PathBuf;

/// Arguments of `sgm audit`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm audit --checkpoint runs/sgm/best.safetensors --data ferplus --split train --out audit
  sgm audit --embeddings train.safetensors --k 11 --out audit")]
pub struct AuditArgs {
    /// A checkpoint: the --data split is embedded with it (file names are then written too).
    #[arg(long, value_name = "FILE", conflicts_with = "embeddings", required_unless_present = "embeddings")]
    pub checkpoint: Option<PathBuf>,
    /// Embeddings instead of a checkpoint (.npy, or .safetensors with `embeddings` and `labels`).
    #[arg(long, value_name = "FILE")]
    pub embeddings: Option<PathBuf>,
    /// Labels of --embeddings (default: the `labels` tensor of a .safetensors file).
    #[arg(long, value_name = "FILE", requires = "embeddings")]
    pub labels: Option<PathBuf>,
    /// The data set (with --checkpoint).
    #[command(flatten)]
    pub data: DataArgs,
    /// The split to audit (with --checkpoint).
    #[arg(long, default_value = "train")]
    pub split: Split,
    /// Neighbours (the paper's kNN: 11).
    #[arg(long, default_value_t = 11, value_parser = clap::value_parser!(u32).range(1..))]
    pub k: u32,
    /// Rows written: the most suspicious N (default: every image).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Device for --checkpoint: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output folder for audit.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `sgm audit`.
pub fn run(a: AuditArgs) -> Result<()> {
    let (emb, labels, files, names) = match (&a.checkpoint, &a.embeddings) {
        (Some(ck), _) => {
            let trainer = sgm_train::train::Trainer::from_checkpoint(ck, device(&a.device)?)?;
            let set = a.data.load(&[a.split])?.remove(0);
            let files: Vec<String> = set.samples.iter().map(|s| s.source.display().to_string()).collect();
            (trainer.embed(&set)?.0, set.labels(), Some(files), set.class_names.clone())
        }
        (None, Some(e)) => {
            let emb = read_embeddings(e)?;
            let labels = match &a.labels {
                Some(p) => read_labels(p, "labels")?,
                None if is_safetensors(e) => read_labels(e, "labels")?,
                None => bail!("--labels is required when {} is not a .safetensors file with labels", e.display()),
            };
            if labels.len() != emb.rows() {
                let source = a.labels.as_ref().unwrap_or(e);
                bail!("{}: {} labels for {} embeddings", source.display(), labels.len(), emb.rows());
            }
            (emb, labels, None, Vec::new())
        }
        (None, None) => bail!("give --checkpoint or --embeddings"),
    };
    let audit = audit_labels(&emb, &labels, a.k as usize)?;
    let name = |l: u32| names.get(l as usize).cloned().unwrap_or_default();
    let header = [
        "rank",
        "index",
        "label",
        "label_name",
        "neighbour_label",
        "neighbour_label_name",
        "disagreement",
        "neighbour_share",
        "file",
    ];
    let rows = audit.iter().take(a.top.unwrap_or(usize::MAX)).enumerate().map(|(rank, s)| {
        [
            rank.to_string(),
            s.index.to_string(),
            s.label.to_string(),
            name(s.label),
            s.neighbour_label.to_string(),
            name(s.neighbour_label),
            format!("{:.6}", s.disagreement),
            format!("{:.6}", s.neighbour_share),
            files.as_ref().map_or(String::new(), |f| f[s.index].clone()),
        ]
    });
    crate::csv_files::write_csv(&a.out.join("audit.csv"), &header, rows)?;
    let majority = audit.iter().filter(|s| s.disagreement > 0.5).count();
    println!(
        "{majority} of {} images disagree with most of their {} neighbours; ranking written to {}",
        audit.len(),
        a.k,
        a.out.join("audit.csv").display()
    );
    Ok(())
}
