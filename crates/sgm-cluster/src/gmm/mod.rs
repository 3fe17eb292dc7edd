//! Gaussian mixtures fitted by EM, in f64, with full, diagonal or spherical covariances.
//!
//! This follows scikit-learn's `GaussianMixture` step for step (initialisation from a k-means labelling, E-step by
//! log-sum-exp, M-step with `reg_covar` added to every variance, the mean log-likelihood as the lower bound, stop
//! when it changes by less than `tol`, several initialisations keeping the best). linfa-clustering 0.8.1's
//! `GaussianMixtureModel` is not used: its E-step sums `exp(log p)` before taking the log (so far points underflow
//! to `ln 0` in 64 dimensions), it returns `Err(NotConverged)` at `max_iter` and discards the model, `n_runs > 1`
//! reuses one initialisation, and it only has full covariances. Here an unconverged fit is a `tracing` warning
//! and [`GaussianMixture::converged`] = false, as in scikit-learn; the full covariances are factorised with linfa's
//! own Cholesky (`linfa-linalg`).

mod covariance;

pub use covariance::{CovarianceType, Covariances};

use crate::error::{ClusterError, Result};
use crate::kmeans::{kmeans, KMeansConfig, KMeansInitMethod};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;
use sgm_core::Embeddings;

/// How each EM run is started.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GmmInit {
    /// scikit-learn's default: a k-means labelling (greedy k-means++ seeding, one run) as hard responsibilities.
    KMeans,
    /// Hard responsibilities from a given labelling (values `0..k`, one per point); every run is the same.
    Labels(Vec<u32>),
}

/// Gaussian-mixture parameters, validated by [`GmmConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GmmConfig {
    /// Number of components.
    pub k: usize,
    /// Covariance structure.
    pub covariance: CovarianceType,
    /// Stop when the mean log-likelihood changes by less than this (scikit-learn: 1e-3).
    pub tol: f64,
    /// Added to every variance so that a collapsed component stays invertible (scikit-learn: 1e-6).
    pub reg_covar: f64,
    /// EM iteration cap per run (scikit-learn: 100).
    pub max_iter: usize,
    /// Independent initialisations; the one with the highest lower bound is kept.
    pub n_init: usize,
    /// Initialisation.
    pub init: GmmInit,
    /// Seed of every random choice (run `r` uses stream `r`).
    pub seed: u64,
}

impl GmmConfig {
    /// scikit-learn's defaults for `k` components with the given covariance type.
    pub fn new(k: usize, covariance: CovarianceType, seed: u64) -> Self {
        Self { k, covariance, tol: 1e-3, reg_covar: 1e-6, max_iter: 100, n_init: 1, init: GmmInit::KMeans, seed }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(ClusterError::InvalidParams(m));
        if self.k == 0 {
            return bad("k must be at least 1".into());
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return bad(format!("tol must be ≥ 0, got {}", self.tol));
        }
        if !(self.reg_covar.is_finite() && self.reg_covar >= 0.0) {
            return bad(format!("reg_covar must be ≥ 0, got {}", self.reg_covar));
        }
        if self.max_iter == 0 {
            return bad("max_iter must be at least 1".into());
        }
        if self.n_init == 0 {
            return bad("n_init must be at least 1".into());
        }
        if let GmmInit::Labels(labels) = &self.init {
            if let Some(&l) = labels.iter().find(|&&l| l as usize >= self.k) {
                return bad(format!("initial label {l} is not below k = {}", self.k));
            }
        }
        Ok(())
    }
}

/// A fitted Gaussian mixture.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Mixing weights (sum to 1).
    pub weights: Array1<f64>,
    /// `k × d` means.
    pub means: Array2<f64>,
    /// Covariances and their precision factors.
    pub covariances: Covariances,
    /// Whether the kept run converged before `max_iter`.
    pub converged: bool,
    /// EM iterations of the kept run.
    pub n_iter: usize,
    /// Mean log-likelihood per point at the last E-step of the kept run (scikit-learn's `lower_bound_`).
    pub lower_bound: f64,
    /// Most probable component of each training point under the final parameters.
    pub assignments: Vec<u32>,
}

impl GaussianMixture {
    /// `n × k` log responsibilities and the `n` per-point log-likelihoods, by log-sum-exp.
    pub fn log_responsibilities(&self, x: &Array2<f64>) -> (Array2<f64>, Array1<f64>) {
        self.per_row(x, |row| {
            let n = log_sum_exp(row.iter().copied());
            row.iter_mut().for_each(|v| *v -= n);
            n
        })
    }

