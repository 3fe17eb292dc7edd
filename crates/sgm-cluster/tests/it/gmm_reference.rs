//! Gaussian mixtures against scikit-learn 1.9.1 from the same start, and greedy k-means++ against scikit-learn's
//! k-means++ on the same blobs. The inputs are closed-form (no RNG), so Python and Rust see identical numbers.
//!
//! ```python
//! import numpy as np
//! from sklearn.mixture import GaussianMixture
//! from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters, _compute_precision_cholesky
//! def data(n, d, k):
//!     i = np.arange(n)[:, None]; j = np.arange(d)[None, :]
//!     g = np.arange(n) % k
//!     centre = 1.5 * np.cos(g[:, None] * 2.1 + j * 1.3)
//!     scale = 0.8 + 0.4 * np.cos(g[:, None] + j)            # a different shape per group
//!     x = (centre + scale * np.sin(1.7 * i * (j + 1) + 0.4 * j)).astype(np.float32).astype(np.float64)
//!     init = (g + (np.arange(n) % 5 == 0)) % k            # every 5th point starts in the wrong group
//!     return x, g, init
//! X, g, init = data(240, 4, 3)
//! resp = np.eye(3)[init]
//! for cov in ["full", "diag", "spherical"]:
//!     w, m, c = _estimate_gaussian_parameters(X, resp, 1e-6, cov)
//!     w /= w.sum()
//!     pc = _compute_precision_cholesky(c, cov)
//!     prec = np.einsum("kij,klj->kil", pc, pc) if cov == "full" else pc ** 2
//!     gm = GaussianMixture(3, covariance_type=cov, tol=1e-3, reg_covar=1e-6, max_iter=100,
//!                          weights_init=w, means_init=m, precisions_init=prec).fit(X)
//!     print(cov, gm.lower_bound_, gm.n_iter_, gm.converged_, gm.score(X), gm.bic(X))
//!     print(gm.weights_, gm.means_[0], gm.covariances_[0])
//! # full      -3.66123387440434   6 True -3.661233874404339 1998.5403723411303
//! # diag      -3.663103029628429  4 True -3.663103029628112 1900.7860662283856
//! # spherical -4.136212971661235  4 True -4.136212971661082 2078.5530880941333
//! gm = GaussianMixture(3, covariance_type="full", max_iter=2, weights_init=w, means_init=m).fit(X)
//! # ConvergenceWarning; converged_ False, n_iter_ 2
//!
//! from sklearn.cluster import KMeans
//! def blobs(n, d, k):
//!     i = np.arange(n)[:, None]; j = np.arange(d)[None, :]
//!     g = (np.arange(n) * 7) % k
//!     centre = 10.0 * (((g[:, None] * 37 % 256) >> j) & 1)  # 40 corners of a cube
//!     return (centre + 0.8 * np.sin(2.3 * i * (j + 1) + 0.5 * j)).astype(np.float32).astype(np.float64), g
//! X, g = blobs(2000, 8, 40)
//! KMeans(40, init="k-means++", n_init=10, random_state=0).fit(X).inertia_   # 5114.074933733968 (seeds 0, 1, 2)
//! ```

use sgm_cluster::{gmm, kmeans, CovarianceType, Covariances, GmmConfig, GmmInit, KMeansConfig, KMeansInitMethod};
use sgm_core::{nmi, Embeddings};

fn mixture_data(n: usize, d: usize, k: usize) -> (Embeddings, Vec<u32>, Vec<u32>) {
    let mut x = Vec::with_capacity(n * d);
    let (mut truth, mut init) = (Vec::new(), Vec::new());
    for i in 0..n {
        let g = i % k;
        for j in 0..d {
            let (gf, jf) = (g as f64, j as f64);
            let centre = 1.5 * (gf * 2.1 + jf * 1.3).cos();
            let scale = 0.8 + 0.4 * (gf + jf).cos();
            x.push((centre + scale * (1.7 * i as f64 * (jf + 1.0) + 0.4 * jf).sin()) as f32);
        }
        truth.push(g as u32);
        init.push(((g + usize::from(i % 5 == 0)) % k) as u32);
    }
    (Embeddings::new(x, n, d, "mixture formula").unwrap(), truth, init)
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol * b.abs().max(1.0), "{what}: sgm {a} vs scikit-learn {b}");
}

