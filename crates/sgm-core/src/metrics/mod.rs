//! The paper's evaluation metrics.

pub mod classification;
pub mod clustering;
pub mod retrieval;

pub use classification::{classification_report, ClassScores, ClassificationReport};
pub use clustering::{ami, mutual_info, nmi};
pub use retrieval::{retrieval_scores, RetrievalReport};
