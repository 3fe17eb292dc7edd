//! Which backbone to build, and how: [`BackboneKind`] and [`ModelConfig`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{invalid_config, ModelError, Result};

/// The five backbones of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BackboneKind {
    /// Graham's fractional max-pooling network (authors' input 48×48).
    #[serde(rename = "fmpnet")]
    FmpNet,
    /// A VGG13-like network without BatchNorm (authors' input 64×64).
    #[serde(rename = "cvgg13")]
    Cvgg13,
    /// AlexNet, the "one weird trick" variant of torchvision (authors' input 224×224).
    #[serde(rename = "alexnet")]
    AlexNet,
    /// ResNet18 in torchvision's layout (authors' input 224×224).
    #[serde(rename = "resnet18")]
    ResNet18,
    /// The CIFAR variant of the pre-activation ResNet18 (authors' input 32×32).
    #[serde(rename = "preact-resnet18")]
    PreActResNet18,
}

impl BackboneKind {
    /// All backbones, in the order of the paper's tables.
    pub const ALL: [BackboneKind; 5] = [
        BackboneKind::FmpNet,
        BackboneKind::Cvgg13,
        BackboneKind::AlexNet,
        BackboneKind::ResNet18,
        BackboneKind::PreActResNet18,
    ];

    /// The name used in configs and on the command line (`"fmpnet"`, `"preact-resnet18"`, …).
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::FmpNet => "fmpnet",
            BackboneKind::Cvgg13 => "cvgg13",
            BackboneKind::AlexNet => "alexnet",
            BackboneKind::ResNet18 => "resnet18",
            BackboneKind::PreActResNet18 => "preact-resnet18",
        }
    }

    /// The square input side the authors used.
    pub fn authors_input_size(self) -> usize {
        match self {
            BackboneKind::FmpNet => 48,
            BackboneKind::Cvgg13 => 64,
            BackboneKind::AlexNet | BackboneKind::ResNet18 => 224,
            BackboneKind::PreActResNet18 => 32,
        }
    }

    /// The inclusive range of square input sides this crate accepts for the backbone.
    ///
    /// - FMPNet: 16..=128; the first FC layer's fan-in is 128·f² with f = ⌊⌊⌊s/2⌋/2⌋/2⌋ (6 at 48, 8 at 64).
    /// - CVGG13: 16..=256; the first FC layer's fan-in is 256·⌊s/16⌋² (3 at 48, 4 at 64).
    /// - AlexNet: 32..=512; below 128 the 11×11/4 stem is replaced by a 5×5/2 one (see
    ///   [`backbones::alexnet`](crate::backbones::alexnet)); the adaptive average pool always gives 256×6×6.
    /// - ResNet18: 32..=512, torchvision layout unchanged (adaptive average pool).
    /// - PreActResNet18: 16..=256, CIFAR layout unchanged (adaptive average pool).
    pub fn input_size_range(self) -> (usize, usize) {
        match self {
            BackboneKind::FmpNet => (16, 128),
            BackboneKind::Cvgg13 => (16, 256),
            BackboneKind::AlexNet | BackboneKind::ResNet18 => (32, 512),
            BackboneKind::PreActResNet18 => (16, 256),
        }
    }

    /// A one-line description of the accepted input sizes, for listings.
    pub fn input_sizes_text(self) -> String {
        let (lo, hi) = self.input_size_range();
        format!("{lo}..={hi} (authors: {})", self.authors_input_size())
    }
}

impl fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackboneKind {
    type Err = ModelError;

    /// Parses a backbone name, case-insensitively; `_` is accepted for `-` (`preact_resnet18`).
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        BackboneKind::ALL.into_iter().find(|k| k.name() == norm).ok_or_else(|| ModelError::UnknownBackbone(s.into()))
    }
}

