//! # sgm-core
//!
//! The mathematics of sgm: the Structured Gaussian Manifold loss of *Deep Metric Structured Learning for Facial
//! Expression Recognition* (Marrero Fernandez et al.), its triplet and softmax baselines, exact kNN search, and the
//! paper's evaluation metrics.
//!
//! - [`loss`]: [`SgmLoss`], [`TripletLoss`] with in-batch [`Miner`]s, weighted [`CrossEntropyLoss`];
//! - [`knn`]: exact chunked brute-force kNN and kNN classification;
//! - [`metrics`]: classification report (with the paper's F1), NMI/AMI, Recall@K/Acc@K;
//! - [`fs`]: the atomic file writes every sgm crate uses.
//!
//! ## Tutorial
//!
//! A batch of embeddings is pulled towards its class means by the SGM loss, and its gradient flows back to the
//! embeddings (and through the means):
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use sgm_core::SgmLoss;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let z = Var::from_tensor(&Tensor::new(&[[0.0f32, 0.1], [0.2, 0.0], [3.0, 3.1], [2.9, 3.0]], &Device::Cpu)?)?;
//! let labels = Tensor::new(&[0u32, 0, 1, 1], &Device::Cpu)?;
//! let loss = SgmLoss::new(1.0).forward(z.as_tensor(), &labels)?;
//! assert!(loss.to_scalar::<f32>()? < 0.01); // two well-separated classes: the posteriors are near one-hot
//! let grads = loss.backward()?;
//! assert_eq!(grads.get(&z).unwrap().dims(), &[4, 2]);
//! # Ok(()) }
//! ```
//!
//! Embeddings are scored as the paper does: kNN classification with K = 11, then Table 2's columns.
//!
//! ```
//! use sgm_core::{classification_report, knn_classify, Embeddings};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Two classes on either side of the origin.
//! let train: Vec<f32> = (0..40).flat_map(|i| [if i % 2 == 0 { -1.0 } else { 1.0 } * (1.0 + i as f32 / 40.0), 0.0]).collect();
//! let train_labels: Vec<u32> = (0..40).map(|i| i % 2).collect();
//! let train = Embeddings::new(train, 40, 2, "train")?;
//! let test = Embeddings::new(vec![-1.5, 0.0, 1.2, 0.1], 2, 2, "test")?;
//!
//! let pred = knn_classify(&train, &train_labels, &test, 11)?;
//! let report = classification_report(&[0, 1], &pred)?;
//! assert_eq!(report.accuracy, 1.0);
//! assert_eq!(report.f1, 1.0); // the paper's F1: 2PR/(P+R) of macro P and macro R
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod embedding_files;
pub mod embeddings;
pub mod error;
pub mod fs;
pub mod knn;
pub mod loss;
pub mod memory;
pub mod metrics;
pub mod testing;

pub use embeddings::Embeddings;
pub use error::{CoreError, Result};
pub use knn::{knn_classify, knn_search, vote, Exclusion, Neighbors};
pub use loss::{CrossEntropyLoss, Miner, SgmConfig, SgmLoss, TripletConfig, TripletLoss};
pub use metrics::{
    ami, argmax_predictions, classification_report, mutual_info, nmi, prior_corrected_predictions, retrieval_scores,
    ClassificationReport, RetrievalReport,
};
