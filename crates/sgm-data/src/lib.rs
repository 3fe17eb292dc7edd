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
//! - [`registry`]: the known data sets (`datasets.toml`, embedded) with expected counts;
//! - [`faces`]: photos in, faces out: decoding with EXIF orientation, face detection (SeetaFace's frontal
//!   detector, model embedded), FER+-framed grey crops, and test photos composed at known places.
//!
//! ## Tutorial: from a data set to a training batch
//!
//! The built-in synthetic set needs no files; a real set loads the same way with [`load`] and its root folder.
//! A stratified sampler draws C × S batches (the SGM protocol) and a [`BatchBuilder`] turns indices into an
//! augmented, normalised image tensor with its labels.
//!
//! ```
//! use sgm_data::augment::{AugmentConfig, BatchBuilder, BatchConfig};
//! use sgm_data::sampler::StratifiedBatchSampler;
//! use sgm_data::{generate_synth, Split, SynthConfig};
//!
//! # fn main() -> Result<(), sgm_data::DataError> {
//! let train = generate_synth(&SynthConfig::small(4, 1), Split::Train)?; // 8 classes × 4 faces, 48×48
//! assert_eq!((train.len(), train.num_classes()), (32, 8));
//!
//! // Every batch holds 2 images of each of the 8 classes; the draws are a pure function of (seed, epoch).
//! let sampler = StratifiedBatchSampler::all_classes(&train.labels(), 2, 7)?;
//! let batches = sampler.epoch(0);
//! assert_eq!(batches[0].len(), 16);
//!
//! let cfg = BatchConfig { size: 32, channels: 1, ..BatchConfig::default() };
//! let builder = BatchBuilder::new(cfg, AugmentConfig::default(), 7, candle_core::Device::Cpu)?;
//! let batch = builder.build(&train, &batches[0], 0, 0)?;
//! assert_eq!(batch.images.dims(), &[16, 1, 32, 32]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod augment;
pub mod classes;
pub mod dedup;
pub mod error;
pub mod faces;
pub mod image_io;
pub mod image_set;
pub mod loaders;
pub mod memory;
pub mod registry;
pub mod sampler;
pub mod synth;

pub use augment::{AugmentConfig, Batch, BatchBuilder, BatchConfig, Normalization};
pub use classes::Expression;
pub use error::{DataError, Result};
pub use image_set::{ImageSet, SampleMeta, Split};
pub use loaders::{load, Format, LoadOptions, LoadReport, LoadedDataset};
pub use registry::{OpenedDataset, Registry};
pub use synth::{generate as generate_synth, write_image_folder as write_synth_image_folder, SynthConfig};
