//! The paper's training augmentation and the batch builder.
//!
//! Each transform is its own small, tested function on a grey [`image::GrayImage`]:
//! - [`geometric`]: random scale, rotation + translation (one imageproc warp), mirror, resize, crop;
//! - [`photometric`]: brightness, contrast and gamma jitter, Gaussian blur;
//! - [`clahe`]: contrast-limited adaptive histogram equalisation;
//! - [`erase`]: random erasing of one rectangle;
//! - [`normalize`]: `f32` planes normalised with the CIFAR-10 statistics (configurable), 1 or 3 channels.
//!
//! [`pipeline::augment`] chains them with the probabilities of an [`AugmentConfig`]; [`BatchBuilder`] turns image
//! indices into a `(B, C, H, W)` tensor and a `(B,)` label tensor, each image's draw seeded by
//! `(seed, epoch, batch, position, image index)`.

pub mod batch;
pub mod clahe;
pub mod config;
pub mod erase;
pub mod geometric;
pub mod normalize;
pub mod photometric;
pub mod pipeline;

pub use batch::{Batch, BatchBuilder, BatchConfig};
pub use config::AugmentConfig;
pub use normalize::Normalization;
pub use pipeline::augment;