    /// `n × k` responsibilities and the `n` per-point log-likelihoods: [`GaussianMixture::log_responsibilities`]
    /// exponentiated, with one `exp` per value instead of two (the log-sum-exp's terms, divided by their sum, are
    /// the responsibilities). EM's E-step.
    fn responsibilities(&self, x: &Array2<f64>) -> (Array2<f64>, Array1<f64>) {
        self.per_row(x, |row| {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for v in row.iter_mut() {
                // Below e^-708 (≈ 3e-308, subnormal) a term adds nothing to a sum ≥ 1, and glibc's exp takes its
                // slow path there: such a responsibility is 0.
                let t = *v - max;
                *v = if t < -708.0 { 0.0 } else { t.exp() };
                sum += *v;
            }
            row.iter_mut().for_each(|v| *v /= sum);
            max + sum.ln()
        })
    }

    /// The weighted log densities `ln πₖ + ln N(xᵢ | μₖ, Σₖ)`, each row then rewritten by `finish`, which returns
    /// the row's log-likelihood. Rows run in parallel, each with a sequential loop's arithmetic (identical results).
    fn per_row(&self, x: &Array2<f64>, finish: impl Fn(&mut [f64]) -> f64 + Sync) -> (Array2<f64>, Array1<f64>) {
        let mut weighted = self.covariances.log_gaussian_prob(x, &self.means);
        let log_weights = self.weights.mapv(f64::ln);
        let k = log_weights.len();
        let mut norm = Array1::zeros(weighted.nrows());
        let rows = weighted.as_slice_mut().expect("log_gaussian_prob returns a standard-layout array");
        rows.par_chunks_mut(k.max(1)).zip(norm.as_slice_mut().expect("owned")).for_each(|(row, n)| {
            row.iter_mut().zip(log_weights.iter()).for_each(|(v, w)| *v += w);
            *n = finish(row);
        });
        (weighted, norm)
    }

    /// Mean log-likelihood of `x` (scikit-learn's `score`).
    pub fn score(&self, x: &Array2<f64>) -> f64 {
        self.log_responsibilities(x).1.mean().unwrap_or(f64::NAN)
    }

    /// Most probable component of each row of `x`.
    pub fn predict(&self, x: &Array2<f64>) -> Vec<u32> {
        argmax_rows(&self.log_responsibilities(x).0)
    }

    /// Bayesian information criterion on `x` (lower is better), as scikit-learn's `bic`.
    pub fn bic(&self, x: &Array2<f64>) -> f64 {
        let (k, d) = self.means.dim();
        let p = self.covariances.n_parameters(k, d) + k * d + k - 1;
        -2.0 * self.score(x) * x.nrows() as f64 + p as f64 * (x.nrows() as f64).ln()
    }
}

/// Converts validated embeddings to an f64 matrix.
pub(crate) fn to_f64(emb: &Embeddings) -> Array2<f64> {
    Array2::from_shape_vec((emb.rows(), emb.dim()), emb.as_slice().iter().map(|&v| v as f64).collect())
        .expect("Embeddings guarantees rows × dim values")
}

/// Fits a Gaussian mixture to `emb` by EM.
pub fn gmm(emb: &Embeddings, cfg: &GmmConfig) -> Result<GaussianMixture> {
    cfg.validate()?;
    let n = emb.rows();
    if cfg.k > n {
        return Err(ClusterError::InvalidParams(format!("k = {} is more than the {n} points", cfg.k)));
    }
    if let GmmInit::Labels(labels) = &cfg.init {
        if labels.len() != n {
            return Err(ClusterError::Shape(format!("{} initial labels for {n} points", labels.len())));
        }
    }
    let (k, d) = (cfg.k as u128, emb.dim() as u128);
    let covariance = match cfg.covariance {
        CovarianceType::Full => d * d,
        CovarianceType::Diagonal => d,
        CovarianceType::Spherical => 1,
    };
    let need = (n as u128).saturating_mul(k).saturating_add(k.saturating_mul(covariance) * 2);
    sgm_core::memory::check(
        format!("a Gaussian mixture of {} components (groups) over {n} points of dimension {d}", cfg.k),
        need,
        8,
    )
    .map_err(sgm_core::CoreError::from)?;
    let x = to_f64(emb);
    let mut best: Option<GaussianMixture> = None;
    for run in 0..cfg.n_init {
        let labels = match &cfg.init {
            GmmInit::Labels(labels) => labels.clone(),
            GmmInit::KMeans => {
                let km = KMeansConfig {
                    k: cfg.k,
                    init: KMeansInitMethod::KMeansPlusPlus { n_runs: 1 },
                    max_iter: 300,
                    tol: 1e-4,
                    seed: cfg.seed.wrapping_add(run as u64),
                };
                kmeans(emb, &km, None)?.assignments
            }
        };
        let fit = em_run(&x, &labels, cfg)?;
        if best.as_ref().is_none_or(|b| fit.lower_bound > b.lower_bound) {
            best = Some(fit);
        }
        if matches!(cfg.init, GmmInit::Labels(_)) {
            break; // every run would be identical
        }
    }
    let mut best = best.expect("n_init ≥ 1 is validated");
    if !best.converged {
        tracing::warn!(
            k = cfg.k,
            max_iter = cfg.max_iter,
            "Gaussian mixture did not converge within max_iter; try a larger max_iter or tol, or check the data"
        );
    }
    best.assignments = best.predict(&x);
    Ok(best)
}

