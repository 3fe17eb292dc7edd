//! [`PlotError`]: what can go wrong when drawing a plot. Input errors name the plot, the series and the point.

use std::path::PathBuf;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw.
    #[error("{what}: no data to plot")]
    Empty {
        /// What is empty, e.g. "t-SNE scatter: points".
        what: String,
    },
    /// A NaN or infinite value.
    #[error("{what}: value {index} is {value}, not a finite number")]
    NonFinite {
        /// Which data, e.g. "series 'Recall@K' y".
        what: String,
        /// Index of the offending value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Inconsistent or out-of-range input (lengths that differ, a size too small, …).
    #[error("{0}")]
    Invalid(String),
    /// The drawing backend failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Writing the output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// PNG encoding failed.
    #[error("{path}: cannot encode PNG: {reason}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, PlotError>;

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

/// Checks that `values` are finite; the error names `what` and the first bad index.
pub(crate) fn check_finite(what: &str, values: impl IntoIterator<Item = f64>) -> Result<()> {
    for (index, value) in values.into_iter().enumerate() {
        if !value.is_finite() {
            return Err(PlotError::NonFinite { what: what.to_string(), index, value });
        }
    }
    Ok(())
}

/// Checks that `len` is not zero.
pub(crate) fn check_nonempty(what: &str, len: usize) -> Result<()> {
    if len == 0 {
        return Err(PlotError::Empty { what: what.to_string() });
    }
    Ok(())
}

impl From<sgm_core::fs::WriteError> for PlotError {
    fn from(e: sgm_core::fs::WriteError) -> Self {
        Self::Io { path: e.path, source: e.error }
    }
}
