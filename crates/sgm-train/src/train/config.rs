//! [`TrainConfig`]: everything that defines a training run. It is stored in the run directory (`config.toml`)
//! and in every checkpoint, so a run can be resumed and a model rebuilt exactly.

use crate::error::{Result, TrainError};
use crate::optim::AdamConfig;
use crate::pretrained::PretrainedInit;
use crate::train::schedule::{Schedule, ScheduleStep};
use serde::{Deserialize, Serialize};
use sgm_core::{Miner, SgmConfig, TripletConfig};
use sgm_data::augment::{AugmentConfig, BatchConfig, Normalization};
use sgm_models::{BackboneKind, ModelConfig};

/// Which loss trains the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// The Structured Gaussian Manifold loss on stratified C×S batches (the paper's method).
    Sgm,
    /// The triplet baseline: random triplets (or in-batch mining with `miner`).
    Triplet,
    /// The softmax CNN baseline: cross-entropy on class-balanced batches.
    Softmax,
}

impl std::str::FromStr for LossKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "sgm" => Ok(Self::Sgm),
            "triplet" => Ok(Self::Triplet),
            "softmax" | "ce" | "cnn" => Ok(Self::Softmax),
            other => Err(format!("unknown loss '{other}' (expected sgm, triplet or softmax)")),
        }
    }
}

impl std::fmt::Display for LossKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sgm => "sgm",
            Self::Triplet => "triplet",
            Self::Softmax => "softmax",
        })
    }
}

/// How validation is scored after every epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidationConfig {
    /// Neighbours of the kNN classifier (the paper: 11).
    pub k: usize,
    /// The kNN classifier is fitted on the embeddings of at most this many training images, drawn once with the
    /// run's seed (the whole training set when `None`). Final evaluation (`sgm eval`) always uses the whole set.
    pub train_subset: Option<usize>,
    /// Before validating, re-estimate every BatchNorm's running statistics for the current weights as the mean of
    /// the batch statistics of this many training batches without augmentation ("precise BN"). Off by default, as
    /// the paper. In short runs at a high learning rate the moving averages lag far behind the weights, and
    /// evaluation-mode outputs (the CNN's argmax above all) suffer; the saved checkpoints carry the re-estimated
    /// statistics.
    pub precise_bn_batches: Option<usize>,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self { k: 11, train_subset: Some(5000), precise_bn_batches: None }
    }
}

/// How the softmax baseline composes its batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum SoftmaxSampler {
    /// Class-balanced draws with replacement (weights 1/frequency), as the authors' CNN baseline: the class head
    /// learns the posterior under equal priors.
    #[default]
    Balanced,
    /// Whole shuffled passes over the training set, as a plain classifier is trained (PyTorch's
    /// `DataLoader(shuffle=True)`): the class head learns the training prior.
    Shuffled,
}

impl SoftmaxSampler {
    /// Whether this is the default (left out of written configurations, so that they read as before).
    pub fn is_balanced(&self) -> bool {
        *self == SoftmaxSampler::Balanced
    }
}

impl std::fmt::Display for SoftmaxSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SoftmaxSampler::Balanced => "balanced",
            SoftmaxSampler::Shuffled => "shuffled",
        })
    }
}

/// How the SGM loss (and the in-batch triplet miners) compose their batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum MetricSampler {
    /// C×S stratified batches (`samples_per_class` images of every class), as the paper: each class mean is
    /// estimated from S samples, and every class is drawn equally often.
    #[default]
    Stratified,
    /// Whole shuffled passes in batches of `batch_size`: each class is drawn at its training frequency, classes
    /// absent from a batch drop out of its loss, and rare classes are not revisited S times per batch.
    Shuffled,
}

impl MetricSampler {
    /// Whether this is the default (left out of written configurations, so that they read as before).
    pub fn is_stratified(&self) -> bool {
        *self == MetricSampler::Stratified
    }
}

/// The precision of the training forward pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 throughout (the default; the only choice on the CPU).
    #[default]
    F32,
    /// Mixed precision: the forward pass in bfloat16, the weights, the loss and Adam in f32 (GPU only).
    Bf16,
    /// Mixed precision with float16 (GPU only).
    F16,
}

impl Precision {
    /// The candle dtype of the forward pass.
    pub fn dtype(self) -> candle_core::DType {
        match self {
            Precision::F32 => candle_core::DType::F32,
            Precision::Bf16 => candle_core::DType::BF16,
            Precision::F16 => candle_core::DType::F16,
        }
    }