/// One EM run from hard initial responsibilities.
fn em_run(x: &Array2<f64>, labels: &[u32], cfg: &GmmConfig) -> Result<GaussianMixture> {
    let mut resp = Array2::zeros((x.nrows(), cfg.k));
    for (i, &l) in labels.iter().enumerate() {
        resp[[i, l as usize]] = 1.0;
    }
    let mut model = m_step(x, &resp, cfg, GaussianMixture::placeholder())?;
    let mut lower_bound = f64::NEG_INFINITY;
    for iter in 1..=cfg.max_iter {
        let previous = lower_bound;
        let (resp, norm) = model.responsibilities(x);
        lower_bound = norm.mean().expect("n ≥ 1");
        if !lower_bound.is_finite() {
            return Err(ClusterError::Numerical(format!(
                "the mean log-likelihood became {lower_bound} at EM iteration {iter}"
            )));
        }
        model = m_step(x, &resp, cfg, model)?;
        model.lower_bound = lower_bound;
        model.n_iter = iter;
        if (lower_bound - previous).abs() < cfg.tol {
            model.converged = true;
            break;
        }
    }
    Ok(model)
}

/// The M-step: weights, means and covariances from responsibilities (scikit-learn adds `10 ε` to each `n_k` so
/// that an empty component does not divide by zero).
fn m_step(x: &Array2<f64>, resp: &Array2<f64>, cfg: &GmmConfig, previous: GaussianMixture) -> Result<GaussianMixture> {
    let nk = resp.sum_axis(Axis(0)) + 10.0 * f64::EPSILON;
    let means = crate::matmul::dot(resp.t(), x.view()) / nk.view().insert_axis(Axis(1));
    let covariances = Covariances::estimate(cfg.covariance, x, resp, &nk, &means, cfg.reg_covar)?;
    let weights = &nk / nk.sum();
    Ok(GaussianMixture { weights, means, covariances, ..previous })
}

impl GaussianMixture {
    fn placeholder() -> Self {
        Self {
            weights: Array1::zeros(0),
            means: Array2::zeros((0, 0)),
            covariances: Covariances::Spherical { covariances: Array1::zeros(0), precisions_chol: Array1::zeros(0) },
            converged: false,
            n_iter: 0,
            lower_bound: f64::NEG_INFINITY,
            assignments: Vec::new(),
        }
    }
}

/// `ln Σ exp(vᵢ)` without overflow or underflow.
pub(crate) fn log_sum_exp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + v.map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Index of the largest value of each row (first on ties).
fn argmax_rows(a: &Array2<f64>) -> Vec<u32> {
    a.rows()
        .into_iter()
        .map(|r| {
            r.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (j, &v)| if v > b.1 { (j, v) } else { b }).0 as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_e_step_equals_the_exponentiated_log_responsibilities() {
        // Three separated groups; the E-step is then taken on the data with every 7th point moved far away (log
        // densities far below -745, where exp of the unshifted value underflows and only the shifted form works).
        let (n, d) = (60, 3);
        let values: Vec<f32> = (0..n * d)
            .map(|i| {
                let (r, j) = (i / d, i % d);
                (r % 3) as f32 * 5.0 + ((i * 7919) % 13) as f32 / 13.0 + j as f32 * 0.1
            })
            .collect();
        let emb = Embeddings::new(values, n, d, "blobs").unwrap();
        for covariance in [CovarianceType::Diagonal, CovarianceType::Full, CovarianceType::Spherical] {
            let init = GmmInit::Labels((0..n).map(|r| (r % 3) as u32).collect());
            let g = gmm(&emb, &GmmConfig { init, max_iter: 3, ..GmmConfig::new(3, covariance, 1) }).unwrap();
            let mut x = to_f64(&emb);
            x.rows_mut().into_iter().step_by(7).for_each(|mut r| r += 60.0);
            let (log_resp, log_norm) = g.log_responsibilities(&x);
            let (resp, norm) = g.responsibilities(&x);
            assert!(log_norm.iter().any(|&v| v < -1000.0), "{covariance:?}: the far points are far");
            for (a, b) in norm.iter().zip(log_norm.iter()) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{covariance:?}: {a} vs {b}");
            }
            for (r, l) in resp.iter().zip(log_resp.iter()) {
                assert!((r - l.exp()).abs() <= 1e-12, "{covariance:?}: {r} vs {}", l.exp());
            }
            assert!(resp.iter().any(|&r| r == 0.0), "{covariance:?}: some responsibilities underflow to 0");
            for row in resp.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-12);
            }
        }
    }
}
