//! What a reproduction runs: the data, the training runs (loss × backbone) with their configurations, the
//! evaluation settings, and every way the plan departs from the paper's protocol, said in words for the report.

use super::ReproduceArgs;
use crate::args::{DataArgs, SYNTH};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use sgm_data::augment::AugmentConfig;
use sgm_data::augment::Normalization;
use sgm_models::BackboneKind;
use sgm_train::pretrained::{ForeignInit, PretrainedInit};
use sgm_train::train::{LossKind, TrainConfig};
use std::path::PathBuf;

/// The three losses, in the paper's table order.
pub const ALL_LOSSES: [LossKind; 3] = [LossKind::Softmax, LossKind::Triplet, LossKind::Sgm];

/// One training run of the reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct RunSpec {
    /// Run name, also its folder under `runs/`: `LOSS-BACKBONE`.
    pub name: String,
    /// The resolved training configuration.
    pub cfg: TrainConfig,
    /// Foreign initial weights (`--init`), resolved to a local file.
    #[serde(skip)]
    pub init: Option<ForeignInit>,
    /// For a run with another seed: the name of the run it replicates.
    pub replica_of: Option<String>,
}

/// The sub-class step (Algorithm 2).
#[derive(Debug, Clone, Serialize)]
pub struct SubclassPlan {
    /// Levels (rounds of split + train).
    pub levels: u32,
    /// Most sub-classes per class.
    pub max_per_class: usize,
    /// Epochs per level.
    pub epochs_per_level: usize,
    /// Images of each sub-class per batch.
    pub samples_per_subclass: usize,
    /// Batches per epoch (None: the sampler's full pass).
    pub batches_per_epoch: Option<usize>,
}

/// A whole reproduction.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `synthetic`, `quick` or the data set name.
    pub profile: String,
    /// The in-domain data set.
    #[serde(skip)]
    pub data: DataArgs,
    /// Cross-domain sets (name, root) for the other columns of Table 1.
    pub cross: Vec<(String, PathBuf)>,
    /// The training runs.
    pub runs: Vec<RunSpec>,
    /// The training runs again with the other seeds (`--seeds`), trained after them and scored by kNN only.
    pub replicas: Vec<RunSpec>,
    /// Wall-time budget of the whole invocation, minutes.
    pub budget_minutes: f64,
    /// Share of the budget given to training (the rest: evaluation, sub-classes, t-SNE, figures).
    pub training_share: f64,
    /// Algorithm 2, run from the SGM model of the first backbone (None: skipped).
    pub subclasses: Option<SubclassPlan>,
    /// Points of each t-SNE map (the paper: the first 4000).
    pub tsne_points: usize,
    /// The K of the F1-against-K curve (Figure 5), on the validation split.
    pub f1_ks: Vec<usize>,
    /// Recall@K / Acc@K.
    pub recall_ks: Vec<usize>,
    /// EM groups of Figure 8 and how many contact sheets to draw.
    pub groups: usize,
    /// Contact sheets drawn (the largest groups).
    pub sheets: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Where and how this plan departs from the paper's protocol.
    pub deviations: Vec<String>,
}