/// How to build an [`EmbeddingModel`](crate::EmbeddingModel).
///
/// Every field has a default (see [`ModelConfig::default`]); unknown keys are rejected when deserialising.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The backbone (default `resnet18`).
    pub backbone: BackboneKind,
    /// Input channels: 1 (grayscale) or 3 (grayscale replicated to RGB, as the authors did). Default 1.
    pub in_channels: usize,
    /// The side of the square input; see [`BackboneKind::input_size_range`]. Default 48.
    pub input_size: usize,
    /// The embedding dimension D (default 64, the paper's).
    pub embedding_dim: usize,
    /// `Some(C)` adds a class head `Linear(embedding_dim, C)` on top of the embedding (softmax baseline, CE term).
    pub num_classes: Option<usize>,
    /// BatchNorm on or off, for the backbones that have it (ResNet18, PreActResNet18); ignored by the others.
    ///
    /// Default `true`: torchvision's layout, which trains from scratch reliably. The authors' metric-learning
    /// ResNet had its BatchNorm commented out; `false` reproduces that (convolutions stay bias-free, as there).
    pub batch_norm: bool,
    /// Dropout probability where the architecture has dropout (FMPNet, CVGG13, AlexNet). Default 0.5.
    pub dropout: f64,
    /// Divide each embedding by its Euclidean norm (PyTorch's `F.normalize`), so that every embedding lies on the
    /// unit sphere: what the losses, the class head, validation and `sgm embed` see. Default `false` (the
    /// authors' embeddings are not normalised); a triplet network with mined triplets uses it so that mining
    /// cannot shrink the embedding towards a point. Left out of saved configs when off.
    #[serde(skip_serializing_if = "is_false")]
    pub normalize_embedding: bool,
}

fn is_false(v: &bool) -> bool {
    !*v
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backbone: BackboneKind::ResNet18,
            in_channels: 1,
            input_size: 48,
            embedding_dim: 64,
            num_classes: None,
            batch_norm: true,
            dropout: 0.5,
            normalize_embedding: false,
        }
    }
}

impl ModelConfig {
    /// The default config for one backbone.
    pub fn new(backbone: BackboneKind) -> Self {
        ModelConfig { backbone, ..Default::default() }
    }

    /// Checks that the config describes a buildable model.
    pub fn validate(&self) -> Result<()> {
        if self.in_channels != 1 && self.in_channels != 3 {
            return Err(invalid_config(format!("in_channels must be 1 or 3, got {}", self.in_channels)));
        }
        let (lo, hi) = self.backbone.input_size_range();
        if !(lo..=hi).contains(&self.input_size) {
            return Err(invalid_config(format!(
                "{} accepts input sizes {lo}..={hi}, got {}",
                self.backbone, self.input_size
            )));
        }
        if self.embedding_dim == 0 {
            return Err(invalid_config("embedding_dim must be at least 1"));
        }
        if self.num_classes == Some(0) {
            return Err(invalid_config("num_classes must be at least 1 when given"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid_config(format!("dropout must be in [0, 1), got {}", self.dropout)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in BackboneKind::ALL {
            assert_eq!(kind.name().parse::<BackboneKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.name());
            let json = format!("\"{}\"", kind.name());
            assert_eq!(serde_json_like(kind), json);
        }
        assert_eq!("PreAct_ResNet18".parse::<BackboneKind>().unwrap(), BackboneKind::PreActResNet18);
        assert!(matches!("vgg".parse::<BackboneKind>(), Err(ModelError::UnknownBackbone(_))));
    }

    fn serde_json_like(kind: BackboneKind) -> String {
        serde_json::to_string(&kind).unwrap()
    }

    #[test]
    fn every_backbone_accepts_48_and_64() {
        for kind in BackboneKind::ALL {
            for size in [48, 64] {
                ModelConfig { input_size: size, ..ModelConfig::new(kind) }.validate().unwrap();
            }
            let (lo, hi) = kind.input_size_range();
            assert!(ModelConfig { input_size: lo - 1, ..ModelConfig::new(kind) }.validate().is_err());
            assert!(ModelConfig { input_size: hi + 1, ..ModelConfig::new(kind) }.validate().is_err());
        }
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let ok = ModelConfig::default();
        ok.validate().unwrap();
        assert!(ModelConfig { in_channels: 2, ..ok.clone() }.validate().is_err());
        assert!(ModelConfig { embedding_dim: 0, ..ok.clone() }.validate().is_err());
        assert!(ModelConfig { num_classes: Some(0), ..ok.clone() }.validate().is_err());
        assert!(ModelConfig { dropout: 1.0, ..ok.clone() }.validate().is_err());
        assert!(ModelConfig { dropout: -0.1, ..ok }.validate().is_err());
    }

    #[test]
    fn serde_defaults_and_unknown_fields() {
        let cfg: ModelConfig = serde_json::from_str(r#"{"backbone":"cvgg13","num_classes":8}"#).unwrap();
        assert_eq!(cfg.backbone, BackboneKind::Cvgg13);
        assert_eq!(cfg.num_classes, Some(8));
        assert_eq!(cfg.embedding_dim, 64);
        assert_eq!(cfg.input_size, 48);
        assert!(serde_json::from_str::<ModelConfig>(r#"{"backbone":"cvgg13","depth":3}"#).is_err());
    }
}
