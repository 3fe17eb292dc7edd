//! k-means with the paper's protocol as the default.
//!
//! The paper (Table 1) runs scikit-learn's k-means with k = number of classes, one random sample of each class as
//! the initial centres (so cluster `i` aligns with class `i`), `n_init = 1`, `max_iter = 3000` and `tol = 1e-3`.
//! [`kmeans`] runs scikit-learn's Lloyd loop (the `lloyd` module): it stops when the labels no longer change or the
//! summed squared centre shift is at most `tol · mean_j Var(X[:, j])`, and the final labels are those of the final
//! centres. [`kmeans_linfa`] runs linfa-clustering's variant from the same initialisations.

use crate::error::{ClusterError, Result};
use crate::kmeans_pp::greedy_kmeans_plus_plus;
use crate::lloyd::{inertia, lloyd};
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sgm_core::Embeddings;

/// How the centres are initialised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KMeansInitMethod {
    /// One random sample of each class (the paper's): needs labels and k = number of classes present.
    PerClass,
    /// Greedy k-means++ (scikit-learn's), `n_runs` independently seeded runs keeping the lowest inertia.
    KMeansPlusPlus {
        /// Independent runs.
        n_runs: usize,
    },
    /// Given initial centres, `k × dim` row-major.
    Given {
        /// The centres.
        centres: Vec<f64>,
    },
}

/// k-means parameters, validated by [`KMeansConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KMeansConfig {
    /// Number of clusters.
    pub k: usize,
    /// Initialisation.
    pub init: KMeansInitMethod,
    /// Iteration cap (the paper: 3000).
    pub max_iter: u64,
    /// scikit-learn-style relative tolerance (the paper: 1e-3).
    pub tol: f64,
    /// Seed of every random choice.
    pub seed: u64,
}

impl KMeansConfig {
    /// The paper's protocol for `k` classes.
    pub fn paper(k: usize, seed: u64) -> Self {
        Self { k, init: KMeansInitMethod::PerClass, max_iter: 3000, tol: 1e-3, seed }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(ClusterError::InvalidParams("k must be at least 1".into()));
        }
        if self.max_iter == 0 {
            return Err(ClusterError::InvalidParams("max_iter must be at least 1".into()));
        }
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(ClusterError::InvalidParams(format!("tol must be > 0, got {}", self.tol)));
        }
        if let KMeansInitMethod::KMeansPlusPlus { n_runs: 0 } = self.init {
            return Err(ClusterError::InvalidParams("n_runs must be at least 1".into()));
        }
        Ok(())
    }
}

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Cluster of each point.
    pub assignments: Vec<u32>,
    /// `k × dim` centres, row-major.
    pub centroids: Vec<f64>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
}

/// Runs k-means on `emb` with Lloyd's algorithm as scikit-learn's (the `lloyd` module). `labels` are required
/// by [`KMeansInitMethod::PerClass`] and ignored otherwise.
pub fn kmeans(emb: &Embeddings, cfg: &KMeansConfig, labels: Option<&[u32]>) -> Result<Clustering> {
    fit(emb, cfg, labels, Engine::Lloyd)
}

/// The same as [`kmeans`] through linfa-clustering's `KMeans`, whose update counts the old centre as one more
/// member of its cluster (m_k-means) and which stops when the Euclidean norm of the centre shift is below
/// `sqrt(tol · mean variance)`. Kept as the benchmark's naive reference and a cross-check.
pub fn kmeans_linfa(emb: &Embeddings, cfg: &KMeansConfig, labels: Option<&[u32]>) -> Result<Clustering> {
    fit(emb, cfg, labels, Engine::Linfa)
}

/// Which Lloyd loop runs.
#[derive(Clone, Copy)]
enum Engine {
    Lloyd,
    Linfa,
}

