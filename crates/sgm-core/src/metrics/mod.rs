//! The paper's evaluation metrics.

pub mod argmax;
pub mod classification;
pub mod clustering;
pub mod retrieval;

pub use argmax::{argmax_predictions, log_prior, prior_corrected_predictions};
pub use classification::{classification_report, ClassScores, ClassificationReport};
pub use clustering::{ami, mutual_info, nmi};
pub use retrieval::{retrieval_scores, RetrievalReport};
