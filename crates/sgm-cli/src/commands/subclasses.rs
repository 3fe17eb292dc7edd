//! `sgm subclasses`: the paper's Algorithm 2 (Deep Gaussian Mixture Sub-space). Starting from an SGM checkpoint,
//! each level embeds the training set without augmentation, splits every class into sub-classes (recursive binary
//! k-means or a per-class GMM with `min(n_c/10, k)` components, `k` growing), renumbers them contiguously and
//! trains a few epochs with SGM over the sub-class labels plus cross-entropy on the original labels.
//!
//! Per level, `OUT/level-N/` holds `assignment.csv` (index, file, class, sub-class), `sizes.csv` and
//! `model.safetensors`; `OUT/report.json` sums up, and on data with true sub-classes (the synthetic set) it reports
//! the within-class NMI of the discovered sub-classes against clustering the untrained and the starting (plain
//! SGM) embeddings into as many sub-classes.

use crate::args::DataArgs;
use anyhow::Result;
use clap::Args;
use sgm_train::device::parse as device;
use sgm_train::train::algorithm2::{Algorithm2Config, SplitKind};
use sgm_train::train::subclass::SubclassTrainConfig;
use std::path::PathBuf;

/// Arguments of `sgm subclasses`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm subclasses --checkpoint runs/sgm/best.safetensors --data synth --levels 4 --out runs/sgm-sub
  sgm subclasses --checkpoint best.safetensors --data ferplus --root data/ferplus --split binary-kmeans \\
      --min-size 400 --levels 3 --out runs/mitosis")]
pub struct SubclassesArgs {
    /// An SGM checkpoint (from `sgm train`, or a level of an earlier `sgm subclasses`).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The data set whose training split is split into sub-classes.
    #[command(flatten)]
    pub data: DataArgs,
    /// Levels (rounds of split + train; the paper: 5).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub levels: u32,
    /// Splitting variant.
    #[arg(long, value_enum, default_value_t = SplitKind::Gmm)]
    pub split: SplitKind,
    /// binary-kmeans: sub-classes smaller than this are not split (the authors: 400).
    #[arg(long, default_value_t = 400)]
    pub min_size: usize,
    /// gmm: most sub-classes per class (the paper ends at 5 per class, 40 for FER+).
    #[arg(long, default_value_t = 5)]
    pub max_per_class: usize,
    /// Training epochs per level.
    #[arg(long, default_value_t = 2)]
    pub epochs_per_level: usize,
    /// Images of each sub-class per batch.
    #[arg(long, default_value_t = 8)]
    pub samples_per_subclass: usize,
    /// Batches per epoch (default: the sampler's full pass).
    #[arg(long)]
    pub batches_per_epoch: Option<usize>,
    /// Weight of the cross-entropy on the original labels (0: SGM only).
    #[arg(long, default_value_t = 1.0)]
    pub ce_weight: f64,
    /// Seed of the splits.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Device: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

impl SubclassesArgs {
    /// Algorithm 2's settings of these arguments.
    pub fn config(&self) -> Algorithm2Config {
        Algorithm2Config {
            levels: self.levels,
            split: self.split,
            min_size: self.min_size,
            max_per_class: self.max_per_class,
            epochs_per_level: self.epochs_per_level,
            train: SubclassTrainConfig {
                ce_weight: self.ce_weight,
                samples_per_subclass: self.samples_per_subclass,
                batches_per_epoch: self.batches_per_epoch,
            },
            seed: self.seed,
        }
    }
}

/// Runs `sgm subclasses`.
pub fn run(a: SubclassesArgs) -> Result<()> {
    let dev = device(&a.device)?;
    crate::subclass_run::run(&a.checkpoint, &a.data, &a.config(), dev, &a.out)?;
    Ok(())
}
