//! The Structured Gaussian Manifold (SGM) loss of Marrero Fernandez et al.
//!
//! For a batch of embeddings `z_i` with labels `y_i`:
//! 1. each class `c` present in the batch gets its in-batch mean `μ_c` (the sample itself included, gradients flow
//!    through the means: no stop-gradient); classes absent from the batch drop out;
//! 2. each class is an isotropic Gaussian with fixed `σ` and equal priors, so the posterior is
//!    `p(c | z_i) = softmax_c(−‖z_i − μ_c‖² / 2σ²)`, computed in log space (log-sum-exp), never as the
//!    underflowing `exp / Σ exp` of the authors' code;
//! 3. the loss is `mean_i Σ_c (p(c | z_i) − onehot(y_i)_c)²` (summed over classes, not divided by C).
//!
//! Optional extras, all off by default as in the paper: embedding-space mixup, a kNN-consistency term and an L2
//! penalty on the embeddings (see [`SgmConfig`]).

use crate::error::{invalid, Result};
use crate::loss::labels::{check_batch, BatchClasses};
use candle_core::{DType, Tensor, D};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use std::sync::Mutex;

/// How many mixing weights a mixup batch draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MixupDraw {
    /// One `λ` for the whole batch and a random permutation as partners, as the authors' DGMMLoss (the default).
    #[default]
    PerBatch,
    /// A `λ` and a partner (drawn with replacement) for every sample.
    PerSample,
}

/// Embedding-space mixup: partners `j` and weights `λ ~ Beta(α, α)` are drawn (see [`MixupDraw`]); the rows
/// `λ z_i + (1 − λ) z_j` with soft targets `λ onehot(y_i) + (1 − λ) onehot(y_j)` are appended to the batch.
/// The class means come from the original rows only (the authors' code also let a mixed row whose two partners
/// share a class join that class's mean).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MixupConfig {
    /// Beta distribution parameter (the authors' code: 2.0).
    pub alpha: f64,
    /// Seed of the mixup draws. A trainer derives one stream per epoch from it, so that epochs do not replay the
    /// same draws.
    pub seed: u64,
    /// One `λ` per batch (the authors') or per sample.
    #[serde(default)]
    pub draw: MixupDraw,
}

impl Default for MixupConfig {
    fn default() -> Self {
        Self { alpha: 2.0, seed: 1, draw: MixupDraw::PerBatch }
    }
}

/// kNN-consistency term: `weight · mean_i Σ_c (p(c | z_i) − q_ic)²`, where `q_i` is the label histogram of the `k`
/// nearest other samples of the batch (Euclidean, neighbours found without gradient). It pulls each posterior
/// towards the labels of its neighbourhood. The paper's code names the term but does not publish it; this is
/// sgm's definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KnnConsistencyConfig {
    /// Weight of the term (the authors: 0.01).
    pub weight: f64,
    /// Number of neighbours.
    pub k: usize,
}

impl Default for KnnConsistencyConfig {
    fn default() -> Self {
        Self { weight: 0.01, k: 5 }
    }
}

/// Configuration of [`SgmLoss`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgmConfig {
    /// Standard deviation of every class Gaussian (the authors used 1.0 until July 2019, 0.5 after).
    pub sigma: f64,
    /// Embedding-space mixup; `None` (the default) disables it.
    pub mixup: Option<MixupConfig>,
    /// kNN-consistency term; `None` (the default) disables it.
    pub knn_consistency: Option<KnnConsistencyConfig>,
    /// Weight of the L2 penalty `mean_i ‖z_i‖²`; 0 (the default) disables it.
    pub l2_weight: f64,
}

impl Default for SgmConfig {
    fn default() -> Self {
        Self { sigma: 1.0, mixup: None, knn_consistency: None, l2_weight: 0.0 }
    }
}

