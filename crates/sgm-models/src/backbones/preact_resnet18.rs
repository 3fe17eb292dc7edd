//! PreActResNet18, the CIFAR variant (kuangliu/pytorch-cifar) the authors used at 32×32.
//!
//! ```text
//! conv3-64 (stride 1, pad 1)
//! layer1..layer4: two PreActBlocks each (BN, ReLU, conv3, BN, ReLU, conv3; 1×1 conv shortcut taken after the
//! first BN-ReLU when the shape changes), 64/128/256/512 channels, strides 1/2/2/2
//! AdaptiveAvgPool(1×1), Linear(512, D)
//! ```
//!
//! The layout is unchanged for larger inputs: any side 16..=256 works (CIFAR's fixed 4×4 average pool is an
//! adaptive one here). Compute grows with the square of the side: the stride-1 stem keeps layer1 at full resolution
//! (48×48: about 2.3× the FLOPs of 32×32). BatchNorm follows [`ModelConfig::batch_norm`] (off: identity). Init:
//! convs Kaiming-normal (fan-out), BN 1/0, the final Linear PyTorch's default.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{flatten, Backbone};
use crate::layers::{adaptive_avg_pool2d, Conv, Dense, DenseInit, ForwardCtx, Norm2d};
use crate::{ModelConfig, Result};

/// kuangliu's `PreActBlock`.
#[derive(Debug)]
struct PreActBlock {
    bn1: Norm2d,
    conv1: Conv,
    bn2: Norm2d,
    conv2: Conv,
    shortcut: Option<Conv>,
}

impl PreActBlock {
    fn new(inp: usize, out: usize, stride: usize, bn: bool, vb: VarBuilder) -> Result<Self> {
        let shortcut = if stride != 1 || inp != out {
            Some(Conv::new(inp, out, 1, stride, 0, false, vb.pp("shortcut").pp(0))?)
        } else {
            None
        };
        Ok(PreActBlock {
            bn1: Norm2d::new(inp, bn, vb.pp("bn1"))?,
            conv1: Conv::new(inp, out, 3, stride, 1, false, vb.pp("conv1"))?,
            bn2: Norm2d::new(out, bn, vb.pp("bn2"))?,
            conv2: Conv::new(out, out, 3, 1, 1, false, vb.pp("conv2"))?,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let out = self.bn1.forward_relu(x, ctx)?;
        let shortcut = match &self.shortcut {
            Some(conv) => conv.forward(&out, ctx)?,
            None => x.clone(),
        };
        let out = self.conv1.forward(&out, ctx)?;
        let out = self.bn2.forward_relu(&out, ctx)?;
        let out = self.conv2.forward(&out, ctx)?;
        Ok((out + shortcut)?)
    }
}

/// PreActResNet18 (see the module docs).
#[derive(Debug)]
pub struct PreActResNet18 {
    conv1: Conv,
    blocks: Vec<PreActBlock>,
    embedding: Dense,
}

impl PreActResNet18 {
    /// Builds PreActResNet18 for `cfg` under `vb` (variable names as kuangliu's: `conv1`, `layer1.0.bn1`, …).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let bn = cfg.batch_norm;
        let mut blocks = Vec::with_capacity(8);
        let mut inp = 64;
        for (stage, (out, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)].into_iter().enumerate() {
            let layer = vb.pp(format!("layer{}", stage + 1));
            blocks.push(PreActBlock::new(inp, out, stride, bn, layer.pp(0))?);
            blocks.push(PreActBlock::new(out, out, 1, bn, layer.pp(1))?);
            inp = out;
        }
        Ok(PreActResNet18 {
            conv1: Conv::new(cfg.in_channels, 64, 3, 1, 1, false, vb.pp("conv1"))?,
            blocks,
            embedding: Dense::new(512, cfg.embedding_dim, DenseInit::PyTorchDefault, vb.pp("embedding"))?,
        })
    }
}

impl Backbone for PreActResNet18 {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let mut x = self.conv1.forward(x, ctx)?;
        for block in &self.blocks {
            x = block.forward(&x, ctx)?;
        }
        let x = flatten(&adaptive_avg_pool2d(&x, 1, 1)?)?;
        self.embedding.forward(&x, ctx)
    }
}
