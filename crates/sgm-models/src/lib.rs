//! # sgm-models
//!
//! The backbones of *Deep Metric Structured Learning for Facial Expression Recognition* (Marrero Fernandez et al.)
//! in candle, each ending in an embedding layer `Linear(features, D)` (D = 64 by default) and, for the softmax
//! baseline, an optional class head:
//!
//! | backbone | authors' input | accepted here | notes |
//! |---|---|---|---|
//! | [`FmpNet`](backbones::FmpNet) | 48 | 16..=128 | fractional max-pooling, seeded |
//! | [`Cvgg13`](backbones::Cvgg13) | 64 | 16..=256 | no BatchNorm; FC N(0, 0.01) |
//! | [`AlexNet`](backbones::AlexNet) | 224 | 32..=512 | 5×5/2 stem below 128 |
//! | [`ResNet18`](backbones::ResNet18) | 224 | 32..=512 | torchvision layout, BN switchable |
//! | [`PreActResNet18`](backbones::PreActResNet18) | 32 | 16..=256 | CIFAR layout, BN switchable |
//!
//! It also closes candle gaps the backbones need ([`layers`]): an overlapping max-pool with PyTorch's gradient
//! (candle's is wrong when kernel ≠ stride and on ties), fractional max-pooling, seeded dropout, switchable
//! BatchNorm with running statistics, adaptive average pooling, a convolution whose CPU backward runs on gemm
//! (candle's input gradient goes through a direct `conv_transpose2d` about ten times slower than the forward, and
//! fails on non-square strided inputs), and a seeded [`VarBuilder`](candle_nn::VarBuilder) ([`seeded_var_builder`]).
//!
//! On GPUs (features `cuda`, `cudnn`, `metal`) the pools run as compositions of candle ops (their gradient then
//! gives every tied maximum the full gradient instead of only the first) and convolutions are candle's.
//!
//! ## For trainers
//!
//! - Parameters vs buffers: BatchNorm running statistics live in the `VarMap` but get no gradient. Filter them out
//!   of the optimiser with [`is_buffer`] and keep them in checkpoints.
//! - Randomness: dropout masks and fractional-pooling regions come from the model's [`NoiseState`]. Set it from the
//!   run seed at the start, save it with the checkpoint, restore it on resume.
//! - [`model_info`] gives parameter counts and FLOPs for listings.
//! - CPU speed: candle's gemm and this crate's loops use rayon's pool (`RAYON_NUM_THREADS`); on cores shared with
//!   other busy processes one thread can be the faster choice. The `step_timing` example measures a training step
//!   per backbone; the measurements are in `docs/performance.md`.
//!
//! ## Tutorial
//!
//! Build a small CVGG13 with a class head from a seeded `VarMap`, then embed a batch of two 48×48 gray images:
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::VarMap;
//! use sgm_models::{is_buffer, seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig, NoiseState};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = ModelConfig { backbone: BackboneKind::Cvgg13, input_size: 48, num_classes: Some(8), ..Default::default() };
//! let varmap = VarMap::new();
//! let model = EmbeddingModel::new(&cfg, seeded_var_builder(&varmap, 1, DType::F32, &Device::Cpu))?;
//! model.set_noise_state(NoiseState { seed: 1, forwards: 0 });
//!
//! let x = Tensor::zeros((2, 1, 48, 48), DType::F32, &Device::Cpu)?;
//! let out = model.forward(&x, false)?; // evaluation mode: no dropout
//! assert_eq!(out.embedding.dims(), &[2, 64]);
//! // For embeddings that are used rather than trained through: the same values, no graph kept (`no_grad`).
//! let used = model.infer(&x)?;
//! assert_eq!(used.embedding.to_vec2::<f32>()?, out.embedding.to_vec2::<f32>()?);
//! assert_eq!(out.logits.unwrap().dims(), &[2, 8]);
//!
//! // The optimiser gets every variable except BatchNorm running statistics (CVGG13 has none).
//! let trainable: Vec<_> = varmap.data().lock().unwrap().iter()
//!     .filter(|(name, _)| !is_buffer(name)).map(|(_, v)| v.clone()).collect();
//! assert_eq!(trainable.len(), varmap.all_vars().len());
//!
//! // The same seed gives the same weights, whatever the construction order.
//! let again = VarMap::new();
//! EmbeddingModel::new(&cfg, seeded_var_builder(&again, 1, DType::F32, &Device::Cpu))?;
//! let w = |vm: &VarMap| vm.data().lock().unwrap()["embedding.weight"].as_tensor().sum_all().unwrap().to_scalar::<f32>().unwrap();
//! assert_eq!(w(&varmap), w(&again));
//!
//! let info = sgm_models::model_info(&cfg)?;
//! assert_eq!(info.name, "cvgg13");
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod backbones;
pub mod config;
pub mod error;
pub mod info;
pub mod layers;
pub mod model;
pub mod pretrained;
pub mod seeded;
pub mod workers;

pub use config::{BackboneKind, ModelConfig};
pub use error::{ModelError, Result};
pub use info::{eval_ms_per_image, model_info, ModelInfo};
pub use layers::is_buffer;
pub use model::{EmbeddingModel, ModelOutput, NoiseState};
pub use seeded::seeded_var_builder;
pub use workers::on_workers;