impl SgmConfig {
    /// A named variant: `paper` (σ 1, no extras: the default), `authors-v4` (the authors' DGMMLoss from 2019-05-14:
    /// σ 1, mixup with one λ ~ Beta(2, 2) per batch) or `authors-v5` (from 2019-07-02: σ 0.5 and that mixup).
    pub fn preset(name: &str) -> Result<Self> {
        let mixup = Some(MixupConfig::default());
        match name {
            "paper" => Ok(Self::default()),
            "authors-v4" => Ok(Self { sigma: 1.0, mixup, ..Self::default() }),
            "authors-v5" => Ok(Self { sigma: 0.5, mixup, ..Self::default() }),
            other => Err(invalid(format!("unknown SGM preset '{other}' (expected paper, authors-v4 or authors-v5)"))),
        }
    }
}

impl SgmConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(invalid(format!("sgm sigma must be a positive number, got {}", self.sigma)));
        }
        if !(self.l2_weight.is_finite() && self.l2_weight >= 0.0) {
            return Err(invalid(format!("sgm l2_weight must be ≥ 0, got {}", self.l2_weight)));
        }
        if let Some(m) = &self.mixup {
            if !(m.alpha.is_finite() && m.alpha > 0.0) {
                return Err(invalid(format!("mixup alpha must be > 0, got {}", m.alpha)));
            }
        }
        if let Some(k) = &self.knn_consistency {
            if !(k.weight.is_finite() && k.weight >= 0.0) || k.k == 0 {
                return Err(invalid(format!(
                    "knn_consistency needs weight ≥ 0 and k ≥ 1, got weight {} and k {}",
                    k.weight, k.k
                )));
            }
        }
        Ok(())
    }
}

/// Posterior of every sample over the classes present in its batch.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// `(B, C)` probabilities; column `j` is class `classes[j]`.
    pub probs: Tensor,
    /// `(B, C)` log-probabilities.
    pub log_probs: Tensor,
    /// The label of each column.
    pub classes: Vec<u32>,
    /// The `(C, D)` in-batch class means.
    pub means: Tensor,
}

impl Posterior {
    /// "GMM accuracy": the fraction of samples whose most probable class (equivalently, nearest batch mean) is
    /// their own label.
    pub fn accuracy(&self, labels: &[u32]) -> Result<f64> {
        let argmax: Vec<u32> = self.log_probs.argmax(D::Minus1)?.to_vec1()?;
        let hits = argmax.iter().zip(labels).filter(|(&j, &y)| self.classes[j as usize] == y).count();
        Ok(hits as f64 / labels.len().max(1) as f64)
    }
}

/// The SGM loss. Cheap to construct; holds only its configuration (and the mixup RNG when mixup is on).
#[derive(Debug)]
pub struct SgmLoss {
    cfg: SgmConfig,
    rng: Mutex<ChaCha8Rng>,
}

impl SgmLoss {
    /// The paper's loss with the given `sigma` and no extras.
    ///
    /// # Panics
    /// Never: an invalid sigma is reported by [`SgmLoss::forward`]. Use [`SgmLoss::with_config`] to validate early.
    pub fn new(sigma: f64) -> Self {
        let cfg = SgmConfig { sigma, ..SgmConfig::default() };
        Self { rng: Mutex::new(ChaCha8Rng::seed_from_u64(1)), cfg }
    }

