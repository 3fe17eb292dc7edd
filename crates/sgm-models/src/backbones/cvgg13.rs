//! CVGG13: a VGG13-like network without BatchNorm, as the authors used it (input 64×64).
//!
//! ```text
//! conv3 [64, 64, M, 128, 128, M, 256, 256, 256, M, 256, 256, 256, M]   (pad 1, ReLU after each conv, M = 2×2/2)
//! → 256×4×4 at 64, 256×3×3 at 48;  FC1024, ReLU, Dropout, Linear(1024, D)
//! ```
//!
//! Any input side 16..=256 is accepted; the first FC layer's fan-in is 256·⌊S/16⌋². Init as the authors'
//! (torchvision VGG): convs Kaiming-normal (fan-out, ReLU), bias 0; FC layers N(0, 0.01), bias 0. The 2×2 pools use
//! the crate's max-pool (PyTorch's tie rule) rather than candle's.

use candle_core::Tensor;
use candle_nn::VarBuilder;

use super::{flatten, Backbone};
use crate::layers::{relu, Conv, Dense, DenseInit, ForwardCtx, MaxPool2d, SeededDropout};
use crate::{ModelConfig, Result};

/// The layer plan: `Some(c)` a conv3 with c output channels, `None` a 2×2 max-pool.
const PLAN: [Option<usize>; 14] = [
    Some(64),
    Some(64),
    None,
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    Some(256),
    None,
    Some(256),
    Some(256),
    Some(256),
    None,
];

/// CVGG13 (see the module docs).
#[derive(Debug)]
pub struct Cvgg13 {
    /// Convolutions in order, `None` where a pool goes.
    layers: Vec<Option<Conv>>,
    pool: MaxPool2d,
    fc1: Dense,
    dropout: SeededDropout,
    embedding: Dense,
}

impl Cvgg13 {
    /// Builds CVGG13 for `cfg` under `vb`.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let mut layers = Vec::with_capacity(PLAN.len());
        let mut channels = cfg.in_channels;
        for (i, step) in PLAN.iter().enumerate() {
            layers.push(match step {
                Some(out) => {
                    let conv = Conv::new(channels, *out, 3, 1, 1, true, vb.pp("features").pp(i))?;
                    channels = *out;
                    Some(conv)
                }
                None => None,
            });
        }
        let side = cfg.input_size / 16;
        Ok(Cvgg13 {
            layers,
            pool: MaxPool2d::new(2, 2, 0)?,
            fc1: Dense::new(256 * side * side, 1024, DenseInit::Normal(0.01), vb.pp("classifier").pp("fc1"))?,
            dropout: SeededDropout::new(cfg.dropout)?,
            embedding: Dense::new(1024, cfg.embedding_dim, DenseInit::Normal(0.01), vb.pp("embedding"))?,
        })
    }
}

impl Backbone for Cvgg13 {
    fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = match layer {
                Some(conv) => conv.forward_relu(&x, ctx)?,
                None => self.pool.forward(&x)?,
            };
        }
        let x = relu(&self.fc1.forward(&flatten(&x)?, ctx)?, ctx.kernels)?;
        let x = self.dropout.forward(&x, ctx)?;
        self.embedding.forward(&x, ctx)
    }
}
