//! # sgm-data
//!
//! Turns facial-expression data sets on disk into decoded, labelled, in-memory [`ImageSet`]s, and those into
//! training batches.
//!
//! Module map:
//! - [`image_set`]: the [`ImageSet`] every loader returns;
//! - [`error`]: [`DataError`], which always names the file and row.
//! - [`classes`]: the FER+ class order ([`Expression`]) and every data set's mapping to it;
//! - [`image_io`]: decoding (PNG, JPEG, TIFF incl. palette TIFF, BMP) to luma, crop, resize, atomic PNG output;
//! - [`loaders`]: one loader per on-disk layout, entry point [`load`], options [`LoadOptions`];
//! - [`dedup`]: the duplicate index (identical pixels within and across splits);
//! - [`registry`]: the known data sets (`datasets.toml`, embedded) with expected counts.

pub mod augment;
pub mod classes;
pub mod dedup;
pub mod error;
pub mod image_io;
pub mod image_set;
pub mod loaders;
pub mod registry;
pub mod sampler;
pub mod synth;

pub use augment::{AugmentConfig, Batch, BatchBuilder, BatchConfig, Normalization};
pub use classes::Expression;
pub use error::{DataError, Result};
pub use image_set::{ImageSet, SampleMeta, Split};
pub use loaders::{load, Format, LoadOptions, LoadReport, LoadedDataset};
pub use registry::Registry;
pub use synth::{generate as generate_synth, write_image_folder as write_synth_image_folder, SynthConfig};
