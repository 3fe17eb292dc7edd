//! The error type of sgm-data. Every variant that comes from a file names the file, and the row or record where
//! there is one, so a user can find and fix the bad input.

use std::path::PathBuf;

/// Errors returned by sgm-data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image could not be decoded.
    #[error("{path}: cannot decode image: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A malformed record in a CSV or text index file. `line` is 1-based and counts the header, as an editor does.
    #[error("{path}:{line}: {reason}")]
    Record {
        /// The index file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the record.
        reason: String,
    },
    /// A required folder or file of a data set layout is absent.
    #[error("{path}: missing {what}")]
    Missing {
        /// Where it was expected.
        path: PathBuf,
        /// What was expected there (e.g. "split folder FER2013Valid").
        what: String,
    },
    /// A file or folder does not follow the data set's layout (e.g. a file name that does not parse).
    #[error("{path}: {reason}")]
    Layout {
        /// The offending file or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A data set's root folder does not exist.
    #[error(
        "{}: data set '{name}' not found (from {from}); get it from {download} and pass --root DIR or set $SGM_DATA_DIR",
        path.display()
    )]
    DatasetNotFound {
        /// The root looked for.
        path: PathBuf,
        /// The data set.
        name: String,
        /// Where that root came from.
        from: crate::registry::RootSource,
        /// Where to obtain it.
        download: String,
    },
    /// A configuration value is out of its valid range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A buffer, sized by an argument or a data set, that this machine cannot allocate.
    #[error("{what} needs {:.1} GiB, more than this machine can allocate", *bytes as f64 / (1u64 << 30) as f64)]
    TooLarge {
        /// What the buffer is for, and which setting sized it.
        what: String,
        /// Bytes it would take.
        bytes: u128,
    },
    /// The face detector's model could not be loaded.
    #[error("face detector: {0}")]
    Detector(String),
    /// A photo in which the face detector found no face (where one was required, e.g. a query).
    #[error("{path}: no face found (min face size {min_face_size} px, score threshold {score_threshold})")]
    NoFace {
        /// The photo.
        path: PathBuf,
        /// The detector's minimum face size, in pixels of the photo.
        min_face_size: u32,
        /// The detector's score threshold.
        score_threshold: f64,
    },
    /// An error from candle while building a batch tensor.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result alias for sgm-data.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    /// Shorthand for [`DataError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
    /// Shorthand for [`DataError::Record`].
    pub fn record(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Self::Record { path: path.into(), line, reason: reason.into() }
    }
}

impl From<sgm_core::fs::WriteError> for DataError {
    fn from(e: sgm_core::fs::WriteError) -> Self {
        Self::Io { path: e.path, source: e.error }
    }
}
