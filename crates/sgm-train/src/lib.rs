//! # sgm-train
//!
//! Training for sgm: the fused Adam/AMSGrad optimiser, checkpoints, the training loop and embedding extraction.

pub mod atomic;
pub mod checkpoint;
pub mod error;
pub mod hub;
pub mod optim;
pub mod train;

pub use error::{Result, TrainError};
pub use optim::{Adam, AdamConfig};
