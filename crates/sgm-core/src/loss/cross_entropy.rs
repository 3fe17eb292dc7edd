//! Cross-entropy with optional class weights, the softmax-CNN baseline. With weights `w` it equals PyTorch's
//! `F.cross_entropy(logits, y, weight=w)`: `Σ_i w_{y_i} · (−log p_{i,y_i}) / Σ_i w_{y_i}`.

use crate::error::{invalid, CoreError, Result};
use crate::loss::labels::labels_to_vec;
use candle_core::{Tensor, D};

/// Weighted cross-entropy over `(B, C)` logits.
#[derive(Debug, Clone, Default)]
pub struct CrossEntropyLoss {
    weights: Option<Vec<f32>>,
}

impl CrossEntropyLoss {
    /// Unweighted cross-entropy (mean over the batch).
    pub fn new() -> Self {
        Self { weights: None }
    }

    /// Cross-entropy with one non-negative weight per class (at least one positive).
    pub fn weighted(weights: Vec<f32>) -> Result<Self> {
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || !weights.iter().any(|w| *w > 0.0) {
            return Err(invalid("class weights must be finite, non-negative, and not all zero"));
        }
        Ok(Self { weights: Some(weights) })
    }

    /// Class weights `1 / frequency` (normalised to mean 1) from training-label counts; absent classes get 0.
    pub fn balanced(counts: &[usize]) -> Result<Self> {
        let present = counts.iter().filter(|&&n| n > 0).count();
        if present == 0 {
            return Err(invalid("balanced class weights need at least one non-empty class"));
        }
        let raw: Vec<f64> = counts.iter().map(|&n| if n > 0 { 1.0 / n as f64 } else { 0.0 }).collect();
        let mean = raw.iter().sum::<f64>() / present as f64;
        Self::weighted(raw.iter().map(|w| (w / mean) as f32).collect())
    }

    /// The loss: a scalar tensor, differentiable with respect to `logits`.
    pub fn forward(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let (b, c) = logits
            .dims2()
            .map_err(|_| CoreError::Shape(format!("logits must be 2-D (B, C), got shape {:?}", logits.dims())))?;
        let y = labels_to_vec(targets)?;
        if y.len() != b {
            return Err(CoreError::Shape(format!("{} targets for {b} rows of logits", y.len())));
        }
        if let Some(bad) = y.iter().position(|&l| l as usize >= c) {
            return Err(invalid(format!("target {} at index {bad} is out of range for {c} classes", y[bad])));
        }
        let idx = Tensor::from_vec(y.clone(), (b, 1), logits.device())?;
        let nll = candle_nn::ops::log_softmax(logits, D::Minus1)?.gather(&idx, 1)?.squeeze(1)?.neg()?;
        match &self.weights {
            None => Ok(nll.mean_all()?),
            Some(w) => {
                if w.len() != c {
                    return Err(CoreError::Shape(format!("{} class weights for {c} classes", w.len())));
                }
                let wy: Vec<f32> = y.iter().map(|&l| w[l as usize]).collect();
                let total: f32 = wy.iter().sum();
                if total <= 0.0 {
                    return Err(invalid("every target of the batch has class weight 0"));
                }
                let wy = Tensor::from_vec(wy, b, logits.device())?.to_dtype(logits.dtype())?;
                Ok(((nll * wy)?.sum_all()? / total as f64)?)
            }
        }
    }
}