    /// Whether this is plain f32 (left out of written configurations, so that they read as before).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        })
    }
}

/// A training run's configuration. [`Default`] is the paper's protocol on a ResNet18 at 48×48.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The loss.
    pub loss: LossKind,
    /// The model.
    pub model: ModelConfig,
    /// Epochs to train.
    pub epochs: usize,
    /// Seed of every random choice (the authors: 1).
    pub seed: u64,
    /// Adam / AMSGrad (the paper: lr 1e-4, amsgrad).
    pub optimizer: AdamConfig,
    /// Learning-rate schedule over epochs (the paper: constant).
    pub schedule: Schedule,
    /// How often the schedule is stepped: once per epoch (the default) or once per batch (PyTorch's usual
    /// `OneCycleLR`).
    #[serde(default, skip_serializing_if = "ScheduleStep::is_epoch")]
    pub schedule_step: ScheduleStep,
    /// Training augmentation (the paper's set by default).
    pub augment: AugmentConfig,
    /// Input normalisation (the paper: CIFAR-10 mean and std).
    pub normalization: Normalization,
    /// SGM loss settings (σ, optional extras).
    pub sgm: SgmConfig,
    /// SGM batches: samples of each class per batch (the paper: 30, i.e. B = 240 for 8 classes).
    pub samples_per_class: usize,
    /// SGM, softmax and mined-triplet batches per epoch; `None` covers the training set once per epoch.
    pub batches_per_epoch: Option<usize>,
    /// Triplet loss settings.
    pub triplet: TripletConfig,
    /// In-batch triplet miner; `None` uses random triplets as the authors did.
    pub miner: Option<Miner>,
    /// Random triplets per epoch (the paper: 160,000).
    pub triplets_per_epoch: usize,
    /// Triplets per batch (the authors' code: 240).
    pub triplets_per_batch: usize,
    /// Softmax batch size (the paper: 128).
    pub batch_size: usize,
    /// Softmax batch composition (the paper: class-balanced).
    #[serde(default, skip_serializing_if = "SoftmaxSampler::is_balanced")]
    pub softmax_sampler: SoftmaxSampler,
    /// SGM and mined-triplet batch composition (the paper: C×S stratified; `shuffled` draws batches of
    /// `batch_size` at the training frequencies).
    #[serde(default, skip_serializing_if = "MetricSampler::is_stratified")]
    pub metric_sampler: MetricSampler,
    /// Batch size when computing embeddings.
    pub eval_batch_size: usize,
    /// Test-time flip: every embedding (validation, test, `sgm embed`) is the mean of the image's and its mirror
    /// image's, and so are the class head's logits. Off in the paper.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eval_flip: bool,
    /// Validation scoring.
    pub validation: ValidationConfig,
    /// Keep a checkpoint every this many epochs (the paper: 10), besides `best` and `last`.
    pub checkpoint_every: usize,
    /// Foreign initial weights (ImageNet's, in torchvision's names), when the run started from them: recorded so
    /// that the run says what it was initialised from. `None`: seeded initialisation (or an sgm checkpoint given
    /// with `--weights`).
    pub init: Option<PretrainedInit>,
    /// SGM runs: weight of a cross-entropy term of a class head on the embedding, added to the SGM loss (0, the
    /// default, is the paper's loss alone). Every public caller of the authors' `DGMMLoss` trained it this way,
    /// with weight 1. Needs `model.num_classes`; validation still selects by kNN accuracy.
    #[serde(default)]
    pub ce_weight: f64,
    /// Precision of the training forward pass: `f32`, or `bf16`/`f16` mixed precision on a GPU (the weights, the
    /// loss, BatchNorm statistics and Adam stay f32; validation and embedding run in f32).
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            loss: LossKind::Sgm,
            model: ModelConfig::new(BackboneKind::ResNet18),
            epochs: 30,
            seed: 1,
            optimizer: AdamConfig::default(),
            schedule: Schedule::Constant,
            schedule_step: ScheduleStep::Epoch,
            augment: AugmentConfig::default(),
            normalization: Normalization::default(),
            sgm: SgmConfig::default(),
            samples_per_class: 30,
            batches_per_epoch: None,
            triplet: TripletConfig::default(),
            miner: None,
            triplets_per_epoch: 160_000,
            triplets_per_batch: 240,
            batch_size: 128,
            softmax_sampler: SoftmaxSampler::Balanced,
            metric_sampler: MetricSampler::Stratified,
            eval_batch_size: 256,
            eval_flip: false,
            validation: ValidationConfig::default(),
            checkpoint_every: 10,
            init: None,
            ce_weight: 0.0,
            precision: Precision::F32,
        }
    }
}

