//! # sgm-cluster
//!
//! Clustering of sgm embeddings, on top of linfa: k-means with the paper's per-class initialisation (Table 1) or
//! k-means++. Later layers add Gaussian mixtures, the sub-class splitting of the paper's Algorithm 2 and medoids.
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
//! # Ok(()) }
//! ```

pub mod error;
pub mod kmeans;

pub use error::{ClusterError, Result};
pub use kmeans::{kmeans, Clustering, KMeansConfig, KMeansInitMethod};
