//! k-means against scikit-learn 1.9.1 from the same initial centres.
//!
//! ```python
//! import numpy as np
//! from sklearn.cluster import KMeans
//! def data(n, d, phase, nclass):
//!     i = np.arange(n)[:,None]; j = np.arange(d)[None,:]
//!     lab = (np.arange(n) * 7 % nclass)
//!     off = np.cos(lab[:,None] * 1.7 + j * 0.9) * 0.6
//!     x = (off + np.sin(1.3*i*(j+1) + 0.7*j + phase)).astype(np.float32)
//!     return x, lab
//! X, y = data(300, 6, 0.0, 5); X = X.astype(np.float64)
//! km = KMeans(n_clusters=5, init=X[[0,1,2,3,4]], n_init=1, max_iter=3000, tol=1e-3).fit(X)
//! print(km.inertia_, km.n_iter_, km.labels_.tolist())   # 685.7452483657789, 8 iterations
//! # Two initial centres repeated: clusters 10 and 11 start empty and take the farthest points.
//! init = X[[0,1,2,3,4,5,6,7,8,9,0,1]]
//! km = KMeans(n_clusters=12, init=init, n_init=1, max_iter=3000, tol=1e-3).fit(X)
//! print(repr(km.inertia_), km.n_iter_, np.bincount(km.labels_))
//! # 414.7768970317974 8 [35 39 25 35 12 27 31 31 17 18 18 12]
//! km = KMeans(n_clusters=12, init=init, n_init=1, max_iter=1, tol=1e-3).fit(X)
//! print(repr(km.inertia_))   # 541.93247900814
//! ```

use sgm_cluster::{kmeans, kmeans_linfa, KMeansConfig, KMeansInitMethod};
use sgm_core::{nmi, Embeddings};

fn data(n: usize, d: usize, phase: f64, nclass: usize) -> (Embeddings, Vec<u32>) {
    let (x, labels) = sgm_core::testing::formula_data(n, d, phase, nclass);
    (Embeddings::new(x, n, d, "formula data").unwrap(), labels)
}

const SKLEARN_LABELS: [u32; 300] = [
    0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 1, 0, 2, 1, 2, 1, 1, 2, 1, 3, 3, 1, 2, 1, 3, 3, 0, 2, 1, 3, 4, 0, 2, 1, 0,
    4, 0, 2, 1, 0, 4, 0, 2, 1, 1, 3, 2, 2, 1, 3, 3, 0, 2, 3, 3, 1, 0, 2, 3, 4, 0, 0, 2, 1, 4, 2, 2, 2, 1, 4, 3, 2, 0,
    1, 3, 3, 0, 0, 1, 3, 3, 0, 3, 1, 0, 2, 0, 0, 4, 0, 2, 0, 0, 4, 0, 2, 0, 0, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 1, 2, 2,
    0, 3, 1, 2, 3, 0, 4, 0, 2, 3, 0, 4, 0, 2, 3, 0, 4, 3, 2, 3, 1, 3, 3, 2, 3, 1, 3, 1, 2, 3, 3, 0, 1, 2, 3, 4, 0, 1,
    2, 3, 4, 0, 1, 2, 1, 0, 2, 1, 2, 1, 1, 2, 1, 3, 3, 1, 2, 1, 3, 3, 0, 2, 1, 3, 4, 0, 2, 1, 0, 4, 0, 2, 1, 0, 4, 0,
    2, 1, 1, 3, 2, 2, 1, 3, 3, 0, 2, 3, 3, 1, 0, 2, 3, 4, 0, 0, 2, 1, 4, 2, 2, 2, 1, 4, 3, 2, 0, 1, 3, 3, 0, 0, 1, 3,
    3, 0, 3, 1, 0, 2, 0, 0, 4, 0, 2, 0, 0, 4, 0, 2, 0, 0, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 1, 2, 2, 0, 3, 1, 2, 3, 0, 4,
    0, 2, 3, 0, 4, 0, 2, 3, 0, 4, 3, 2, 3, 1, 3, 3, 2, 3, 1, 3, 1, 2, 3, 3, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4,
];

#[test]
fn kmeans_matches_sklearn_from_the_same_centres() {
    let (emb, _) = data(300, 6, 0.0, 5);
    let centres: Vec<f64> = emb.as_slice()[..5 * 6].iter().map(|&v| v as f64).collect();
    let cfg = KMeansConfig { init: KMeansInitMethod::Given { centres }, ..KMeansConfig::paper(5, 0) };
    let c = kmeans(&emb, &cfg, None).unwrap();
    assert_eq!(c.assignments, SKLEARN_LABELS);
    assert!((c.inertia - 685.7452483657789).abs() < 1e-6, "inertia {}", c.inertia);
}

