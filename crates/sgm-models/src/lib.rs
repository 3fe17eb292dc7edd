//! # sgm-models (work in progress)

pub mod config;
pub mod error;
pub mod layers;
pub mod seeded;

pub use config::{BackboneKind, ModelConfig};
pub use error::{ModelError, Result};
pub use layers::is_buffer;
pub use seeded::seeded_var_builder;
