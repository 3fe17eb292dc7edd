//! [`StratifiedBatchSampler`]: the paper's SGM batches of C classes × S samples.

use super::{indices_by_label, seed::seeded_rng};
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::Rng;

/// Stream tag that keeps this sampler's random stream apart from the others for the same seed.
const TAG: u64 = 0x5354_5241; // "STRA"

/// Batches of `classes_per_batch` (C) classes × `samples_per_class` (S) samples each, as the SGM loss needs: every
/// class in a batch has exactly S members, so every class mean is estimated from the same number of points.
///
/// - A class with at least S images contributes S distinct images to a batch. Within an epoch each class is walked
///   through a shuffled order, so its images are used evenly; when its order is used up it is reshuffled (the
///   images already in the current batch go last, so a batch never repeats an image of such a class).
/// - A class with fewer than S images contributes all of them plus `S − n` more drawn with replacement.
/// - When C is smaller than the number of classes present, each batch draws its C classes uniformly without
///   replacement.
/// - An epoch is [`Self::batches_per_epoch`] batches: by default `ceil(N / (C·S))`, so an epoch shows about as many
///   images as the data set holds (small classes are over-sampled, large ones under-sampled, which is the point).
///
/// Labels may be any `u32` values (original classes or the sub-class labels of Algorithm 2); only labels that occur
/// count as classes. Each batch lists its images class by class.
#[derive(Debug, Clone)]
pub struct StratifiedBatchSampler {
    classes: Vec<(u32, Vec<usize>)>,
    classes_per_batch: usize,
    samples_per_class: usize,
    batches_per_epoch: usize,
    seed: u64,
}

impl StratifiedBatchSampler {
    /// A sampler over `labels` drawing `classes_per_batch` × `samples_per_class` batches. Errors when the labels
    /// are empty, C or S is zero, or C exceeds the number of distinct labels.
    pub fn new(labels: &[u32], classes_per_batch: usize, samples_per_class: usize, seed: u64) -> Result<Self> {
        let classes = indices_by_label(labels);
        if classes.is_empty() {
            return Err(DataError::Config("stratified sampler: no labels".into()));
        }
        if classes_per_batch == 0 || samples_per_class == 0 {
            return Err(DataError::Config(format!(
                "stratified sampler: classes_per_batch ({classes_per_batch}) and samples_per_class \
                 ({samples_per_class}) must be positive"
            )));
        }
        if classes_per_batch > classes.len() {
            return Err(DataError::Config(format!(
                "stratified sampler: classes_per_batch {classes_per_batch} exceeds the {} classes present",
                classes.len()
            )));
        }
        let batch = classes_per_batch * samples_per_class;
        let batches_per_epoch = labels.len().div_ceil(batch);
        Ok(Self { classes, classes_per_batch, samples_per_class, batches_per_epoch, seed })
    }

    /// Overrides the number of batches per epoch (at least 1).
    pub fn with_batches_per_epoch(mut self, n: usize) -> Self {
        self.batches_per_epoch = n.max(1);
        self
    }

    /// A sampler with every class present in each batch (C = number of distinct labels).
    pub fn all_classes(labels: &[u32], samples_per_class: usize, seed: u64) -> Result<Self> {
        let c = indices_by_label(labels).len();
        Self::new(labels, c, samples_per_class, seed)
    }

    /// C × S.
    pub fn batch_size(&self) -> usize {
        self.classes_per_batch * self.samples_per_class
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }

    /// Number of distinct labels.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// The batches of epoch `epoch`: a pure function of `(seed, epoch)` and the labels.
    pub fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = seeded_rng(&[self.seed, TAG, epoch]);
        let s = self.samples_per_class;
        // Per class: a shuffled order and a cursor into it.
        let mut orders: Vec<Vec<usize>> = self
            .classes
            .iter()
            .map(|(_, idx)| {
                let mut o = idx.clone();
                o.shuffle(&mut rng);
                o
            })
            .collect();
        let mut cursors = vec![0usize; self.classes.len()];
        let all: Vec<usize> = (0..self.classes.len()).collect();
        (0..self.batches_per_epoch)
            .map(|_| {
                let mut chosen = if self.classes_per_batch == self.classes.len() {
                    all.clone()
                } else {
                    rand::seq::index::sample(&mut rng, self.classes.len(), self.classes_per_batch).into_vec()
                };
                chosen.sort_unstable();
                let mut batch = Vec::with_capacity(self.batch_size());
                for c in chosen {
                    let members = &self.classes[c].1;
                    if members.len() < s {
                        batch.extend_from_slice(members);
                        batch.extend((members.len()..s).map(|_| members[rng.random_range(0..members.len())]));
                        continue;
                    }
                    let order = &mut orders[c];
                    let start = batch.len();
                    let take = s.min(order.len() - cursors[c]);
                    batch.extend_from_slice(&order[cursors[c]..cursors[c] + take]);
                    cursors[c] += take;
                    if take < s {
                        let taken: Vec<usize> = batch[start..].to_vec();
                        order.shuffle(&mut rng);
                        // Images already in this batch go last, in their shuffled order.
                        order.sort_by_key(|i| taken.contains(i));
                        batch.extend_from_slice(&order[..s - take]);
                        cursors[c] = s - take;
                    }
                }
                batch
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_around_never_repeats_within_a_batch() {
        // 7 images in one class, batches of 5: every second batch wraps around.
        let labels = vec![0u32; 7];
        let s = StratifiedBatchSampler::new(&labels, 1, 5, 3).unwrap().with_batches_per_epoch(20);
        for b in s.epoch(0) {
            let mut d = b.clone();
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), 5, "{b:?}");
        }
    }

    #[test]
    fn rejects_impossible_shapes() {
        assert!(StratifiedBatchSampler::new(&[], 1, 1, 0).is_err());
        assert!(StratifiedBatchSampler::new(&[0, 1], 3, 1, 0).is_err());
        assert!(StratifiedBatchSampler::new(&[0, 1], 2, 0, 0).is_err());
    }
}