#[test]
fn em_matches_sklearn_for_every_covariance_type() {
    let (emb, truth, init) = mixture_data(240, 4, 3);
    let x = ndarray::Array2::from_shape_vec((240, 4), emb.as_slice().iter().map(|&v| v as f64).collect()).unwrap();
    // (type, lower bound, n_iter, bic, weight 0, mean 0, first covariance entries)
    let cases = [
        (
            CovarianceType::Full,
            -3.66123387440434,
            6,
            1998.5403723411303,
            0.3333333709623057,
            1.502056914873998,
            [0.7172508039021908, 0.001907986176641819],
        ),
        (
            CovarianceType::Diagonal,
            -3.663103029628429,
            4,
            1900.7860662283856,
            0.33333336604607583,
            1.502056938002972,
            [0.7172507773149633, 0.5209486978985362],
        ),
        (
            CovarianceType::Spherical,
            -4.136212971661235,
            4,
            2078.5530880941333,
            0.33333458181307074,
            1.5020500905052885,
            [0.379262099222045, 0.379262099222045],
        ),
    ];
    for (kind, lower_bound, n_iter, bic, w0, m00, cov) in cases {
        let cfg = GmmConfig { init: GmmInit::Labels(init.clone()), ..GmmConfig::new(3, kind, 0) };
        let g = gmm(&emb, &cfg).unwrap();
        let what = format!("{kind:?}");
        close(g.lower_bound, lower_bound, 1e-9, &format!("{what} lower bound"));
        assert_eq!(g.n_iter, n_iter, "{what} iterations");
        assert!(g.converged);
        close(g.bic(&x), bic, 1e-9, &format!("{what} BIC"));
        close(g.weights[0], w0, 1e-9, &format!("{what} weight"));
        close(g.means[[0, 0]], m00, 1e-9, &format!("{what} mean"));
        let got = match &g.covariances {
            Covariances::Full { covariances, .. } => [covariances[[0, 0, 0]], covariances[[0, 0, 1]]],
            Covariances::Diagonal { covariances, .. } => [covariances[[0, 0]], covariances[[0, 1]]],
            Covariances::Spherical { covariances, .. } => [covariances[0], covariances[0]],
        };
        close(got[0], cov[0], 1e-7, &format!("{what} covariance"));
        close(got[1], cov[1], 1e-7, &format!("{what} covariance"));
        assert!(nmi(&truth, &g.assignments).unwrap() > 0.9, "{what} recovers the groups");
    }
}

#[test]
fn max_iter_is_a_warning_and_a_flag_not_an_error() {
    let (emb, _, init) = mixture_data(240, 4, 3);
    let cfg = GmmConfig { max_iter: 2, init: GmmInit::Labels(init), ..GmmConfig::new(3, CovarianceType::Full, 0) };
    let g = gmm(&emb, &cfg).unwrap();
    assert!(!g.converged);
    assert_eq!(g.n_iter, 2);
}

