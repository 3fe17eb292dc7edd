//! The error type of sgm-cluster.

/// Errors returned by sgm-cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An invalid parameter (k = 0, more clusters than points, …).
    #[error("invalid clustering parameter: {0}")]
    InvalidParams(String),
    /// Inputs whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// linfa's k-means failed.
    #[error("k-means failed: {0}")]
    KMeans(#[from] linfa_clustering::KMeansError),
    /// A mixture component whose covariance cannot be inverted even after regularisation.
    #[error(
        "Gaussian mixture component {component} has an ill-defined covariance: {reason}; \
         use fewer components or a larger reg_covar"
    )]
    IllDefinedCovariance {
        /// The component.
        component: usize,
        /// What went wrong.
        reason: String,
    },
    /// EM produced a non-finite log-likelihood (overflowing data, NaN inputs).
    #[error("Gaussian mixture: {0}")]
    Numerical(String),
    /// An error from sgm-core.
    #[error(transparent)]
    Core(#[from] sgm_core::CoreError),
}

/// Result alias for sgm-cluster.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
