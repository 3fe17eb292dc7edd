//! Optimisers.

pub mod adam;

pub use adam::{Adam, AdamConfig};
