//! The error type of sgm-train.

use std::path::PathBuf;

/// Errors returned by sgm-train.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration value out of range, or settings that do not fit together.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// A checkpoint that cannot be trusted or does not fit the model.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A checkpoint file that is unreadable, truncated or corrupt.
    #[error("{path}: {reason}")]
    CheckpointFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the run directory's lock.
    #[error(
        "{dir} is in use by another sgm process ({}); wait for it to finish, or give another directory",
        match pid { Some(p) => format!("PID {p}"), None => "PID not yet recorded".to_string() }
    )]
    RunLocked {
        /// The run directory.
        dir: PathBuf,
        /// The PID the holder wrote into the lock file, when it has.
        pid: Option<u32>,
    },
    /// `--resume` on a directory that holds no run.
    #[error(
        "{dir} holds no training run to resume (no resume.safetensors); check the directory, or leave out --resume \
         to start a new run there"
    )]
    NoRunToResume {
        /// The directory.
        dir: PathBuf,
    },
    /// A path that cannot serve: a file where a directory is needed, a symbolic link that leads nowhere.
    #[error("{path}: {reason}")]
    BadPath {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An output that would overwrite something sgm did not write for that purpose.
    #[error("{path}: {reason}; pass --force to write there anyway")]
    OutputRefused {
        /// The output.
        path: PathBuf,
        /// What it is.
        reason: String,
    },
    /// A device name that is unknown, not compiled in, or cannot be opened.
    #[error("device '{name}': {reason}")]
    Device {
        /// The name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A size from the arguments or the configuration that this machine cannot allocate.
    #[error(transparent)]
    TooLarge(#[from] sgm_core::memory::TooLarge),
    /// The loss or the weights became NaN or infinite.
    #[error("training diverged at epoch {epoch}, step {step}: {what} is not finite (last finite loss {last_loss:?}); try a lower learning rate")]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// What became non-finite.
        what: String,
        /// The last finite loss, if any.
        last_loss: Option<f64>,
    },
    /// The model produced a NaN or infinite embedding.
    #[error("the model produced a non-finite embedding for {image}: corrupt weights, or a diverged run?")]
    NonFiniteEmbedding {
        /// The image (its source path).
        image: String,
    },
    /// File-system errors, with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// candle errors.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// sgm-core errors (losses, metrics).
    #[error(transparent)]
    Core(#[from] sgm_core::CoreError),
    /// sgm-data errors (samplers, batches).
    #[error(transparent)]
    Data(#[from] sgm_data::DataError),
    /// sgm-models errors.
    #[error(transparent)]
    Model(#[from] sgm_models::ModelError),
    /// sgm-cluster errors (k-means, sub-class splitting).
    #[error(transparent)]
    Cluster(#[from] sgm_cluster::ClusterError),
    /// A step of the evaluation protocol failed.
    #[error("{what}: {source}")]
    Evaluation {
        /// The step (e.g. "k-means clustering of the test set").
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result alias for sgm-train.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

impl TrainError {
    /// Shorthand for [`TrainError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

impl From<sgm_core::fs::WriteError> for TrainError {
    fn from(e: sgm_core::fs::WriteError) -> Self {
        Self::Io { path: e.path, source: e.error }
    }
}