#[test]
fn paper_init_aligns_clusters_with_classes_and_is_seeded() {
    let (emb, labels) = data(300, 6, 0.0, 5);
    let a = kmeans(&emb, &KMeansConfig::paper(5, 7), Some(&labels)).unwrap();
    let b = kmeans(&emb, &KMeansConfig::paper(5, 7), Some(&labels)).unwrap();
    assert_eq!(a, b);
    assert!(nmi(&labels, &a.assignments).unwrap() > 0.0);
    // k must equal the number of classes for the per-class initialisation.
    let err = kmeans(&emb, &KMeansConfig::paper(4, 7), Some(&labels)).unwrap_err().to_string();
    assert!(err.contains("k = number of classes (5)"), "{err}");
    assert!(kmeans(&emb, &KMeansConfig::paper(5, 7), None).is_err());
}

#[test]
fn kmeans_plus_plus_is_seeded() {
    let (emb, _) = data(300, 6, 0.0, 5);
    let cfg = KMeansConfig { init: KMeansInitMethod::KMeansPlusPlus { n_runs: 3 }, ..KMeansConfig::paper(5, 3) };
    let a = kmeans(&emb, &cfg, None).unwrap();
    assert_eq!(a, kmeans(&emb, &cfg, None).unwrap());
    assert_eq!(a.centroids.len(), 5 * 6);
}

/// Rows 0–9 then 0 and 1 again as the initial centres of 12 clusters.
fn repeated_centres(emb: &Embeddings) -> Vec<f64> {
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
        .iter()
        .flat_map(|&r| emb.as_slice()[r * 6..(r + 1) * 6].iter().map(|&v| v as f64))
        .collect()
}

#[test]
fn empty_clusters_are_refilled_as_sklearn_does() {
    let (emb, _) = data(300, 6, 0.0, 5);
    let cfg = KMeansConfig {
        init: KMeansInitMethod::Given { centres: repeated_centres(&emb) },
        ..KMeansConfig::paper(12, 0)
    };
    let c = kmeans(&emb, &cfg, None).unwrap();
    assert!((c.inertia - 414.7768970317974).abs() < 1e-6, "inertia {}", c.inertia);
    let mut sizes = vec![0; 12];
    c.assignments.iter().for_each(|&a| sizes[a as usize] += 1);
    assert_eq!(sizes, [35, 39, 25, 35, 12, 27, 31, 31, 17, 18, 18, 12]);

    // One iteration: the labels are re-assigned to the updated centres before the inertia is measured.
    let one = kmeans(&emb, &KMeansConfig { max_iter: 1, ..cfg }, None).unwrap();
    assert!((one.inertia - 541.93247900814).abs() < 1e-6, "inertia {}", one.inertia);
}

#[test]
fn linfa_engine_agrees_on_separated_groups() {
    // Eight tight, well-separated groups: both Lloyd variants must find them exactly.
    let (n, d) = (400, 5);
    let x: Vec<f32> = (0..n * d)
        .map(|v| ((v / d) % 8) as f32 * 10.0 * ((v % d) as f32 + 1.0).sqrt() + ((v as f32) * 0.77).sin() * 0.1)
        .collect();
    let emb = Embeddings::new(x, n, d, "groups").unwrap();
    let truth: Vec<u32> = (0..n as u32).map(|i| i % 8).collect();
    let cfg = KMeansConfig { init: KMeansInitMethod::KMeansPlusPlus { n_runs: 4 }, ..KMeansConfig::paper(8, 5) };
    let ours = kmeans(&emb, &cfg, None).unwrap();
    let linfa = kmeans_linfa(&emb, &cfg, None).unwrap();
    assert_eq!(nmi(&truth, &ours.assignments).unwrap(), 1.0);
    assert_eq!(nmi(&truth, &linfa.assignments).unwrap(), 1.0);
    // linfa's update counts the old centre as a member, so its centres stop a little short of the cluster means.
    assert!(ours.inertia <= linfa.inertia, "{} vs {}", ours.inertia, linfa.inertia);
    assert!(linfa.inertia - ours.inertia < 1e-3 * ours.inertia, "{} vs {}", ours.inertia, linfa.inertia);
}
