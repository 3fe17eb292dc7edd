//! [`BalancedSampler`]: class-balanced sampling with replacement for the CNN baseline.

use super::{indices_by_label, seed::seeded_rng};
use crate::error::{DataError, Result};
use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;

const TAG: u64 = 0x4241_4C41; // "BALA"

/// PyTorch's `WeightedRandomSampler` with per-image weight 1 / (size of the image's class): every class is drawn
/// equally often in expectation. An epoch is [`Self::num_samples`] draws with replacement (by default the data set
/// size), a pure function of `(seed, epoch)`.
#[derive(Debug, Clone)]
pub struct BalancedSampler {
    weights: Vec<f64>,
    num_samples: usize,
    seed: u64,
}

impl BalancedSampler {
    /// A sampler over `labels` (any `u32` values). Errors on an empty label vector.
    pub fn new(labels: &[u32], seed: u64) -> Result<Self> {
        if labels.is_empty() {
            return Err(DataError::Config("balanced sampler: no labels".into()));
        }
        let mut weights = vec![0.0; labels.len()];
        for (_, members) in indices_by_label(labels) {
            let w = 1.0 / members.len() as f64;
            for i in members {
                weights[i] = w;
            }
        }
        Ok(Self { weights, num_samples: labels.len(), seed })
    }

    /// Overrides the number of draws per epoch (at least 1).
    pub fn with_num_samples(mut self, n: usize) -> Self {
        self.num_samples = n.max(1);
        self
    }

    /// Draws per epoch.
    pub fn num_samples(&self) -> usize {
        self.num_samples
    }

    /// The sampling weight of every image (1 / class frequency).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The image indices of epoch `epoch`, drawn with replacement.
    pub fn epoch(&self, epoch: u64) -> Vec<usize> {
        let mut rng = seeded_rng(&[self.seed, TAG, epoch]);
        // The weights are positive and finite by construction, so the distribution always exists.
        let dist = WeightedIndex::new(&self.weights).expect("positive finite weights");
        (0..self.num_samples).map(|_| dist.sample(&mut rng)).collect()
    }

    /// Epoch `epoch` cut into batches of `batch_size` (the last one may be shorter).
    pub fn batches(&self, epoch: u64, batch_size: usize) -> Vec<Vec<usize>> {
        self.epoch(epoch).chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
    }
}
