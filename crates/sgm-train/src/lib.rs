//! # sgm-train
//!
//! Training for sgm: the fused Adam/AMSGrad optimiser, checkpoints, the training loop and embedding extraction.
//!
//! ## Tutorial: train, validate and embed
//!
//! A [`train::TrainConfig`] is the whole protocol as a serde struct (its defaults are the paper's); a
//! [`train::Trainer`] trains it epoch by epoch; [`train::fit`] does the same in a resumable run directory with
//! checkpoints and logs.
//!
//! ```
//! use sgm_data::{generate_synth, Split, SynthConfig};
//! use sgm_train::train::{LossKind, TrainConfig, Trainer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let synth = SynthConfig::small(4, 1);
//! let (train, valid) = (generate_synth(&synth, Split::Train)?, generate_synth(&synth, Split::Valid)?);
//!
//! let mut cfg = TrainConfig { loss: LossKind::Sgm, samples_per_class: 2, batches_per_epoch: Some(1), ..Default::default() };
//! cfg.model.input_size = 24; // a tiny FMPNet-sized input keeps the example fast
//! cfg.model.backbone = sgm_models::BackboneKind::FmpNet;
//! cfg.validation.k = 3;
//! cfg.validate()?;
//!
//! let mut trainer = Trainer::new(cfg, candle_core::Device::Cpu)?;
//! let stats = trainer.train_epoch(&train, 0)?;
//! assert!(stats.loss.is_finite());
//! let scores = trainer.validate(&train, &valid)?; // kNN accuracy of the validation embeddings
//! assert!((0.0..=1.0).contains(&scores.knn_accuracy));
//! let (embeddings, _) = trainer.embed(&valid)?;
//! assert_eq!((embeddings.rows(), embeddings.dim()), (valid.len(), 64));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod fuzzing;
pub mod optim;
pub mod output_guard;
pub mod pretrained;
pub mod train;

pub use error::{Result, TrainError};
pub use optim::{Adam, AdamConfig};
