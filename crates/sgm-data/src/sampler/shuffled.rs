//! [`ShuffledSampler`]: whole shuffled passes over the training set, the way a plain classifier is trained
//! (PyTorch's `DataLoader(shuffle=True)`).

use super::seed::seeded_rng;
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;

const TAG: u64 = 0x5348_5546; // "SHUF"

/// Every image once per pass, in a fresh seeded order each pass. The passes form one stream; epoch `e` takes draws
/// `e·n … (e+1)·n − 1` of it, where `n` is [`Self::num_samples`] (by default the data set size, so an epoch is a
/// pass). With a shorter epoch (`with_num_samples`) the next epoch continues the same pass, so every image is still
/// seen once before any is seen twice. A pure function of `(seed, epoch)`, as every sampler.
#[derive(Debug, Clone)]
pub struct ShuffledSampler {
    len: usize,
    num_samples: usize,
    seed: u64,
}

impl ShuffledSampler {
    /// A sampler over `len` images. Errors on an empty set.
    pub fn new(len: usize, seed: u64) -> Result<Self> {
        if len == 0 {
            return Err(DataError::Config("shuffled sampler: no images".into()));
        }
        Ok(Self { len, num_samples: len, seed })
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

    /// The order of pass `pass`.
    fn pass(&self, pass: u64) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len).collect();
        idx.shuffle(&mut seeded_rng(&[self.seed, TAG, pass]));
        idx
    }

    /// The image indices of epoch `epoch`.
    pub fn epoch(&self, epoch: u64) -> Vec<usize> {
        let (len, n) = (self.len as u64, self.num_samples as u64);
        let start = epoch * n;
        let mut out = Vec::with_capacity(self.num_samples);
        let mut pass = start / len;
        let mut offset = (start % len) as usize;
        while out.len() < self.num_samples {
            let order = self.pass(pass);
            let take = (self.num_samples - out.len()).min(self.len - offset);
            out.extend_from_slice(&order[offset..offset + take]);
            pass += 1;
            offset = 0;
        }
        out
    }

    /// Epoch `epoch` cut into batches of `batch_size` (the last one may be shorter).
    pub fn batches(&self, epoch: u64, batch_size: usize) -> Vec<Vec<usize>> {
        self.epoch(epoch).chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_is_a_permutation_and_epochs_differ() {
        let s = ShuffledSampler::new(50, 7).unwrap();
        let (a, b) = (s.epoch(0), s.epoch(1));
        for e in [&a, &b] {
            let mut sorted = e.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        }
        assert_ne!(a, b);
        assert_eq!(a, ShuffledSampler::new(50, 7).unwrap().epoch(0));
        assert_ne!(a, ShuffledSampler::new(50, 8).unwrap().epoch(0));
    }

    #[test]
    fn short_epochs_continue_the_pass() {
        // 3 epochs of 20 over 50 images: epochs 0, 1 and the first half of 2 are pass 0; the rest starts pass 1.
        let s = ShuffledSampler::new(50, 3).unwrap().with_num_samples(20);
        let whole = ShuffledSampler::new(50, 3).unwrap();
        let stream: Vec<usize> = (0..3).flat_map(|e| s.epoch(e)).collect();
        assert_eq!(&stream[..50], &whole.epoch(0)[..]);
        assert_eq!(&stream[50..], &whole.epoch(1)[..10]);
        let batches = s.batches(2, 8);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![8, 8, 4]);
        assert!(ShuffledSampler::new(0, 1).is_err());
    }
}