    /// A loss from a validated configuration.
    pub fn with_config(cfg: SgmConfig) -> Result<Self> {
        cfg.validate()?;
        let seed = cfg.mixup.as_ref().map_or(1, |m| m.seed);
        Ok(Self { rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)), cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &SgmConfig {
        &self.cfg
    }

    /// The posterior of every sample of the batch over the classes present in it.
    ///
    /// `embeddings` is `(B, D)` (f32 or f64), `labels` is `(B,)` (u32, u8 or i64).
    pub fn posterior(&self, embeddings: &Tensor, labels: &Tensor) -> Result<Posterior> {
        self.cfg.validate()?;
        let (_, _, labels) = check_batch(embeddings, labels)?;
        let bc = BatchClasses::new(&labels);
        let onehot = bc.one_hot(embeddings.dtype(), embeddings.device())?;
        let means = class_means(embeddings, &onehot, &bc)?;
        let log_probs = log_posterior(embeddings, &means, self.cfg.sigma)?;
        Ok(Posterior { probs: log_probs.exp()?, log_probs, classes: bc.classes, means })
    }

    /// The loss: a scalar tensor of the embeddings' dtype, differentiable with respect to `embeddings`.
    pub fn forward(&self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
        self.cfg.validate()?;
        let (b, _, labels_v) = check_batch(embeddings, labels)?;
        let bc = BatchClasses::new(&labels_v);
        let onehot = bc.one_hot(embeddings.dtype(), embeddings.device())?;
        let means = class_means(embeddings, &onehot, &bc)?;
        let sigma = self.cfg.sigma;

        let probs = log_posterior(embeddings, &means, sigma)?.exp()?;
        let mut loss = squared_error(&probs, &onehot)?;

        if let Some(m) = &self.cfg.mixup {
            let (mixed, targets) = self.mix(embeddings, &onehot, m, b)?;
            let mixed_probs = log_posterior(&mixed, &means, sigma)?.exp()?;
            let mixed_loss = squared_error(&mixed_probs, &targets)?;
            // Mean over the 2B rows of the extended batch.
            loss = ((loss + mixed_loss)? * 0.5)?;
        }
        if let Some(k) = &self.cfg.knn_consistency {
            if k.weight > 0.0 && b > 1 {
                let q = neighbour_histogram(embeddings, &bc, k.k)?;
                loss = (loss + (squared_error(&probs, &q)? * k.weight)?)?;
            }
        }
        if self.cfg.l2_weight > 0.0 {
            let l2 = embeddings.sqr()?.sum(D::Minus1)?.mean_all()?;
            loss = (loss + (l2 * self.cfg.l2_weight)?)?;
        }
        Ok(loss)
    }

    fn mix(&self, z: &Tensor, onehot: &Tensor, m: &MixupConfig, b: usize) -> Result<(Tensor, Tensor)> {
        let beta = Beta::new(m.alpha, m.alpha).map_err(|e| invalid(format!("mixup: {e}")))?;
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let (lambdas, partners): (Vec<f64>, Vec<u32>) = match m.draw {
            MixupDraw::PerSample => {
                let l = (0..b).map(|_| beta.sample(&mut *rng)).collect();
                (l, (0..b).map(|_| rng.random_range(0..b as u32)).collect())
            }
            MixupDraw::PerBatch => {
                let lam = beta.sample(&mut *rng);
                let mut perm: Vec<u32> = (0..b as u32).collect();
                perm.shuffle(&mut *rng);
                (vec![lam; b], perm)
            }
        };
        drop(rng);
        let dev = z.device();
        let lam = Tensor::from_vec(lambdas, (b, 1), dev)?.to_dtype(z.dtype())?;
        let one_minus = lam.affine(-1.0, 1.0)?;
        let idx = Tensor::from_vec(partners, b, dev)?;
        let mixed = (z.broadcast_mul(&lam)? + z.index_select(&idx, 0)?.broadcast_mul(&one_minus)?)?;
        let targets = (onehot.broadcast_mul(&lam)? + onehot.index_select(&idx, 0)?.broadcast_mul(&one_minus)?)?;
        Ok((mixed, targets))
    }
}

impl Default for SgmLoss {
    fn default() -> Self {
        Self::new(SgmConfig::default().sigma)
    }
}

/// `(C, D)` class means from the `(B, C)` one-hot matrix: `diag(1/n_c) · onehotᵀ · z`.
fn class_means(z: &Tensor, onehot: &Tensor, bc: &BatchClasses) -> Result<Tensor> {
    let inv: Vec<f64> = bc.counts.iter().map(|&n| 1.0 / n as f64).collect();
    let inv = Tensor::from_vec(inv, (bc.len(), 1), z.device())?.to_dtype(z.dtype())?;
    Ok(onehot.t()?.matmul(z)?.broadcast_mul(&inv)?)
}

/// `(B, C)` log-posteriors `log softmax_c(−‖z_i − μ_c‖² / 2σ²)`. The squared distances are formed from the
/// differences, not from `‖z‖² − 2z·μ + ‖μ‖²`, so that no cancellation error creeps in.
pub(crate) fn log_posterior(z: &Tensor, means: &Tensor, sigma: f64) -> Result<Tensor> {
    let diff = z.unsqueeze(1)?.broadcast_sub(&means.unsqueeze(0)?)?;
    let d2 = diff.sqr()?.sum(D::Minus1)?;
    let logits = d2.affine(-1.0 / (2.0 * sigma * sigma), 0.0)?;
    Ok(candle_nn::ops::log_softmax(&logits, D::Minus1)?)
}

/// `mean_i Σ_c (p_ic − t_ic)²`.
fn squared_error(p: &Tensor, t: &Tensor) -> Result<Tensor> {
    Ok((p - t)?.sqr()?.sum(D::Minus1)?.mean_all()?)
}

/// `(B, C)` label histograms of each sample's `k` nearest other samples (no gradient).
fn neighbour_histogram(z: &Tensor, bc: &BatchClasses, k: usize) -> Result<Tensor> {
    let zs = z.detach().to_dtype(DType::F64)?.to_vec2::<f64>()?;
    let b = zs.len();
    let k = k.min(b - 1);
    let c = bc.len();
    let mut q = vec![0f64; b * c];
    for i in 0..b {
        let mut d: Vec<(f64, usize)> = (0..b)
            .filter(|&j| j != i)
            .map(|j| (zs[i].iter().zip(&zs[j]).map(|(a, b)| (a - b) * (a - b)).sum::<f64>(), j))
            .collect();
        d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, j) in d.iter().take(k) {
            q[i * c + bc.column[j]] += 1.0 / k as f64;
        }
    }
    Ok(Tensor::from_vec(q, (b, c), z.device())?.to_dtype(z.dtype())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn batch() -> (Tensor, Tensor) {
        let z: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
        (
            Tensor::from_vec(z, (6, 2), &Device::Cpu).unwrap(),
            Tensor::from_vec(vec![0u32, 0, 1, 1, 2, 2], 6, &Device::Cpu).unwrap(),
        )
    }

    #[test]
    fn per_batch_mixup_draws_one_lambda_and_a_permutation() {
        let (z, y) = batch();
        let m = MixupConfig::default();
        let loss = SgmLoss::with_config(SgmConfig { mixup: Some(m.clone()), ..Default::default() }).unwrap();
        let bc = BatchClasses::new(&y.to_vec1::<u32>().unwrap());
        let onehot = bc.one_hot(DType::F64, &Device::Cpu).unwrap();
        let (mixed, targets) = loss.mix(&z, &onehot, &m, 6).unwrap();
        let t: Vec<Vec<f64>> = targets.to_vec2().unwrap();
        // Every soft target row holds λ for its own class and 1 − λ for its partner's (λ on the diagonal of the
        // permutation when the partner shares the class), and the weights are the same in every row.
        let lams: Vec<f64> = t
            .iter()
            .zip(bc.one_hot(DType::F64, &Device::Cpu).unwrap().to_vec2::<f64>().unwrap())
            .map(|(row, own)| row.iter().zip(&own).map(|(a, o)| a * o).sum::<f64>())
            .collect();
        let distinct = lams
            .iter()
            .filter(|l| (*l - 1.0).abs() > 1e-12)
            .map(|l| (l * 1e9).round() as i64)
            .collect::<std::collections::BTreeSet<_>>();
        assert!(distinct.len() <= 1, "one λ per batch: {lams:?}");
        // The partners form a permutation: each original row contributes (1 − λ) exactly once in total.
        let col_sums: Vec<f64> = (0..3).map(|c| t.iter().map(|r| r[c]).sum()).collect();
        for s in col_sums {
            assert!((s - 2.0).abs() < 1e-9, "a permutation keeps every class's total target mass: {s}");
        }
        assert_eq!(mixed.dims(), &[6, 2]);
    }

    #[test]
    fn presets_are_the_authors_variants() {
        assert_eq!(SgmConfig::preset("paper").unwrap(), SgmConfig::default());
        let v5 = SgmConfig::preset("authors-v5").unwrap();
        assert_eq!(v5.sigma, 0.5);
        assert_eq!(v5.mixup.unwrap().draw, MixupDraw::PerBatch);
        assert_eq!(SgmConfig::preset("authors-v4").unwrap().sigma, 1.0);
        assert!(SgmConfig::preset("v6").is_err());
    }
}
