//! The five backbones. Each maps an image batch (N, C, S, S) to embeddings (N, D) and ends in
//! `Linear(features, embedding_dim)` (variable prefix `embedding`).
//!
//! Weight initialisation (documented per backbone): convolutions are Kaiming-normal in fan-out mode with the ReLU
//! gain and zero bias everywhere (the authors' torchvision-style init for CVGG13 and ResNet18, used for the others
//! too); BatchNorm starts at weight 1, bias 0; linear layers are N(0, 0.01) with zero bias in CVGG13 (as the
//! authors) and PyTorch's `nn.Linear` default U(±1/√fan_in) elsewhere.

pub mod alexnet;
pub mod cvgg13;
pub mod fmpnet;
pub mod preact_resnet18;
pub mod resnet18;

pub use alexnet::AlexNet;
pub use cvgg13::Cvgg13;
pub use fmpnet::FmpNet;
pub use preact_resnet18::PreActResNet18;
pub use resnet18::ResNet18;

use candle_core::Tensor;

use crate::layers::ForwardCtx;
use crate::Result;

/// A network from images to embeddings.
pub trait Backbone: Send + Sync + std::fmt::Debug {
    /// Maps `x` (N, C, S, S) to embeddings (N, embedding_dim), honouring `ctx.train` in every BatchNorm, dropout
    /// and fractional max-pool.
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor>;
}

/// Flattens (N, C, H, W) to (N, C·H·W).
pub(crate) fn flatten(x: &Tensor) -> Result<Tensor> {
    Ok(x.flatten_from(1)?)
}
