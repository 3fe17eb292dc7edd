//! [`TripletSampler`]: random (anchor, positive, negative) triplets for the triplet-loss baseline.

use super::{indices_by_label, seed::seeded_rng};
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::Rng;

const TAG: u64 = 0x5452_4950; // "TRIP"

/// One training triplet of image indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Triplet {
    /// The anchor image.
    pub anchor: usize,
    /// Another image of the anchor's class.
    pub positive: usize,
    /// An image of a different class.
    pub negative: usize,
}

/// Random triplets with no mining, as the paper's baseline: the triplets of an epoch are spread evenly over the
/// classes that have at least two images (round robin, then shuffled); anchor and positive are two distinct images
/// of that class, the negative is uniform over the images of all other classes. An epoch holds
/// [`Self::triplets_per_epoch`] triplets (the paper: 160,000) and is regenerated for every epoch as a pure function
/// of `(seed, epoch)`.
#[derive(Debug, Clone)]
pub struct TripletSampler {
    labels: Vec<u32>,
    classes: Vec<(u32, Vec<usize>)>,
    triplets_per_epoch: usize,
    seed: u64,
}

impl TripletSampler {
    /// A sampler over `labels`. Errors unless there are at least two classes and one of them has two images.
    pub fn new(labels: &[u32], triplets_per_epoch: usize, seed: u64) -> Result<Self> {
        let all = indices_by_label(labels);
        if all.len() < 2 {
            return Err(DataError::Config("triplet sampler: needs at least two classes".into()));
        }
        let classes: Vec<_> = all.into_iter().filter(|(_, m)| m.len() >= 2).collect();
        if classes.is_empty() {
            return Err(DataError::Config("triplet sampler: no class has two images".into()));
        }
        if triplets_per_epoch == 0 {
            return Err(DataError::Config("triplet sampler: triplets_per_epoch must be positive".into()));
        }
        Ok(Self { labels: labels.to_vec(), classes, triplets_per_epoch, seed })
    }

    /// Triplets per epoch.
    pub fn triplets_per_epoch(&self) -> usize {
        self.triplets_per_epoch
    }

    /// The triplets of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Vec<Triplet> {
        let mut rng = seeded_rng(&[self.seed, TAG, epoch]);
        let n = self.labels.len();
        let mut out: Vec<Triplet> = (0..self.triplets_per_epoch)
            .map(|t| {
                let (label, members) = &self.classes[t % self.classes.len()];
                let a = rng.random_range(0..members.len());
                let mut p = rng.random_range(0..members.len() - 1);
                if p >= a {
                    p += 1;
                }
                // Rejection sampling is uniform over the other classes' images; at least one exists.
                let negative = loop {
                    let i = rng.random_range(0..n);
                    if self.labels[i] != *label {
                        break i;
                    }
                };
                Triplet { anchor: members[a], positive: members[p], negative }
            })
            .collect();
        out.shuffle(&mut rng);
        out
    }

    /// Epoch `epoch` cut into batches of `triplets_per_batch` (the last one may be shorter).
    pub fn batches(&self, epoch: u64, triplets_per_batch: usize) -> Vec<Vec<Triplet>> {
        self.epoch(epoch).chunks(triplets_per_batch.max(1)).map(<[Triplet]>::to_vec).collect()
    }
}
