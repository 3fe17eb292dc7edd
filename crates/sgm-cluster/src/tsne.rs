//! 2-d t-SNE of embeddings (the paper's Figures 2 and 7): Barnes-Hut t-SNE from the `bhtsne` crate, started from a
//! PCA projection computed here, so the result is deterministic (no random initialisation) and follows the
//! paper's protocol: perplexity 30, PCA initialisation, the first 4000 points.
//!
//! The PCA start is scaled as scikit-learn's `init="pca"`: the first coordinate has standard deviation 1e-4.
//! bhtsne sums gradients in parallel with rayon, so with several threads the last bits depend on scheduling and
//! grow over the iterations; [`TsneConfig::deterministic`] (the default) runs it on one thread, bit-reproducibly.

use crate::error::{ClusterError, Result};
use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::{Array2, Axis};
use sgm_core::Embeddings;

/// t-SNE parameters, validated by [`TsneConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsneConfig {
    /// Perplexity (the paper: 30).
    pub perplexity: f32,
    /// Barnes-Hut accuracy θ (0.5 as scikit-learn); 0 runs exact t-SNE.
    pub theta: f32,
    /// Gradient-descent epochs.
    pub epochs: usize,
    /// Only the first this many points are embedded (the paper: 4000).
    pub max_points: usize,
    /// Run on one thread so that the map is bit-identical from run to run (default); `false` uses rayon's pool.
    pub deterministic: bool,
}

impl Default for TsneConfig {
    fn default() -> Self {
        Self { perplexity: 30.0, theta: 0.5, epochs: 1000, max_points: 4000, deterministic: true }
    }
}

impl TsneConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return Err(ClusterError::InvalidParams(format!("perplexity must be > 0, got {}", self.perplexity)));
        }
        if !(self.theta.is_finite() && self.theta >= 0.0) {
            return Err(ClusterError::InvalidParams(format!("theta must be ≥ 0, got {}", self.theta)));
        }
        if self.epochs == 0 || self.max_points < 2 {
            return Err(ClusterError::InvalidParams("epochs ≥ 1 and max_points ≥ 2 are needed".into()));
        }
        Ok(())
    }
}

/// The first two principal components of the rows of `x` (`n × d`), scaled so that the first has standard
/// deviation 1e-4; row-major `n × 2`.
pub fn pca_init(x: &Array2<f64>) -> Result<Vec<f32>> {
    let n = x.nrows();
    let mean = x.mean_axis(Axis(0)).expect("n ≥ 1");
    let centred = x - &mean;
    let cov = centred.t().dot(&centred) / n as f64;
    let (_, vecs) = cov
        .eigh()
        .map_err(|e| ClusterError::InvalidParams(format!("PCA eigendecomposition failed: {e}")))?
        .sort_eig_desc();
    let mut pcs = centred.dot(&vecs.slice(ndarray::s![.., ..2.min(vecs.ncols())]));
    // Deterministic signs: the largest-magnitude coordinate of each component is positive.
    for mut col in pcs.columns_mut() {
        let big = col.iter().fold(0.0f64, |b, &v| if v.abs() > b.abs() { v } else { b });
        if big < 0.0 {
            col.mapv_inplace(|v| -v);
        }
    }
    let std0 = pcs.column(0).std(0.0);
    let scale = if std0 > 0.0 { 1e-4 / std0 } else { 1.0 };
    let mut out: Vec<f32> = pcs.iter().map(|&v| (v * scale) as f32).collect();
    if pcs.ncols() < 2 {
        // One-dimensional data: a zero second coordinate.
        out = out.iter().flat_map(|&v| [v, 0.0]).collect();
    }
    Ok(out)
}

/// 2-d t-SNE of the first `cfg.max_points` rows of `emb`; row-major `m × 2`.
pub fn tsne_2d(emb: &Embeddings, cfg: &TsneConfig) -> Result<Vec<f32>> {
    cfg.validate()?;
    let m = emb.rows().min(cfg.max_points);
    let d = emb.dim();
    // bhtsne needs at least 3·perplexity + 1 points for its neighbour search.
    let needed = (3.0 * cfg.perplexity).ceil() as usize + 2;
    if m < needed {
        return Err(ClusterError::InvalidParams(format!(
            "t-SNE with perplexity {} needs at least {needed} points, got {m}",
            cfg.perplexity
        )));
    }
    let pairs = if cfg.theta > 0.0 { (m as u128) * (needed as u128) } else { (m as u128) * (m as u128) };
    let what = if cfg.theta > 0.0 {
        format!("Barnes-Hut t-SNE of {m} points (max_points) at perplexity {}", cfg.perplexity)
    } else {
        format!("exact t-SNE (theta 0) of {m} points (max_points): {m}² pairwise affinities")
    };
    sgm_core::memory::check(what, pairs, 3 * 4).map_err(sgm_core::CoreError::from)?;
    sgm_core::memory::check(format!("the {m} × {d} points in double precision"), (m * d) as u128, 8)
        .map_err(sgm_core::CoreError::from)?;
    let rows: Vec<&[f32]> = emb.as_slice()[..m * d].chunks(d).collect();
    let x = Array2::from_shape_fn((m, d), |(i, j)| rows[i][j] as f64);
    let init = pca_init(&x)?;
    let dist = |a: &&[f32], b: &&[f32]| a.iter().zip(*b).map(|(p, q)| (p - q) * (p - q)).sum::<f32>().sqrt();
    let run = || {
        let mut t: bhtsne::tSNE<f32, &[f32]> = bhtsne::tSNE::new(&rows);
        t.perplexity(cfg.perplexity).epochs(cfg.epochs).initial_embedding(init.clone());
        if cfg.theta > 0.0 {
            t.barnes_hut(cfg.theta, dist);
        } else {
            t.exact(|a, b| dist(a, b).powi(2));
        }
        t.embedding()
    };
    if cfg.deterministic {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map_err(|e| ClusterError::InvalidParams(format!("cannot start a one-thread pool: {e}")))?;
        Ok(pool.install(run))
    } else {
        Ok(run())
    }
}
