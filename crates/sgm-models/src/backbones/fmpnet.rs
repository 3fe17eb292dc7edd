//! FMPNet: Graham's fractional max-pooling network as the authors used it (input 48×48).
//!
//! ```text
//! conv5-64 (pad 2), ReLU, FMP(3, 0.5)
//! conv3-64, ReLU, conv3-64, ReLU, FMP(3, 0.5)        (pad 1)
//! conv3-128, ReLU, conv3-128, ReLU, FMP(3, 0.5)      → 128×6×6 at 48, 128×8×8 at 64
//! Dropout, FC1024, ReLU, Dropout, FC1024, ReLU, Linear(1024, D)
//! ```
//!
//! Any input side 16..=128 is accepted: the flattened width is 128·f² with f = ⌊⌊⌊S/2⌋/2⌋/2⌋, so the first FC
//! layer's size depends on the input size (a model is tied to its size). Fractional pooling draws a fresh region
//! per image and channel in training and a per-channel region from the evaluation generator in eval (see
//! [`FractionalMaxPool2d`]). Init: convs Kaiming-normal (fan-out), FC layers PyTorch's default.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{flatten, Backbone};
use crate::layers::{relu, Conv, Dense, DenseInit, ForwardCtx, FractionalMaxPool2d, SeededDropout};
use crate::{ModelConfig, Result};

/// The side of FMPNet's last feature map for an input side.
pub fn fmpnet_feature_side(input_size: usize) -> usize {
    input_size / 2 / 2 / 2
}

/// FMPNet (see the module docs).
#[derive(Debug)]
pub struct FmpNet {
    convs: Vec<Conv>,
    fmp: FractionalMaxPool2d,
    dropout: SeededDropout,
    fc1: Dense,
    fc2: Dense,
    embedding: Dense,
}

impl FmpNet {
    /// Builds FMPNet for `cfg` under `vb`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let f = vb.pp("features");
        let convs = vec![
            Conv::new(cfg.in_channels, 64, 5, 1, 2, true, f.pp("conv1"))?,
            Conv::new(64, 64, 3, 1, 1, true, f.pp("conv2"))?,
            Conv::new(64, 64, 3, 1, 1, true, f.pp("conv3"))?,
            Conv::new(64, 128, 3, 1, 1, true, f.pp("conv4"))?,
            Conv::new(128, 128, 3, 1, 1, true, f.pp("conv5"))?,
        ];
        let side = fmpnet_feature_side(cfg.input_size);
        let c = vb.pp("classifier");
        Ok(FmpNet {
            convs,
            fmp: FractionalMaxPool2d::new(3, 0.5)?,
            dropout: SeededDropout::new(cfg.dropout)?,
            fc1: Dense::new(128 * side * side, 1024, DenseInit::PyTorchDefault, c.pp("fc1"))?,
            fc2: Dense::new(1024, 1024, DenseInit::PyTorchDefault, c.pp("fc2"))?,
            embedding: Dense::new(1024, cfg.embedding_dim, DenseInit::PyTorchDefault, vb.pp("embedding"))?,
        })
    }

    fn pool(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        if ctx.train {
            self.fmp.forward(x, &mut ctx.rng)
        } else {
            self.fmp.forward_shared(x, &mut ctx.rng)
        }
    }
}

impl Backbone for FmpNet {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let x = self.convs[0].forward_relu(x, ctx)?;
        let x = self.pool(&x, ctx)?;
        let x = self.convs[1].forward_relu(&x, ctx)?;
        let x = self.convs[2].forward_relu(&x, ctx)?;
        let x = self.pool(&x, ctx)?;
        let x = self.convs[3].forward_relu(&x, ctx)?;
        let x = self.convs[4].forward_relu(&x, ctx)?;
        let x = flatten(&self.pool(&x, ctx)?)?;
        let x = self.dropout.forward(&x, ctx)?;
        let x = relu(&self.fc1.forward(&x, ctx)?, ctx.kernels)?;
        let x = self.dropout.forward(&x, ctx)?;
        let x = relu(&self.fc2.forward(&x, ctx)?, ctx.kernels)?;
        self.embedding.forward(&x, ctx)
    }
}
