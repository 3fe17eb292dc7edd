//! # sgm-cluster
//!
//! Clustering of sgm embeddings: k-means with the paper's per-class initialisation (Table 1) or greedy k-means++
//! (several seeded runs, the best kept), run by scikit-learn's Lloyd loop on blocked matrix products (linfa's
//! k-means stays as [`kmeans_linfa`]), and Gaussian mixtures fitted by EM in f64 with full, diagonal or spherical
//! covariances and linfa's Cholesky (both checked against scikit-learn in `tests/`).
//!
//! ## Tutorial
//!
//! ```
//! use sgm_cluster::{kmeans, KMeansConfig};
//! use sgm_core::{nmi, Embeddings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Three tight groups of points, labelled by group.
//! let centres = [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)];
//! let mut x = Vec::new();
//! let mut labels = Vec::new();
//! for i in 0..30 {
//!     let (cx, cy) = centres[i % 3];
//!     x.extend([cx + (i as f32 * 0.37).sin(), cy + (i as f32 * 0.91).cos()]);
//!     labels.push((i % 3) as u32);
//! }
//! let emb = Embeddings::new(x, 30, 2, "points")?;
//!
//! // The paper's protocol: k = number of classes, one random sample per class as the initial centres.
//! let clustering = kmeans(&emb, &KMeansConfig::paper(3, 1), Some(&labels))?;
//! assert_eq!(clustering.assignments, labels); // cluster i is aligned with class i
//! assert_eq!(nmi(&labels, &clustering.assignments)?, 1.0);
//!
//! // A Gaussian mixture with diagonal covariances, three seeded initialisations, the best kept.
//! use sgm_cluster::{gmm, CovarianceType, GmmConfig};
//! let mixture = gmm(&emb, &GmmConfig { n_init: 3, ..GmmConfig::new(3, CovarianceType::Diagonal, 1) })?;
//! assert!(mixture.converged);
//! assert_eq!(nmi(&labels, &mixture.assignments)?, 1.0);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod audit;
pub mod error;
pub mod gmm;
pub mod groups;
pub mod kmeans;
pub mod kmeans_pp;
mod lloyd;
mod matmul;
pub mod subclasses;
pub mod tsne;

pub use audit::{audit_labels, Suspect};
pub use error::{ClusterError, Result};
pub use gmm::{gmm, CovarianceType, Covariances, GaussianMixture, GmmConfig, GmmInit};
pub use groups::{fit_groups, groups_with_medoids, Group, GroupFit, GroupMethod, GroupingConfig};
pub use kmeans::{kmeans, kmeans_linfa, Clustering, KMeansConfig, KMeansInitMethod};
pub use kmeans_pp::greedy_kmeans_plus_plus;
pub use subclasses::{
    cluster_within_classes, relabel_contiguous, split_subclasses, subclasses_per_class, within_class_nmi, SplitMethod,
};
pub use tsne::{pca_init, tsne_2d, TsneConfig};
