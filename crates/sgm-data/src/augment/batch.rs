//! [`BatchBuilder`]: images of an [`ImageSet`] → an augmented, normalised `(B, C, H, W)` candle tensor.

use super::config::AugmentConfig;
use super::normalize::{push_normalized, Normalization};
use super::pipeline::augment;
use crate::error::{DataError, Result};
use crate::image_set::ImageSet;
use crate::sampler::seeded_rng;
use candle_core::{Device, Tensor};
use image::GrayImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

const TAG: u64 = 0x4155_474D; // "AUGM"

/// Shape and normalisation of the network input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// Side of the square input in pixels (the backbone's input size, e.g. 48, 64, 224).
    pub size: usize,
    /// 1 (grey) or 3 (grey replicated to R, G, B, as the paper feeds ImageNet-style backbones).
    pub channels: usize,
    /// Normalisation after scaling to `[0, 1]`.
    pub normalization: Normalization,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { size: 48, channels: 3, normalization: Normalization::default() }
    }
}

impl BatchConfig {
    /// Checks the size (8..=1024), the channel count (1 or 3) and the normalisation.
    pub fn validate(&self) -> Result<()> {
        if !(8..=1024).contains(&self.size) {
            return Err(DataError::Config(format!("batch: size must be in 8..=1024, got {}", self.size)));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(DataError::Config(format!("batch: channels must be 1 or 3, got {}", self.channels)));
        }
        self.normalization.validate()
    }
}

/// One training or evaluation batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `(B, C, H, W)` f32 images.
    pub images: Tensor,
    /// `(B,)` u32 labels.
    pub labels: Tensor,
    /// The image indices the batch was built from, in order.
    pub indices: Vec<usize>,
}

/// Builds batches: for each index, the image is augmented with a random stream seeded by
/// `(seed, epoch, batch_index, position in batch, image index)`, so a batch is reproducible on its own (resuming at any epoch
/// gives the same pixels) and an image drawn twice in one batch is augmented twice differently. Images are
/// processed in parallel with rayon; the result does not depend on the thread count.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    config: BatchConfig,
    augment: AugmentConfig,
    seed: u64,
    device: Device,
}

impl BatchBuilder {
    /// A builder producing tensors on `device`; validates both configurations.
    pub fn new(config: BatchConfig, augment: AugmentConfig, seed: u64, device: Device) -> Result<Self> {
        config.validate()?;
        augment.validate()?;
        Ok(Self { config, augment, seed, device })
    }

    /// An evaluation builder: no augmentation, only resizing and normalisation.
    pub fn eval(config: BatchConfig, device: Device) -> Result<Self> {
        Self::new(config, AugmentConfig::none(), 0, device)
    }

    /// The input configuration.
    pub fn config(&self) -> &BatchConfig {
        &self.config
    }

    /// The augmentation configuration.
    pub fn augment_config(&self) -> &AugmentConfig {
        &self.augment
    }

    /// A batch of `indices` of `set`, labelled with the set's own labels.
    pub fn build(&self, set: &ImageSet, indices: &[usize], epoch: u64, batch_index: u64) -> Result<Batch> {
        let labels = set.labels();
        self.build_with_labels(set, &labels, indices, epoch, batch_index)
    }

    /// A batch of `indices` of `set`, labelled from `labels` (one per image of the set, e.g. the sub-class labels
    /// of Algorithm 2).
    pub fn build_with_labels(
        &self,
        set: &ImageSet,
        labels: &[u32],
        indices: &[usize],
        epoch: u64,
        batch_index: u64,
    ) -> Result<Batch> {
        if labels.len() != set.len() {
            return Err(DataError::Config(format!("batch: {} labels for a set of {} images", labels.len(), set.len())));
        }
        let images = self.images(set, indices, epoch, batch_index)?;
        let batch_labels: Vec<u32> = indices.iter().map(|&i| labels[i]).collect();
        let labels = Tensor::from_vec(batch_labels, indices.len(), &self.device)?;
        Ok(Batch { images, labels, indices: indices.to_vec() })
    }

    /// Only the `(B, C, H, W)` image tensor of `indices`.
    pub fn images(&self, set: &ImageSet, indices: &[usize], epoch: u64, batch_index: u64) -> Result<Tensor> {
        if set.height == 0 || set.width == 0 || set.pixels.len() != set.len() * set.height * set.width {
            return Err(DataError::Config(format!(
                "batch: image set '{}' holds {} bytes, not {} images of {}x{}",
                set.name,
                set.pixels.len(),
                set.len(),
                set.height,
                set.width
            )));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= set.len()) {
            return Err(DataError::Config(format!("batch: index {bad} out of range for {} images", set.len())));
        }
        let (c, s) = (self.config.channels, self.config.size);
        let (w, h) = (set.width as u32, set.height as u32);
        let planes: Vec<Vec<f32>> = indices
            .par_iter()
            .enumerate()
            .map(|(pos, &i)| {
                // Checked above: every image holds exactly h · w bytes.
                let img = GrayImage::from_raw(w, h, set.image(i).to_vec()).expect("ImageSet image size");
                let mut rng = seeded_rng(&[self.seed, TAG, epoch, batch_index, pos as u64, i as u64]);
                let out = augment(&img, &self.augment, s as u32, &mut rng);
                let mut v = Vec::with_capacity(c * s * s);
                push_normalized(&out, c, &self.config.normalization, &mut v);
                v
            })
            .collect();
        let data: Vec<f32> = planes.concat();
        Ok(Tensor::from_vec(data, (indices.len(), c, s, s), &self.device)?)
    }
}