fn fit(emb: &Embeddings, cfg: &KMeansConfig, labels: Option<&[u32]>, engine: Engine) -> Result<Clustering> {
    cfg.validate()?;
    let (n, d) = (emb.rows(), emb.dim());
    if cfg.k > n {
        return Err(ClusterError::InvalidParams(format!("k = {} is more than the {n} points", cfg.k)));
    }
    let x = Array2::from_shape_vec((n, d), emb.as_slice().iter().map(|&v| v as f64).collect())
        .expect("Embeddings guarantees rows × dim values");
    let mean_var = x.var_axis(ndarray::Axis(0), 0.0).mean().unwrap_or(0.0);

    let inits: Vec<Array2<f64>> = match cfg.init {
        KMeansInitMethod::PerClass => {
            let labels = labels
                .ok_or_else(|| ClusterError::InvalidParams("per-class initialisation needs the labels".into()))?;
            vec![per_class_centres(&x, labels, cfg.k, cfg.seed)?]
        }
        KMeansInitMethod::Given { ref centres } => {
            vec![Array2::from_shape_vec((cfg.k, d), centres.clone()).map_err(|_| {
                ClusterError::Shape(format!("{} initial centre values for k = {} × dim {d}", centres.len(), cfg.k))
            })?]
        }
        // Each run draws its own greedy k-means++ centres from its own stream (linfa's `n_runs` reuses one).
        KMeansInitMethod::KMeansPlusPlus { n_runs } => (0..n_runs)
            .map(|run| {
                let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
                rng.set_stream(run as u64);
                greedy_kmeans_plus_plus(&x, cfg.k, &mut rng)
            })
            .collect(),
    };
    let mut best: Option<Clustering> = None;
    for init in inits {
        let run = match engine {
            Engine::Lloyd => {
                let fit = lloyd(x.view(), init, cfg.max_iter, cfg.tol * mean_var);
                tracing::debug!(n_iter = fit.n_iter, inertia = fit.inertia, "k-means run");
                Clustering {
                    assignments: fit.labels,
                    centroids: fit.centres.iter().copied().collect(),
                    inertia: fit.inertia,
                }
            }
            Engine::Linfa => linfa_run(&x, init, cfg, mean_var)?,
        };
        // The lowest inertia wins; the earlier run among equals, as scikit-learn.
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    Ok(best.expect("at least one initialisation"))
}

/// One linfa-clustering run from the given centres.
fn linfa_run(x: &Array2<f64>, init: Array2<f64>, cfg: &KMeansConfig, mean_var: f64) -> Result<Clustering> {
    // A constant data set has zero variance; any positive tolerance then stops after the first update.
    let tolerance = (cfg.tol * mean_var).sqrt().max(f64::MIN_POSITIVE);
    let model = KMeans::params(cfg.k)
        .init_method(KMeansInit::Precomputed(init))
        .n_runs(1)
        .max_n_iterations(cfg.max_iter)
        .tolerance(tolerance)
        .fit(&DatasetBase::from(x.clone()))?;
    let assignments: Vec<u32> = model.predict(x).iter().map(|&c| c as u32).collect();
    let centres = model.centroids().as_standard_layout().into_owned();
    let inertia = inertia(x.view(), &centres, &assignments);
    Ok(Clustering { assignments, centroids: centres.iter().copied().collect(), inertia })
}

/// One random sample of each class, class `i` (in ascending label order) giving centre `i`.
fn per_class_centres(x: &Array2<f64>, labels: &[u32], k: usize, seed: u64) -> Result<Array2<f64>> {
    if labels.len() != x.nrows() {
        return Err(ClusterError::Shape(format!("{} labels for {} points", labels.len(), x.nrows())));
    }
    let mut classes: Vec<u32> = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    if classes.len() != k {
        return Err(ClusterError::InvalidParams(format!(
            "per-class initialisation needs k = number of classes ({}), got k = {k}",
            classes.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut init = Array2::zeros((k, x.ncols()));
    for (i, &c) in classes.iter().enumerate() {
        let members: Vec<usize> = (0..labels.len()).filter(|&j| labels[j] == c).collect();
        let &pick = members.choose(&mut rng).expect("a present class has members");
        init.row_mut(i).assign(&x.row(pick));
    }
    Ok(init)
}