impl Plan {
    /// Builds the plan for the command-line arguments.
    pub fn from_args(a: &ReproduceArgs) -> Result<Self> {
        let synthetic = a.data == SYNTH;
        if !synthetic && a.quick {
            bail!("--quick is the CI-sized run of the synthetic set; leave out --data {} or --quick", a.data);
        }
        if synthetic && !a.cross.is_empty() {
            bail!("--cross needs a model trained on real data (--data ferplus --root DIR)");
        }
        let mut deviations = Vec::new();
        let losses = a.losses.clone().unwrap_or_else(|| ALL_LOSSES.to_vec());
        let backbones = a.backbones.clone().unwrap_or_else(|| vec![BackboneKind::ResNet18]);
        if losses.is_empty() || backbones.is_empty() {
            bail!("--losses and --backbones need at least one value each");
        }
        // Profile defaults: (train images per class, input size, epochs, S, budget minutes). On real data S = 30,
        // the paper's batch of 8 × 30.
        let (per_class, size, epochs, spc, budget) = if a.quick {
            (Some(24), 32, 1, 4, 5.0)
        } else if synthetic {
            // Small enough that 3 losses × 3 seeds finish their epochs within the budget on 2 cores (about 7 s an
            // epoch, validation included, in `cargo xtask reproduce`'s dev build on an idle AMD EPYC), so that the
            // report can say whether the ranking is beyond seed noise. With 96 images per class the budget cut
            // every run at 3 or 4 of its 5 epochs.
            (Some(64), 32, 5, 16, 8.0)
        } else {
            (None, 48, 30, 30, 120.0)
        };
        // The paper's fine-tuning setup: ImageNet weights at 224×224, 3 channels, lr 1e-4.
        let fine_tuning = a.init.is_some();
        let size = a.size.unwrap_or(if fine_tuning { 224 } else { size });
        let channels = a.channels.unwrap_or(if fine_tuning { 3 } else { 1 });
        let epochs = a.epochs.unwrap_or(epochs);
        let budget_minutes = a.budget_minutes.unwrap_or(budget);
        if !(budget_minutes.is_finite() && budget_minutes > 0.0) {
            bail!("--budget-minutes must be positive, got {budget_minutes}");
        }
        let data = DataArgs {
            format: None,
            data: a.data.clone(),
            root: a.root.clone(),
            load: crate::args::LoadFlags { skip_bad: a.skip_bad, ..Default::default() },
            synth_per_class: per_class,
            synth_seed: a.seed,
        };
        let lr = a.lr.unwrap_or(if fine_tuning { 1e-4 } else { 1e-3 });
        // Weights are resolved before anything else runs: a missing file fails at once.
        let mut inits: Vec<(BackboneKind, ForeignInit, PretrainedInit)> = Vec::new();
        if let Some(spec) = &a.init {
            let scope = a.init_scope.unwrap_or_default();
            for &backbone in &backbones {
                let (init, record) = crate::args::resolve_init(spec, backbone, scope, &a.hub)
                    .with_context(|| format!("--init {spec} for {backbone}"))?;
                inits.push((backbone, init, record));
            }
        }
        let mut runs = Vec::new();
        for &backbone in &backbones {
            for &loss in &losses {
                let mut cfg = TrainConfig { loss, epochs, seed: a.seed, samples_per_class: spc, ..Default::default() };
                cfg.model.backbone = backbone;
                cfg.model.input_size = size;
                cfg.model.in_channels = channels;
                cfg.model.batch_norm = !a.no_batch_norm;
                let init = inits.iter().find(|(b, _, _)| *b == backbone);
                if let Some((_, _, record)) = init {
                    cfg.normalization = Normalization::imagenet();
                    cfg.init = Some(record.clone());
                }
                cfg.optimizer.lr = lr;
                cfg.checkpoint_every = 10;
                // Short runs at lr 1e-3 leave the BatchNorm moving averages far behind the weights: re-estimate
                // them before every validation (the saved checkpoints carry the re-estimated statistics).
                cfg.validation.precise_bn_batches = Some(if synthetic { 8 } else { 20 });
                if synthetic {
                    // Short runs on a small set: no augmentation, a small kNN fit for validation, batches that
                    // see every training image once per epoch whatever the loss.
                    cfg.augment = AugmentConfig::none();
                    cfg.validation.train_subset = Some(800);
                    cfg.batch_size = spc * 8;
                    cfg.triplets_per_batch = (spc * 8 / 3).max(1);
                    cfg.triplets_per_epoch = per_class.unwrap_or(1) * 8 / 3;
                } else {
                    // Epochs of 40 batches, so that the budget is checked often and the best model kept.
                    cfg.batches_per_epoch = Some(40);
                    cfg.batch_size = spc * 8;
                    cfg.triplets_per_batch = (spc * 8 / 3).max(1);
                    cfg.triplets_per_epoch = 40 * cfg.triplets_per_batch;
                }
                if loss == LossKind::Softmax {
                    cfg.model.num_classes = Some(8);
                }
                cfg.validate()?;
                let init = init.map(|(_, i, _)| i.clone());
                runs.push(RunSpec { name: format!("{loss}-{backbone}"), cfg, init, replica_of: None });
            }
        }
        let seeds = a.seeds.unwrap_or(if synthetic && !a.quick { 3 } else { 1 });
        if seeds == 0 {
            bail!("--seeds must be at least 1");
        }
        let replicas: Vec<RunSpec> = (1..seeds as u64)
            .flat_map(|k| {
                runs.iter().map(move |r| {
                    let mut cfg = r.cfg.clone();
                    cfg.seed = a.seed + k;
                    RunSpec {
                        name: format!("{}-seed{}", r.name, cfg.seed),
                        cfg,
                        init: r.init.clone(),
                        replica_of: Some(r.name.clone()),
                    }
                })
            })
            .collect();
        let first = runs[0].cfg.clone();
        deviations.push(format!(
            "Input {size}×{size}, {channels} channel{} (the paper: 48–224 by backbone, grey replicated to 3 channels), \
             normalised with {} statistics (the authors' code: CIFAR-10's, also when fine-tuning).",
            if channels == 1 { "" } else { "s" },
            if fine_tuning { "ImageNet's" } else { "CIFAR-10's" }
        ));
        match inits.first() {
            Some((_, _, record)) => deviations.push(format!(
                "Initialised from ImageNet weights {} (SHA-256 {}…), init scope '{}'{}; the embedding layer is \
                 freshly initialised. The authors' metric-learning ResNet18 had no BatchNorm and loaded only the \
                 convolutions (--init-scope features --no-batch-norm); their CNN baseline loaded everything but \
                 the class layer.",
                record.source,
                &record.sha256[..12.min(record.sha256.len())],
                record.scope,
                if a.no_batch_norm { ", no BatchNorm" } else { ", BatchNorm with ImageNet's statistics" }
            )),
            None => deviations.push(
                "Trained from scratch: the paper fine-tuned ResNet18 and AlexNet from torchvision's ImageNet weights \
                 at 224×224 (`--init imagenet` does that)."
                    .into(),
            ),
        }
        deviations.push(format!(
            "Adam-amsgrad at lr {lr:e} (the paper: 1e-4) for {epochs} epochs{} (the paper: 150–500 epochs).",
            if synthetic { " of one pass each" } else { " of 40 batches each, stopped earlier by the time budget" }
        ));
        deviations.push(format!(
            "Batches of {} images for every loss: SGM {}×{} (the paper: 8×30), triplet {} triplets (the paper: 240), \
             softmax {} (the paper: 128).",
            first.samples_per_class * 8,
            8,
            first.samples_per_class,
            first.triplets_per_batch,
            first.batch_size
        ));
        deviations.push(format!(
            "BatchNorm statistics re-estimated before each validation from {} training batches (\"precise BN\"); \
             the paper keeps PyTorch's moving averages, which in runs this short lag far behind the weights and \
             wreck evaluation-mode outputs, the CNN's argmax above all.",
            first.validation.precise_bn_batches.unwrap_or(0)
        ));
        if synthetic {
            deviations.push(
                "The data is sgm's synthetic face set (8 expressions × 3 hidden sub-classes), not FER+: the paper's \
                 numbers are shown for reference only; this run checks the whole pipeline, and its sub-class step \
                 is scored against true sub-classes, which no real data set has."
                    .into(),
            );
            deviations.push("No training augmentation (the paper: scale, rotation, flips, photometric jitter).".into());
        }
        let subclasses = (!a.no_subclasses && losses.contains(&LossKind::Sgm)).then_some(SubclassPlan {
            levels: if a.quick {
                1
            } else if synthetic {
                2
            } else {
                3
            },
            max_per_class: if synthetic { 3 } else { 5 },
            epochs_per_level: 1,
            samples_per_subclass: if a.quick { 2 } else { 8 },
            batches_per_epoch: if synthetic { None } else { Some(40) },
        });
        if let Some(s) = &subclasses {
            deviations.push(format!(
                "Algorithm 2: {} level(s) of a per-class GMM (k growing to {} per class), {} epoch(s) per level \
                 (the paper: 5 levels to 5 sub-classes per class).",
                s.levels, s.max_per_class, s.epochs_per_level
            ));
        }
        let cross = a
            .cross
            .iter()
            .map(|c| match c.split_once('=') {
                Some((n, d)) if !n.is_empty() && !d.is_empty() => Ok((n.to_string(), PathBuf::from(d))),
                _ => bail!("--cross takes NAME=DIR pairs (e.g. ckplus=data/ckplus), got '{c}'"),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan {
            profile: if a.quick {
                "quick".into()
            } else if synthetic {
                "synthetic".into()
            } else {
                a.data.clone()
            },
            data,
            cross,
            runs,
            replicas,
            budget_minutes,
            // Synthetic: evaluation, Algorithm 2 and the figures take about a minute of the 8.
            training_share: if synthetic { 0.8 } else { 0.85 },
            subclasses,
            tsne_points: if a.quick {
                200
            } else if synthetic {
                1500
            } else {
                4000
            },
            f1_ks: if a.quick { vec![1, 3, 5] } else { (1..=21).step_by(2).collect() },
            recall_ks: vec![1, 2, 4, 8],
            groups: if a.quick { 8 } else { 40 },
            sheets: if a.quick { 2 } else { 8 },
            seed: a.seed,
            deviations,
        })
    }

    /// Training minutes of each run that still has epochs to train.
    pub fn minutes_per_run(&self, unfinished: usize) -> f64 {
        self.budget_minutes * self.training_share / unfinished.max(1) as f64
    }
}
