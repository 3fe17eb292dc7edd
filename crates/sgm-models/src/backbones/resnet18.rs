//! ResNet18 in torchvision's layout (authors' input 224×224).
//!
//! ```text
//! conv7-64/2 (pad 3), BN, ReLU, max-pool 3×3/2 (pad 1)
//! layer1..layer4: two BasicBlocks each, 64/128/256/512 channels, strides 1/2/2/2 (1×1/2 conv + BN downsample)
//! AdaptiveAvgPool(1×1), Linear(512, D)
//! ```
//!
//! The layout is unchanged for small inputs: any side 32..=512 works (at 48 the maps are 24, 12, 12, 6, 3, 2).
//! BatchNorm follows [`ModelConfig::batch_norm`]: with it off (the authors' metric-learning variant, where it was
//! commented out) every BN becomes the identity and the convolutions stay bias-free. The stem pool uses the crate's
//! trainable max-pool. Init as torchvision: convs Kaiming-normal (fan-out, ReLU), BN weight 1 / bias 0, the final
//! Linear PyTorch's default. The paper started from ImageNet weights; this crate starts from scratch.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{flatten, Backbone};
use crate::layers::{adaptive_avg_pool2d, add_relu, Conv, Dense, DenseInit, ForwardCtx, MaxPool2d, Norm2d};
use crate::{ModelConfig, Result};

/// torchvision's `BasicBlock`.
#[derive(Debug)]
struct BasicBlock {
    conv1: Conv,
    bn1: Norm2d,
    conv2: Conv,
    bn2: Norm2d,
    downsample: Option<(Conv, Norm2d)>,
}

impl BasicBlock {
    fn new(inp: usize, out: usize, stride: usize, bn: bool, vb: VarBuilder) -> Result<Self> {
        let downsample = if stride != 1 || inp != out {
            let d = vb.pp("downsample");
            Some((Conv::new(inp, out, 1, stride, 0, false, d.pp(0))?, Norm2d::new(out, bn, d.pp(1))?))
        } else {
            None
        };
        Ok(BasicBlock {
            conv1: Conv::new(inp, out, 3, stride, 1, false, vb.pp("conv1"))?,
            bn1: Norm2d::new(out, bn, vb.pp("bn1"))?,
            conv2: Conv::new(out, out, 3, 1, 1, false, vb.pp("conv2"))?,
            bn2: Norm2d::new(out, bn, vb.pp("bn2"))?,
            downsample,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let out = self.conv1.forward_bn(x, &self.bn1, true, ctx)?;
        let out = self.conv2.forward_bn(&out, &self.bn2, false, ctx)?;
        let identity = match &self.downsample {
            Some((conv, bn)) => conv.forward_bn(x, bn, false, ctx)?,
            None => x.clone(),
        };
        add_relu(&out, &identity, ctx.kernels)
    }
}

/// ResNet18 (see the module docs).
#[derive(Debug)]
pub struct ResNet18 {
    conv1: Conv,
    bn1: Norm2d,
    pool: MaxPool2d,
    blocks: Vec<BasicBlock>,
    embedding: Dense,
}

impl ResNet18 {
    /// Builds ResNet18 for `cfg` under `vb` (variable names as torchvision: `conv1`, `bn1`, `layer1.0.conv1`, …).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let bn = cfg.batch_norm;
        let mut blocks = Vec::with_capacity(8);
        let mut inp = 64;
        for (stage, (out, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)].into_iter().enumerate() {
            let layer = vb.pp(format!("layer{}", stage + 1));
            blocks.push(BasicBlock::new(inp, out, stride, bn, layer.pp(0))?);
            blocks.push(BasicBlock::new(out, out, 1, bn, layer.pp(1))?);
            inp = out;
        }
        Ok(ResNet18 {
            conv1: Conv::new(cfg.in_channels, 64, 7, 2, 3, false, vb.pp("conv1"))?,
            bn1: Norm2d::new(64, bn, vb.pp("bn1"))?,
            pool: MaxPool2d::new(3, 2, 1)?,
            blocks,
            embedding: Dense::new(512, cfg.embedding_dim, DenseInit::PyTorchDefault, vb.pp("embedding"))?,
        })
    }
}

impl Backbone for ResNet18 {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let x = self.conv1.forward_bn(x, &self.bn1, true, ctx)?;
        let mut x = self.pool.forward(&x)?;
        for block in &self.blocks {
            x = block.forward(&x, ctx)?;
        }
        let x = flatten(&adaptive_avg_pool2d(&x, 1, 1)?)?;
        self.embedding.forward(&x, ctx)
    }
}
