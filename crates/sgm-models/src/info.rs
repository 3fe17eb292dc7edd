//! [`model_info`]: parameter count and FLOPs of a configured model, without allocating real weights.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::layers::{is_buffer, ForwardCtx};
use crate::{EmbeddingModel, ModelConfig, Result};

/// A summary of a configured model, for listings (`sgm models list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The backbone name (`"resnet18"`, …).
    pub name: String,
    /// The accepted input sides, e.g. `"32..=512 (authors: 224)"`.
    pub input_sizes: String,
    /// Trainable parameters (BatchNorm running statistics excluded), including the embedding layer and, when
    /// configured, the class head.
    pub params: usize,
    /// Floating-point operations per image at the configured input size: 2 × the multiply-adds of every
    /// convolution and linear layer (BatchNorm, activations and pooling not counted).
    pub flops: u64,
}

/// A backend that hands out zeros and remembers every variable's name and size.
#[derive(Default, Clone)]
struct ShapeRecorder {
    sizes: Arc<Mutex<HashMap<String, usize>>>,
}

impl SimpleBackend for ShapeRecorder {
    fn get(&self, s: Shape, name: &str, _: Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        if let Ok(mut sizes) = self.sizes.lock() {
            sizes.insert(name.to_string(), s.elem_count());
        }
        Tensor::zeros(s, dtype, dev)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("the shape recorder cannot create {name} without a shape")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        false
    }
}

/// Counts the parameters and FLOPs of the model `cfg` describes (building it on zero weights and running one
/// zero image through it on the CPU in evaluation mode).
pub fn model_info(cfg: &ModelConfig) -> Result<ModelInfo> {
    cfg.validate()?;
    let recorder = ShapeRecorder::default();
    let vb = VarBuilder::from_backend(Box::new(recorder.clone()), DType::F32, Device::Cpu);
    let model = EmbeddingModel::new(cfg, vb)?;
    let s = cfg.input_size;
    let x = Tensor::zeros((1, cfg.in_channels, s, s), DType::F32, &Device::Cpu)?;
    let mut ctx = ForwardCtx::new(false, ChaCha8Rng::seed_from_u64(0));
    model.forward_ctx(&x, &mut ctx)?;
    let params = recorder
        .sizes
        .lock()
        .map(|sizes| sizes.iter().filter(|(name, _)| !is_buffer(name)).map(|(_, n)| *n).sum())
        .unwrap_or(0);
    Ok(ModelInfo {
        name: cfg.backbone.name().to_string(),
        input_sizes: cfg.backbone.input_sizes_text(),
        params,
        flops: ctx.flops,
    })
}

/// Milliseconds per image of an evaluation forward pass of `batch` zero images through the model `cfg` describes
/// (seeded weights, on the CPU): the best of 3 timed passes after one warm-up.
pub fn eval_ms_per_image(cfg: &ModelConfig, batch: usize) -> Result<f64> {
    let varmap = candle_nn::VarMap::new();
    let model = EmbeddingModel::new(cfg, crate::seeded_var_builder(&varmap, 1, DType::F32, &Device::Cpu))?;
    let batch = batch.max(1);
    let x = Tensor::zeros((batch, cfg.in_channels, cfg.input_size, cfg.input_size), DType::F32, &Device::Cpu)?;
    model.forward(&x, false)?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        model.forward(&x, false)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best * 1000.0 / batch as f64)
}
