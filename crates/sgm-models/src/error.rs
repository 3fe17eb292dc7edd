//! The error type of sgm-models.

/// Errors returned by sgm-models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An error from candle (shape, dtype or device problems inside a tensor op, a missing variable, …).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A [`ModelConfig`](crate::ModelConfig) that does not describe a buildable model.
    #[error("invalid model config: {0}")]
    InvalidConfig(String),
    /// An input tensor whose shape, dtype or rank does not fit the model or layer.
    #[error("bad input: {0}")]
    BadInput(String),
    /// A backbone name that [`BackboneKind::from_str`](crate::BackboneKind) does not know.
    #[error("unknown backbone {0:?} (expected one of fmpnet, cvgg13, alexnet, resnet18, preact-resnet18)")]
    UnknownBackbone(String),
    /// Foreign weights (a torchvision state dict) that do not fit the model; `file` names it.
    #[error("{file}: {reason}")]
    Import {
        /// The file (or spec) the weights came from.
        file: String,
        /// What does not fit.
        reason: String,
    },
    /// A tensor of foreign weights whose shape differs from the model variable of the same name.
    #[error("{0}")]
    ShapeMismatch(Box<ShapeMismatch>),
}

/// The details of [`ModelError::ShapeMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The file the weights came from.
    pub file: String,
    /// The tensor's name.
    pub tensor: String,
    /// Its shape in the file.
    pub file_shape: Vec<usize>,
    /// The shape of the model's variable.
    pub model_shape: Vec<usize>,
    /// What to do about it, if anything is known (starts with a space), else empty.
    pub hint: String,
}

impl std::fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: tensor '{}' has shape {:?} in the file, the model expects {:?}{}",
            self.file, self.tensor, self.file_shape, self.model_shape, self.hint
        )
    }
}

/// Result alias for sgm-models.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

pub(crate) fn invalid_config(msg: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig(msg.into())
}

pub(crate) fn bad_input(msg: impl Into<String>) -> ModelError {
    ModelError::BadInput(msg.into())
}
