//! [`EmbeddingModel`]: a backbone, its embedding layer, an optional class head, and the seeded noise state.

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backbones::{AlexNet, Backbone, Cvgg13, FmpNet, PreActResNet18, ResNet18};
use crate::error::{bad_input, Result};
use crate::layers::{Dense, DenseInit, ForwardCtx};
use crate::seeded::mix;
use crate::{BackboneKind, ModelConfig};

/// Domain separator for the evaluation generator.
const EVAL_STREAM: u64 = 0x6576_616c_5f72_6e67; // "eval_rng"

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// Embeddings, (B, embedding_dim), not normalised.
    pub embedding: Tensor,
    /// Class scores (B, num_classes) when the config has a class head.
    pub logits: Option<Tensor>,
}

/// Where the model's randomness (dropout masks, fractional-pooling regions) stands.
///
/// Training forward number `k` draws from `ChaCha8Rng` seeded by `mix(seed, k)`, and `forwards` counts the training
/// forwards done so far; evaluation forwards always draw from the same generator (derived from `seed` alone), so
/// evaluation is deterministic. Saving this state in a checkpoint and restoring it with
/// [`EmbeddingModel::set_noise_state`] makes a resumed run draw exactly what the uninterrupted run would have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseState {
    /// The noise seed.
    pub seed: u64,
    /// Training forwards done so far.
    pub forwards: u64,
}

/// An image-to-embedding network: one of the five backbones, ending in `Linear(features, embedding_dim)`, plus an
/// optional class head `Linear(embedding_dim, num_classes)` (variables under `head`).
#[derive(Debug)]
pub struct EmbeddingModel {
    cfg: ModelConfig,
    backbone: Box<dyn Backbone>,
    head: Option<Dense>,
    noise_seed: AtomicU64,
    forwards: AtomicU64,
}

impl EmbeddingModel {
    /// Validates `cfg` and builds the model, fetching (or creating) its variables from `vb`.
    ///
    /// With [`seeded_var_builder`](crate::seeded_var_builder) the initial weights depend only on its seed. The noise
    /// seed starts at 0; set it with [`EmbeddingModel::set_noise_state`] (a trainer would use its run seed).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let backbone: Box<dyn Backbone> = match cfg.backbone {
            BackboneKind::FmpNet => Box::new(FmpNet::new(cfg, vb.clone())?),
            BackboneKind::Cvgg13 => Box::new(Cvgg13::new(cfg, vb.clone())?),
            BackboneKind::AlexNet => Box::new(AlexNet::new(cfg, vb.clone())?),
            BackboneKind::ResNet18 => Box::new(ResNet18::new(cfg, vb.clone())?),
            BackboneKind::PreActResNet18 => Box::new(PreActResNet18::new(cfg, vb.clone())?),
        };
        let head = match cfg.num_classes {
            Some(c) => Some(Dense::new(cfg.embedding_dim, c, DenseInit::PyTorchDefault, vb.pp("head"))?),
            None => None,
        };
        Ok(EmbeddingModel {
            cfg: cfg.clone(),
            backbone,
            head,
            noise_seed: AtomicU64::new(0),
            forwards: AtomicU64::new(0),
        })
    }

    /// The (validated) config the model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The current noise state (see [`NoiseState`]).
    pub fn noise_state(&self) -> NoiseState {
        NoiseState { seed: self.noise_seed.load(Ordering::SeqCst), forwards: self.forwards.load(Ordering::SeqCst) }
    }

    /// Restores a noise state, e.g. `NoiseState { seed: run_seed, forwards: 0 }` at the start of a run or the saved
    /// state when resuming.
    pub fn set_noise_state(&self, state: NoiseState) {
        self.noise_seed.store(state.seed, Ordering::SeqCst);
        self.forwards.store(state.forwards, Ordering::SeqCst);
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        let s = self.cfg.input_size;
        let want = [self.cfg.in_channels, s, s];
        match x.dims() {
            [_, rest @ ..] if rest == want => {}
            dims => {
                return Err(bad_input(format!(
                    "expected (B, {}, {s}, {s}) images for {}, got {dims:?}",
                    self.cfg.in_channels, self.cfg.backbone
                )))
            }
        }
        if !matches!(x.dtype(), DType::F32 | DType::F64) {
            return Err(bad_input(format!("expected f32 or f64 images, got {:?}", x.dtype())));
        }
        Ok(())
    }

    /// Embeds `x` (B, C, S, S), f32. `train` reaches every BatchNorm (batch statistics, running-statistic updates),
    /// dropout and fractional max-pool; a training forward advances the noise state by one.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<ModelOutput> {
        let seed = self.noise_seed.load(Ordering::SeqCst);
        let rng = if train {
            let k = self.forwards.fetch_add(1, Ordering::SeqCst);
            ChaCha8Rng::seed_from_u64(mix(seed, k))
        } else {
            ChaCha8Rng::seed_from_u64(mix(seed ^ EVAL_STREAM, u64::MAX))
        };
        self.forward_ctx(x, &mut ForwardCtx::new(train, rng))
    }

    /// Embeds `x` with an explicit context (mode, generator, FLOP counter); does not touch the noise state.
    pub fn forward_ctx(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<ModelOutput> {
        self.check_input(x)?;
        let embedding = self.backbone.forward(x, ctx)?;
        let logits = match &self.head {
            Some(head) => Some(head.forward(&embedding, ctx)?),
            None => None,
        };
        Ok(ModelOutput { embedding, logits })
    }
}
