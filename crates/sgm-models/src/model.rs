//! [`EmbeddingModel`]: a backbone, its embedding layer, an optional class head, and the seeded noise state.

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backbones::{AlexNet, Backbone, Cvgg13, FmpNet, PreActResNet18, ResNet18};
use crate::error::{bad_input, Result};
use crate::layers::{l2_normalize, Dense, DenseInit, ForwardCtx, Kernels, NORMALIZE_EPS};
use crate::seeded::mix;
use crate::{BackboneKind, ModelConfig};

/// Domain separator for the evaluation generator.
const EVAL_STREAM: u64 = 0x6576_616c_5f72_6e67; // "eval_rng"

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// Embeddings, (B, embedding_dim): unit rows with [`ModelConfig::normalize_embedding`], else not normalised.
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

/// An image-to-embedding network: one of the five backbones, ending in `Linear(features, embedding_dim)` (divided by
/// its norm with [`ModelConfig::normalize_embedding`]), plus an optional class head `Linear(embedding_dim,
/// num_classes)` on it (variables under `head`).
#[derive(Debug)]
pub struct EmbeddingModel {
    cfg: ModelConfig,
    backbone: Box<dyn Backbone>,
    head: Option<Dense>,
    noise_seed: AtomicU64,
    forwards: AtomicU64,
    kernels: Kernels,
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
            kernels: Kernels::Fast,
        })
    }

    /// The same model running its ops on `kernels` in [`EmbeddingModel::forward`] (default [`Kernels::Fast`]:
    /// sgm's CPU kernels where they apply). Two models built from the same `VarMap` share their variables, so a
    /// [`Kernels::Candle`] twin is the reference for the fast kernels.
    pub fn with_kernels(mut self, kernels: Kernels) -> Self {
        self.kernels = kernels;
        self
    }

    /// Which kernels [`EmbeddingModel::forward`] uses.
    pub fn kernels(&self) -> Kernels {
        self.kernels
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
        self.check_input(x)?;
        self.forward_unchecked(x, &mut self.next_ctx(train))
    }

    /// [`EmbeddingModel::forward`] in evaluation mode for outputs that are used, not differentiated (validation,
    /// embedding, retrieval): no graph is kept for a backward pass ([`ForwardCtx::without_grad`], PyTorch's
    /// `no_grad`), so each activation is freed as soon as the next layer has read it. The outputs equal
    /// `forward(x, false)`'s.
    pub fn infer(&self, x: &Tensor) -> Result<ModelOutput> {
        self.check_input(x)?;
        self.forward_unchecked(x, &mut self.next_ctx(false).without_grad())
    }

    /// The context of the next forward: its generator, and this model's kernels.
    fn next_ctx(&self, train: bool) -> ForwardCtx {
        let seed = self.noise_seed.load(Ordering::SeqCst);
        let rng = if train {
            let k = self.forwards.fetch_add(1, Ordering::SeqCst);
            ChaCha8Rng::seed_from_u64(mix(seed, k))
        } else {
            ChaCha8Rng::seed_from_u64(mix(seed ^ EVAL_STREAM, u64::MAX))
        };
        let mut ctx = ForwardCtx::new(train, rng);
        ctx.kernels = self.kernels;
        ctx
    }

    /// [`EmbeddingModel::forward`] in another precision: `x` is cast to `dtype` (bf16 or f16) and every layer
    /// casts its weights to it, so the gradients still reach the f32 variables (mixed precision: the loss and the
    /// optimiser stay in f32; BatchNorm statistics are computed in f32 by candle_nn). The outputs are in `dtype`. GPU only: on the CPU
    /// candle's convolutions have no bf16/f16 kernels fast enough to matter, so it is refused. `F32`/`F64` are
    /// plain [`EmbeddingModel::forward`].
    pub fn forward_dtype(&self, x: &Tensor, train: bool, dtype: DType) -> Result<ModelOutput> {
        match dtype {
            DType::F32 | DType::F64 => self.forward(x, train),
            DType::BF16 | DType::F16 if !x.device().is_cpu() => {
                self.check_input(x)?;
                self.forward_unchecked(&x.to_dtype(dtype)?, &mut self.next_ctx(train))
            }
            DType::BF16 | DType::F16 => Err(bad_input(format!(
                "a {dtype:?} forward needs a GPU (CUDA or Metal); on the CPU sgm runs f32 or f64"
            ))),
            other => Err(bad_input(format!("no {other:?} forward: f32, f64, bf16 or f16"))),
        }
    }

    /// Embeds `x` with an explicit context (mode, generator, FLOP counter); does not touch the noise state.
    pub fn forward_ctx(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<ModelOutput> {
        self.check_input(x)?;
        self.forward_unchecked(x, ctx)
    }

    fn forward_unchecked(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<ModelOutput> {
        let mut embedding = self.backbone.forward(x, ctx)?;
        if self.cfg.normalize_embedding {
            embedding = l2_normalize(&embedding, NORMALIZE_EPS)?;
        }
        let logits = match &self.head {
            Some(head) => Some(head.forward(&embedding, ctx)?),
            None => None,
        };
        Ok(ModelOutput { embedding, logits })
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use candle_nn::VarMap;

    use super::*;
    use crate::seeded_var_builder;

    fn tiny() -> (VarMap, EmbeddingModel, Tensor) {
        let cfg = ModelConfig { backbone: BackboneKind::FmpNet, input_size: 24, ..Default::default() };
        let vm = VarMap::new();
        let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 2, DType::F32, &Device::Cpu)).unwrap();
        let x = Tensor::ones((2, 1, 24, 24), DType::F32, &Device::Cpu).unwrap();
        (vm, model, x)
    }

    #[test]
    fn half_precision_forwards_need_a_gpu() {
        let (_vm, model, x) = tiny();
        for dtype in [DType::BF16, DType::F16] {
            let e = model.forward_dtype(&x, false, dtype).unwrap_err().to_string();
            assert!(e.contains("needs a GPU"), "{dtype:?}: {e}");
        }
        assert!(model.forward_dtype(&x, false, DType::U8).is_err());
        let plain = model.forward(&x, false).unwrap().embedding.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let f32 = model.forward_dtype(&x, false, DType::F32).unwrap().embedding;
        assert_eq!(f32.flatten_all().unwrap().to_vec1::<f32>().unwrap(), plain);
    }

    #[test]
    fn inference_equals_the_evaluation_forward_and_keeps_no_graph() {
        // Every backbone, on sgm's kernels and on candle's: the same outputs, and nothing in them still tracks
        // the weights (so the activations behind them were freed), where the plain evaluation forward's do.
        for backbone in BackboneKind::ALL {
            for kernels in [Kernels::Fast, Kernels::Candle] {
                let cfg = ModelConfig { backbone, input_size: 48, num_classes: Some(3), ..Default::default() };
                let vm = VarMap::new();
                let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 4, DType::F32, &Device::Cpu))
                    .unwrap()
                    .with_kernels(kernels);
                let x = Tensor::randn(0f32, 1.0, (2, 1, 48, 48), &Device::Cpu).unwrap();
                let (plain, inferred) = (model.forward(&x, false).unwrap(), model.infer(&x).unwrap());
                let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
                assert_eq!(values(&plain.embedding), values(&inferred.embedding), "{backbone:?} {kernels:?}");
                let (pl, il) = (plain.logits.unwrap(), inferred.logits.unwrap());
                assert_eq!(values(&pl), values(&il), "{backbone:?} {kernels:?}");
                assert!(plain.embedding.track_op() && pl.track_op(), "{backbone:?} {kernels:?}");
                assert!(!inferred.embedding.track_op() && !il.track_op(), "{backbone:?} {kernels:?}");
            }
        }
    }

    #[test]
    fn a_normalised_embedding_is_the_plain_one_divided_by_its_norm() {
        let (vm, plain, x) = tiny();
        let cfg = ModelConfig { normalize_embedding: true, ..plain.config().clone() };
        let unit = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 2, DType::F32, &Device::Cpu)).unwrap();
        let x = (x.randn_like(0.0, 1.0).unwrap() + &x).unwrap();
        let z = plain.forward(&x, false).unwrap().embedding.to_vec2::<f32>().unwrap();
        let u = unit.forward(&x, false).unwrap().embedding.to_vec2::<f32>().unwrap();
        for (zr, ur) in z.iter().zip(&u) {
            let norm = zr.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!(norm > 1e-3, "a degenerate embedding proves nothing");
            for (a, b) in zr.iter().zip(ur) {
                assert!((a / norm - b).abs() < 1e-6, "{a} / {norm} against {b}");
            }
        }
    }

    #[test]
    fn kernels_are_per_model() {
        let (vm, model, x) = tiny();
        assert_eq!(model.kernels(), Kernels::Fast);
        let cfg = model.config().clone();
        let twin = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 2, DType::F32, &Device::Cpu))
            .unwrap()
            .with_kernels(Kernels::Candle);
        assert_eq!((model.kernels(), twin.kernels()), (Kernels::Fast, Kernels::Candle));
        let a = model.forward(&x, false).unwrap().embedding.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = twin.forward(&x, false).unwrap().embedding.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let d = a.iter().zip(&b).fold(0f32, |m, (p, q)| m.max((p - q).abs())) / scale;
        assert!(d < 1e-4, "fast and candle kernels differ by {d}");
    }
}