#[test]
fn a_collapsed_component_is_regularised_not_fatal() {
    // 30 spread points plus 10 copies of one point: that component's covariance is exactly zero before reg_covar.
    let mut x: Vec<f32> = (0..30).flat_map(|i| [(i as f32 * 0.7).sin() * 3.0, (i as f32 * 1.3).cos() * 3.0]).collect();
    x.extend(std::iter::repeat_n([10.0f32, 10.0], 10).flatten());
    let emb = Embeddings::new(x, 40, 2, "collapsed").unwrap();
    for kind in [CovarianceType::Full, CovarianceType::Diagonal, CovarianceType::Spherical] {
        let g = gmm(&emb, &GmmConfig { n_init: 3, ..GmmConfig::new(2, kind, 5) }).unwrap();
        assert!(g.lower_bound.is_finite(), "{kind:?}");
        let collapsed = g.assignments[35] as usize;
        assert!(g.assignments[30..].iter().all(|&a| a as usize == collapsed));
        // reg_covar is all that keeps the copies' variance above zero.
        let var = match &g.covariances {
            Covariances::Full { covariances, .. } => covariances[[collapsed, 0, 0]],
            Covariances::Diagonal { covariances, .. } => covariances[[collapsed, 0]],
            Covariances::Spherical { covariances, .. } => covariances[collapsed],
        };
        assert!(var > 0.0 && var < 1e-5, "{kind:?}: variance {var}");
    }
}

#[test]
fn gmm_is_seeded_and_several_inits_never_lower_the_bound() {
    let (emb, _, _) = mixture_data(240, 4, 3);
    let one = gmm(&emb, &GmmConfig::new(3, CovarianceType::Diagonal, 11)).unwrap();
    assert_eq!(one, gmm(&emb, &GmmConfig::new(3, CovarianceType::Diagonal, 11)).unwrap());
    let five = gmm(&emb, &GmmConfig { n_init: 5, ..GmmConfig::new(3, CovarianceType::Diagonal, 11) }).unwrap();
    assert!(five.lower_bound >= one.lower_bound);
    assert!(gmm(&emb, &GmmConfig { k: 0, ..GmmConfig::new(3, CovarianceType::Full, 0) }).is_err());
    let bad = GmmConfig { init: GmmInit::Labels(vec![7; 240]), ..GmmConfig::new(3, CovarianceType::Full, 0) };
    assert!(gmm(&emb, &bad).unwrap_err().to_string().contains("initial label 7"));
}

fn cube_blobs(n: usize, d: usize, k: usize) -> Embeddings {
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let g = (i * 7) % k;
        for j in 0..d {
            let centre = 10.0 * (((g * 37 % 256) >> j) & 1) as f64;
            x.push((centre + 0.8 * (2.3 * i as f64 * (j + 1) as f64 + 0.5 * j as f64).sin()) as f32);
        }
    }
    Embeddings::new(x, n, d, "cube blobs").unwrap()
}

#[test]
fn greedy_kmeans_plus_plus_matches_sklearn_inertia() {
    const SKLEARN_INERTIA: f64 = 5114.074933733968; // KMeans(40, n_init=10), seeds 0, 1 and 2 alike
    let emb = cube_blobs(2000, 8, 40);
    for seed in 0..3 {
        let cfg = KMeansConfig {
            k: 40,
            init: KMeansInitMethod::KMeansPlusPlus { n_runs: 10 },
            max_iter: 300,
            tol: 1e-4,
            seed,
        };
        let ours = kmeans(&emb, &cfg, None).unwrap().inertia;
        close(ours, SKLEARN_INERTIA, 1e-9, &format!("seed {seed} inertia"));
    }
    // linfa's own k-means++ with 10 runs on the same data, for the record (it re-uses one initialisation).
    use linfa::prelude::*;
    use rand_xoshiro::rand_core::SeedableRng;
    let x = ndarray::Array2::from_shape_vec((2000, 8), emb.as_slice().iter().map(|&v| v as f64).collect()).unwrap();
    let model = linfa_clustering::KMeans::params_with_rng(40, rand_xoshiro::Xoshiro256Plus::seed_from_u64(0))
        .n_runs(10)
        .fit(&linfa::DatasetBase::from(x))
        .unwrap();
    // linfa's `inertia()` is the mean squared distance; on these well-separated blobs it finds the optimum too.
    println!("linfa k-means++ inertia {} vs scikit-learn {SKLEARN_INERTIA}", model.inertia() * 2000.0);
}
