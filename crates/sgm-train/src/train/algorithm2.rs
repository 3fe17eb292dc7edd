//! The paper's Algorithm 2 (Deep Gaussian Mixture Sub-space), level by level.
//!
//! Starting from an SGM model, each level embeds the training set without augmentation, splits every class into
//! sub-classes (recursive binary k-means, or a per-class full-covariance GMM with `min(n_c/10, k)` components, `k`
//! growing with the level), renumbers them contiguously and trains a few epochs with SGM over the sub-class
//! labels plus cross-entropy on the original labels ([`SubclassTrainer`]). [`run_levels`] hands every level to a
//! callback (to write its files, print it, or stop), and, on data with true sub-classes (the synthetic set),
//! compares the discovered sub-classes with them.

use crate::error::{Result, TrainError};
use crate::train::subclass::{SubclassTrainConfig, SubclassTrainer};
use sgm_cluster::{
    cluster_within_classes, split_subclasses, subclasses_per_class, within_class_nmi, CovarianceType, SplitMethod,
};
use sgm_core::Embeddings;
use sgm_data::ImageSet;
use std::collections::BTreeMap;

/// The splitting variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// k = 2 on every sub-class of at least `min_size` images (the authors' first version).
    BinaryKmeans,
    /// A full-covariance GMM of min(n_c/10, k) components per class, k = level + 1 up to `max_per_class`.
    Gmm,
}

/// Algorithm 2's settings, validated by [`Algorithm2Config::validate`]. The defaults are the paper's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Algorithm2Config {
    /// Levels (rounds of split + train; the paper: 5).
    pub levels: u32,
    /// Splitting variant.
    pub split: SplitKind,
    /// Binary k-means: sub-classes smaller than this are not split (the authors: 400).
    pub min_size: usize,
    /// GMM: most sub-classes per class (the paper ends at 5 per class, 40 for FER+).
    pub max_per_class: usize,
    /// Training epochs per level.
    pub epochs_per_level: usize,
    /// How each level trains.
    pub train: SubclassTrainConfig,
    /// Seed of the splits (level `l` uses `seed + l`).
    pub seed: u64,
}

impl Default for Algorithm2Config {
    fn default() -> Self {
        Self {
            levels: 5,
            split: SplitKind::Gmm,
            min_size: 400,
            max_per_class: 5,
            epochs_per_level: 2,
            train: SubclassTrainConfig::default(),
            seed: 1,
        }
    }
}

impl Algorithm2Config {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.levels == 0 {
            return Err(TrainError::Config("levels must be at least 1".into()));
        }
        if self.max_per_class == 0 {
            return Err(TrainError::Config("max_per_class must be at least 1".into()));
        }
        self.train.validate()
    }

    fn method(&self, level: u32) -> SplitMethod {
        match self.split {
            SplitKind::BinaryKmeans => SplitMethod::BinaryKMeans { min_size: self.min_size },
            SplitKind::Gmm => SplitMethod::Gmm {
                components: (level as usize + 1).min(self.max_per_class),
                covariance: CovarianceType::Full,
            },
        }
    }
}

/// One level's outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nmi_vs_truth: Option<f64>,
}

/// Within-class sub-class NMI (weighted by class size) of each embedding, clustered into the final number of
/// sub-classes per class.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Everything [`run_levels`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Algorithm2Report {
    /// Splitting variant.
    pub split: SplitKind,
    /// Training images.
    pub images: usize,
    /// Per level.
    pub levels: Vec<LevelReport>,
    /// Against the true sub-classes, when the data has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nmi: Option<NmiComparison>,
}

/// What the callback of [`run_levels`] sees after each level.
#[derive(Debug, Clone, Copy)]
pub struct Level<'a> {
    /// The level's report.
    pub report: &'a LevelReport,
    /// The original class of every training image.
    pub classes: &'a [u32],
    /// The sub-class of every training image after this level's split (contiguous ids).
    pub subclasses: &'a [u32],
    /// The model after this level's epochs.
    pub trainer: &'a SubclassTrainer,
}

/// Runs `cfg.levels` levels of Algorithm 2 on `train` from `trainer`'s weights, calling `on_level` after each.
/// An error of the callback stops the run and is returned.
pub fn run_levels<E: From<TrainError>>(
    trainer: &mut SubclassTrainer,
    train: &ImageSet,
    cfg: &Algorithm2Config,
    mut on_level: impl FnMut(Level<'_>) -> std::result::Result<(), E>,
) -> std::result::Result<Algorithm2Report, E> {
    cfg.validate()?;
    let classes = train.labels();
    let truth: Option<Vec<u32>> = train.samples.iter().map(|s| s.subclass).collect();
    let start = trainer.embed(train)?;
    let mut current = classes.clone();
    let mut levels = Vec::new();
    let mut epoch = 0;
    for level in 1..=cfg.levels {
        let emb = if level == 1 { start.clone() } else { trainer.embed(train)? };
        current = split_subclasses(&emb, &classes, &current, &cfg.method(level), cfg.seed.wrapping_add(level as u64))
            .map_err(|e| TrainError::Evaluation {
            what: format!("splitting level {level}"),
            source: Box::new(e),
        })?;
        let per_class = subclasses_per_class(&classes, &current);
        let subclasses = per_class.values().sum();
        let mut losses = Vec::new();
        for _ in 0..cfg.epochs_per_level {
            let stats = trainer.train_epoch(train, &current, &cfg.train, epoch)?;
            tracing::info!("level {level}, epoch {}: {subclasses} sub-classes, loss {:.4}", epoch + 1, stats.loss);
            losses.push(stats.loss);
            epoch += 1;
        }
        let nmi_vs_truth = truth.as_ref().map(|t| weighted_nmi(&classes, t, &current)).transpose()?;
        let report = LevelReport { level, subclasses, per_class, losses, nmi_vs_truth };
        on_level(Level { report: &report, classes: &classes, subclasses: &current, trainer })?;
        levels.push(report);
    }
    let nmi = match &truth {
        Some(t) => Some(compare(cfg.seed, trainer, train, &classes, t, &current, &start)?),
        None => None,
    };
    Ok(Algorithm2Report { split: cfg.split, images: train.len(), levels, nmi })
}

/// The NMI comparison against the true sub-classes.
fn compare(
    seed: u64,
    trainer: &SubclassTrainer,
    train: &ImageSet,
    classes: &[u32],
    truth: &[u32],
    found: &[u32],
    start: &Embeddings,
) -> Result<NmiComparison> {
    let parts = subclasses_per_class(classes, found);
    let clustered = |emb: &Embeddings| -> Result<f64> {
        weighted_nmi(classes, truth, &cluster_within_classes(emb, classes, &parts, seed)?)
    };
    let mut untrained_cfg = trainer.config().clone();
    untrained_cfg.model.num_classes = None;
    let untrained = crate::train::Trainer::new(untrained_cfg, trainer.device().clone())?;
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