impl TrainConfig {
    /// Checks every part of the configuration.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        self.model.validate()?;
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.augment.validate()?;
        self.batch_config().validate()?;
        self.sgm.validate()?;
        self.triplet.validate()?;
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        for (name, v) in [
            ("samples_per_class", self.samples_per_class),
            ("triplets_per_epoch", self.triplets_per_epoch),
            ("triplets_per_batch", self.triplets_per_batch),
            ("batch_size", self.batch_size),
            ("eval_batch_size", self.eval_batch_size),
            ("checkpoint_every", self.checkpoint_every),
            ("validation.k", self.validation.k),
        ] {
            if v == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        if self.batches_per_epoch == Some(0)
            || self.validation.train_subset == Some(0)
            || self.validation.precise_bn_batches == Some(0)
        {
            return bad(
                "batches_per_epoch, validation.train_subset and validation.precise_bn_batches must be at least 1 when set"
                    .into(),
            );
        }
        if self.loss == LossKind::Softmax && self.model.num_classes.is_none() {
            return bad("the softmax loss needs a class head: set model.num_classes".into());
        }
        if !(self.ce_weight.is_finite() && self.ce_weight >= 0.0) {
            return bad(format!("ce_weight must be ≥ 0, got {}", self.ce_weight));
        }
        if self.ce_weight > 0.0 && self.loss != LossKind::Sgm {
            return bad("ce_weight adds a cross-entropy term to the SGM loss; it applies to loss = \"sgm\" only".into());
        }
        if self.ce_weight > 0.0 && self.model.num_classes.is_none() {
            return bad("ce_weight > 0 needs a class head: set model.num_classes".into());
        }
        crate::train::memory_needs::check_memory(self, None, None)
    }

    /// The network input implied by the model and the normalisation.
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            size: self.model.input_size,
            channels: self.model.in_channels,
            normalization: self.normalization.clone(),
        }
    }

    /// Reads a TOML configuration file (keys as in this struct; missing keys take their defaults).
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::from_toml_str(&text, path)
    }

    /// Parses TOML text read from `origin` (named in errors). The values are not validated.
    pub fn from_toml_str(text: &str, origin: &std::path::Path) -> Result<Self> {
        toml::from_str(text).map_err(|e| TrainError::Config(format!("{}: {e}", origin.display())))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| TrainError::Config(format!("cannot write the config as TOML: {e}")))
    }

    /// What depends on the device: a bf16/f16 [`Precision`] needs a GPU.
    pub fn check_device(&self, device: &candle_core::Device) -> Result<()> {
        if !self.precision.is_f32() && device.is_cpu() {
            return Err(TrainError::Config(format!(
                "precision {}: a bf16/f16 forward needs a GPU (a CUDA or Metal device); on the CPU train in f32",
                self.precision
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_left_out_of_f32_configurations_and_read_back_otherwise() {
        let cfg = TrainConfig::default();
        assert!(!cfg.to_toml().unwrap().contains("precision"), "an f32 run's config.toml reads as before");
        let bf16 = TrainConfig { precision: Precision::Bf16, ..TrainConfig::default() };
        let text = bf16.to_toml().unwrap();
        assert!(text.contains("precision = \"bf16\""), "{text}");
        let back: TrainConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.precision, Precision::Bf16);
        assert_eq!(Precision::F16.dtype(), candle_core::DType::F16);
    }

    #[test]
    fn decoupled_weight_decay_is_left_out_when_off_and_read_back_when_on() {
        let cfg = TrainConfig::default();
        assert!(!cfg.to_toml().unwrap().contains("decoupled"), "a coupled run's config.toml reads as before");
        let mut adamw = TrainConfig::default();
        adamw.optimizer.weight_decay = 0.05;
        adamw.optimizer.decoupled_weight_decay = true;
        let text = adamw.to_toml().unwrap();
        assert!(text.contains("decoupled_weight_decay = true"), "{text}");
        let back: TrainConfig = toml::from_str(&text).unwrap();
        assert_eq!(back.optimizer, adamw.optimizer);
    }
}
