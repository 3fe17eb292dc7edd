//! Timing of k-means, GMMs and t-SNE on 25,000 × 64 formula blobs (40 centres), to compare against scikit-learn
//! on the same data (the Python beside it in the module docs of `tests/it/gmm_reference.rs` builds the same blobs;
//! the script that timed scikit-learn is in this file's comments).
//!
//! ```text
//! cargo run -p sgm-cluster --example speed [--release]
//! ```
//!
//! ```python
//! import numpy as np, time
//! from sklearn.cluster import KMeans; from sklearn.mixture import GaussianMixture; from sklearn.manifold import TSNE
//! n, d, k = 25000, 64, 40
//! i = np.arange(n)[:, None]; j = np.arange(d)[None, :]; g = (np.arange(n) * 7) % k
//! X = (4.0 * np.cos(g[:, None] * 1.3 + j * 0.7 + g[:, None] * j * 0.11)
//!      + np.sin(2.3 * i * (j + 1) + 0.5 * j)).astype(np.float32).astype(np.float64)
//! t = time.time(); km = KMeans(k, n_init=3, random_state=0).fit(X); print("kmeans", time.time() - t, km.inertia_)
//! for cov in ["diag", "full"]:
//!     t = time.time(); gm = GaussianMixture(k, covariance_type=cov, random_state=0).fit(X)
//!     print(cov, time.time() - t, gm.lower_bound_, gm.n_iter_)
//! t = time.time(); TSNE(2, perplexity=30, init="pca", random_state=0).fit_transform(X[:4000]); print("tsne", time.time() - t)
//! ```

use sgm_cluster::{
    gmm, kmeans, kmeans_linfa, tsne_2d, CovarianceType, GmmConfig, KMeansConfig, KMeansInitMethod, TsneConfig,
};
use sgm_core::Embeddings;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, d, k) = (25_000usize, 64usize, 40usize);
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let g = ((i * 7) % k) as f64;
        for j in 0..d {
            let jf = j as f64;
            let v = 4.0 * (g * 1.3 + jf * 0.7 + g * jf * 0.11).cos() + (2.3 * i as f64 * (jf + 1.0) + 0.5 * jf).sin();
            x.push(v as f32);
        }
    }
    let emb = Embeddings::new(x, n, d, "speed blobs")?;
    let t = Instant::now();
    let km =
        KMeansConfig { k, init: KMeansInitMethod::KMeansPlusPlus { n_runs: 3 }, max_iter: 300, tol: 1e-4, seed: 0 };
    let c = kmeans(&emb, &km, None)?;
    println!("kmeans n_init 3: {:.2} s, inertia {:.1}", t.elapsed().as_secs_f64(), c.inertia);
    let t = Instant::now();
    let c = kmeans_linfa(&emb, &km, None)?;
    println!("kmeans_linfa n_init 3: {:.2} s, inertia {:.1}", t.elapsed().as_secs_f64(), c.inertia);
    for cov in [CovarianceType::Diagonal, CovarianceType::Full] {
        let t = Instant::now();
        let g = gmm(&emb, &GmmConfig::new(k, cov, 0))?;
        println!(
            "gmm {cov:?}: {:.2} s, lower bound {:.4}, {} iterations, converged {}",
            t.elapsed().as_secs_f64(),
            g.lower_bound,
            g.n_iter,
            g.converged
        );
    }
    let t = Instant::now();
    let y = tsne_2d(&emb, &TsneConfig::default())?;
    println!("t-SNE of {} points: {:.2} s", y.len() / 2, t.elapsed().as_secs_f64());
    Ok(())
}
