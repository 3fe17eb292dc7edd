//! The error type of sgm-core.

/// Errors returned by sgm-core.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An error from candle (shape, dtype or device problems inside a tensor op).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Inputs whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An argument outside its valid range (a negative sigma, k = 0, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A NaN or infinite value; `row` is the 0-based row of the offending sample.
    #[error("non-finite value (NaN or inf) in {what} at row {row}")]
    NonFinite {
        /// Which input held it.
        what: String,
        /// 0-based row.
        row: usize,
    },
    /// An input with no rows.
    #[error("empty input: {0}")]
    Empty(String),
    /// An embeddings or labels file that cannot be read or written; the message names the file.
    #[error("{0}")]
    File(String),
    /// A buffer too large for this machine (see [`crate::memory`]).
    #[error(transparent)]
    TooLarge(#[from] crate::memory::TooLarge),
}

/// Result alias for sgm-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

pub(crate) fn invalid(msg: impl Into<String>) -> CoreError {
    CoreError::InvalidArgument(msg.into())
}
