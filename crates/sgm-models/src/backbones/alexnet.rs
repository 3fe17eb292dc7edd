//! AlexNet, the "one weird trick" variant in torchvision's layout (authors' input 224×224).
//!
//! ```text
//! stem conv-64, ReLU, M; conv5-192 (pad 2), ReLU, M; conv3-384, ReLU; conv3-256, ReLU; conv3-256, ReLU; M
//! AdaptiveAvgPool(6×6) → 256×6×6; Dropout, FC4096, ReLU, Dropout, FC4096, ReLU, Linear(4096, D)
//! ```
//!
//! M is the overlapping 3×3/2 max-pool, which needs the crate's trainable max-pool (candle's backward is wrong when
//! kernel ≠ stride). The stem is torchvision's 11×11/4 (pad 2) for inputs of 128 and more; for smaller inputs
//! (32..=127, e.g. 48 or 64) it is a 5×5/2 (pad 2) convolution, otherwise the third pool would have nothing left to
//! pool at 48×48 (48 → 11 → 5 → 2 → 0). At 48 the last feature map is 2×2 and the adaptive pool replicates it to
//! 6×6, as PyTorch's adaptive pooling would; the classifier keeps torchvision's sizes. Init: convs Kaiming-normal
//! (fan-out), FC layers PyTorch's default (torchvision's AlexNet uses PyTorch's defaults throughout).

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{flatten, Backbone};
use crate::layers::{adaptive_avg_pool2d, relu, Conv, Dense, DenseInit, ForwardCtx, MaxPool2d, SeededDropout};
use crate::{ModelConfig, Result};

/// Inputs at least this large get torchvision's 11×11/4 stem; smaller ones the 5×5/2 stem.
pub const ALEXNET_FULL_STEM_MIN_SIZE: usize = 128;

/// AlexNet (see the module docs).
#[derive(Debug)]
pub struct AlexNet {
    convs: Vec<Conv>,
    pool: MaxPool2d,
    dropout: SeededDropout,
    fc1: Dense,
    fc2: Dense,
    embedding: Dense,
}

impl AlexNet {
    /// Builds AlexNet for `cfg` under `vb` (variable names as torchvision: `features.0`, …, `classifier.4`).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let f = vb.pp("features");
        let stem = if cfg.input_size >= ALEXNET_FULL_STEM_MIN_SIZE {
            Conv::new(cfg.in_channels, 64, 11, 4, 2, true, f.pp(0))?
        } else {
            Conv::new(cfg.in_channels, 64, 5, 2, 2, true, f.pp(0))?
        };
        let convs = vec![
            stem,
            Conv::new(64, 192, 5, 1, 2, true, f.pp(3))?,
            Conv::new(192, 384, 3, 1, 1, true, f.pp(6))?,
            Conv::new(384, 256, 3, 1, 1, true, f.pp(8))?,
            Conv::new(256, 256, 3, 1, 1, true, f.pp(10))?,
        ];
        let c = vb.pp("classifier");
        Ok(AlexNet {
            convs,
            pool: MaxPool2d::new(3, 2, 0)?,
            dropout: SeededDropout::new(cfg.dropout)?,
            fc1: Dense::new(256 * 6 * 6, 4096, DenseInit::PyTorchDefault, c.pp(1))?,
            fc2: Dense::new(4096, 4096, DenseInit::PyTorchDefault, c.pp(4))?,
            embedding: Dense::new(4096, cfg.embedding_dim, DenseInit::PyTorchDefault, vb.pp("embedding"))?,
        })
    }
}

impl Backbone for AlexNet {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let x = self.pool.forward(&self.convs[0].forward_relu(x, ctx)?)?;
        let x = self.pool.forward(&self.convs[1].forward_relu(&x, ctx)?)?;
        let x = self.convs[2].forward_relu(&x, ctx)?;
        let x = self.convs[3].forward_relu(&x, ctx)?;
        let x = self.pool.forward(&self.convs[4].forward_relu(&x, ctx)?)?;
        let x = flatten(&adaptive_avg_pool2d(&x, 6, 6)?)?;
        let x = self.dropout.forward(&x, ctx)?;
        let x = relu(&self.fc1.forward(&x, ctx)?, ctx.kernels)?;
        let x = self.dropout.forward(&x, ctx)?;
        let x = relu(&self.fc2.forward(&x, ctx)?, ctx.kernels)?;
        self.embedding.forward(&x, ctx)
    }
}
