//! `sgm subclasses`: the paper's Algorithm 2 (Deep Gaussian Mixture Sub-space). Starting from an SGM checkpoint,
//! each level embeds the training set without augmentation, splits every class into sub-classes (recursive binary
//! k-means or a per-class GMM with `min(n_c/10, k)` components, `k` growing), renumbers them contiguously and
//! trains a few epochs with SGM over the sub-class labels plus cross-entropy on the original labels.
//!
//! Per level, `OUT/level-N/` holds `assignment.csv` (index, file, class, sub-class), `sizes.csv` and
//! `model.safetensors`; `OUT/report.json` sums up, and on data with true sub-classes (the synthetic set) it reports
//! the within-class NMI of the discovered sub-classes against clustering the untrained and the starting (plain
//! SGM) embeddings into as many sub-classes.

use super::dataset::DataArgs;
use super::train::device;
use crate::io::csv_field;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use sgm_cluster::{
    cluster_within_classes, split_subclasses, subclasses_per_class, within_class_nmi, CovarianceType, SplitMethod,
};
use sgm_core::Embeddings;
use sgm_data::{ImageSet, Split};
use sgm_train::train::subclass::{SubclassTrainConfig, SubclassTrainer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The splitting variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// k = 2 on every sub-class of at least --min-size images (the authors' first version).
    BinaryKmeans,
    /// A full-covariance GMM of min(n_c/10, k) components per class, k = level + 1 up to --max-per-class.
    Gmm,
}

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

/// One level of `report.json`.
#[derive(Debug, Serialize)]
pub struct LevelReport {
    /// 1-based level.
    pub level: u32,
    /// Sub-classes after the split.
    pub subclasses: usize,
    /// Sub-classes of each class.
    pub per_class: BTreeMap<u32, usize>,
    /// Mean training loss of each epoch of the level.
    pub losses: Vec<f64>,
    /// Mean within-class NMI of this level's split against the true sub-classes, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nmi_vs_truth: Option<f64>,
}

/// Within-class sub-class NMI (weighted by class size) of each embedding, clustered into the final number of
/// sub-classes per class.
#[derive(Debug, Serialize)]
pub struct NmiComparison {
    /// The last level's split (computed on the embedding trained by the levels before it).
    pub discovered: f64,
    /// The final model's embedding, clustered per class with k-means.
    pub final_embedding: f64,
    /// The starting checkpoint's (plain SGM) embedding, clustered the same way.
    pub plain_sgm_baseline: f64,
    /// An untrained network of the same configuration, clustered the same way.
    pub untrained_baseline: f64,
}

/// `report.json`.
#[derive(Debug, Serialize)]
pub struct SubclassesReport {
    /// The starting checkpoint.
    pub checkpoint: String,
    /// Splitting variant.
    pub split: SplitKind,
    /// Training images.
    pub images: usize,
    /// Per level.
    pub levels: Vec<LevelReport>,
    /// Against the true sub-classes, when the data has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nmi: Option<NmiComparison>,
}

/// Runs `sgm subclasses`.
pub fn run(a: SubclassesArgs) -> Result<()> {
    let dev = device(&a.device)?;
    let train = a.data.load(&[Split::Train])?.remove(0);
    let classes = train.labels();
    let num_classes = train.class_names.len().max(classes.iter().max().map_or(0, |&m| m as usize + 1));
    let mut trainer = SubclassTrainer::from_checkpoint(&a.checkpoint, num_classes, dev.clone())
        .with_context(|| format!("loading {}", a.checkpoint.display()))?;
    let sub_cfg = SubclassTrainConfig {
        ce_weight: a.ce_weight,
        samples_per_subclass: a.samples_per_subclass,
        batches_per_epoch: a.batches_per_epoch,
    };
    sub_cfg.validate()?;
    let truth: Option<Vec<u32>> = train.samples.iter().map(|s| s.subclass).collect();
    let start = trainer.embed(&train)?;
    let mut current = classes.clone();
    let mut levels = Vec::new();
    let mut epoch = 0;
    for level in 1..=a.levels {
        let emb = if level == 1 { start.clone() } else { trainer.embed(&train)? };
        let method = match a.split {
            SplitKind::BinaryKmeans => SplitMethod::BinaryKMeans { min_size: a.min_size },
            SplitKind::Gmm => SplitMethod::Gmm {
                components: (level as usize + 1).min(a.max_per_class.max(1)),
                covariance: CovarianceType::Full,
            },
        };
        current = split_subclasses(&emb, &classes, &current, &method, a.seed.wrapping_add(level as u64))
            .with_context(|| format!("splitting level {level}"))?;
        let per_class = subclasses_per_class(&classes, &current);
        let subclasses = per_class.values().sum();
        let mut losses = Vec::new();
        for _ in 0..a.epochs_per_level {
            let stats = trainer.train_epoch(&train, &current, &sub_cfg, epoch)?;
            tracing::info!("level {level}, epoch {}: {subclasses} sub-classes, loss {:.4}", epoch + 1, stats.loss);
            losses.push(stats.loss);
            epoch += 1;
        }
        let dir = a.out.join(format!("level-{level}"));
        write_level(&dir, &train, &classes, &current)?;
        let meta = serde_json::json!({ "subclasses_level": level, "subclasses": subclasses, "split": a.split });
        trainer.save_weights(&dir.join("model.safetensors"), meta)?;
        let nmi_vs_truth = truth.as_ref().map(|t| weighted_nmi(&classes, t, &current)).transpose()?;
        println!(
            "level {level}: {subclasses} sub-classes{}",
            nmi_vs_truth.map_or(String::new(), |v| format!(", within-class NMI vs true sub-classes {v:.4}"))
        );
        levels.push(LevelReport { level, subclasses, per_class, losses, nmi_vs_truth });
    }
    let nmi = match &truth {
        Some(t) => Some(compare(&a, &trainer, &train, &classes, t, &current, &start)?),
        None => None,
    };
    if let Some(n) = &nmi {
        println!(
            "within-class sub-class NMI: discovered {:.4}, final embedding {:.4}; baselines: plain SGM {:.4}, \
             untrained {:.4}",
            n.discovered, n.final_embedding, n.plain_sgm_baseline, n.untrained_baseline
        );
    }
    let report = SubclassesReport {
        checkpoint: a.checkpoint.display().to_string(),
        split: a.split,
        images: train.len(),
        levels,
        nmi,
    };
    sgm_train::atomic::write_atomic(&a.out.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    Ok(())
}

/// The NMI comparison against the true sub-classes.
fn compare(
    a: &SubclassesArgs,
    trainer: &SubclassTrainer,
    train: &ImageSet,
    classes: &[u32],
    truth: &[u32],
    found: &[u32],
    start: &Embeddings,
) -> Result<NmiComparison> {
    let parts = subclasses_per_class(classes, found);
    let clustered = |emb: &Embeddings| -> Result<f64> {
        weighted_nmi(classes, truth, &cluster_within_classes(emb, classes, &parts, a.seed)?)
    };
    let mut untrained_cfg = trainer.config().clone();
    untrained_cfg.model.num_classes = None;
    let untrained = sgm_train::train::Trainer::new(untrained_cfg, trainer.device().clone())?;
    Ok(NmiComparison {
        discovered: weighted_nmi(classes, truth, found)?,
        final_embedding: clustered(&trainer.embed(train)?)?,
        plain_sgm_baseline: clustered(start)?,
        untrained_baseline: clustered(&untrained.embed(train)?.0)?,
    })
}

/// Within-class NMI averaged over classes, weighted by class size.
fn weighted_nmi(classes: &[u32], truth: &[u32], found: &[u32]) -> Result<f64> {
    let per = within_class_nmi(classes, truth, found)?;
    let n: usize = per.iter().map(|p| p.1).sum();
    Ok(per.iter().map(|&(_, m, v)| v * m as f64).sum::<f64>() / n.max(1) as f64)
}

/// Writes `assignment.csv` and `sizes.csv` of one level.
fn write_level(dir: &Path, train: &ImageSet, classes: &[u32], sub: &[u32]) -> Result<()> {
    let mut csv = String::from("index,file,class,subclass\n");
    for (i, s) in train.samples.iter().enumerate() {
        writeln!(csv, "{i},{},{},{}", csv_field(&s.source.display().to_string()), classes[i], sub[i])?;
    }
    sgm_train::atomic::write_atomic(&dir.join("assignment.csv"), csv.as_bytes())?;
    let mut sizes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    classes.iter().zip(sub).for_each(|(&c, &s)| *sizes.entry((s, c)).or_default() += 1);
    let mut out = String::from("subclass,class,class_name,size\n");
    for ((s, c), n) in sizes {
        let name = train.class_names.get(c as usize).map_or("", String::as_str);
        writeln!(out, "{s},{c},{},{n}", csv_field(name))?;
    }
    sgm_train::atomic::write_atomic(&dir.join("sizes.csv"), out.as_bytes())?;
    Ok(())
}
