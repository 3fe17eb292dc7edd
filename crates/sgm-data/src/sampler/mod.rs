//! Index samplers for training: they take a label vector (`&[u32]`, one label per image; original classes or
//! sub-class labels alike) and return image indices, never images.
//!
//! - [`StratifiedBatchSampler`]: C classes × S samples per batch, the SGM loss's batches;
//! - [`BalancedSampler`]: class-balanced draws with replacement, the CNN baseline's sampler;
//! - [`ShuffledSampler`]: whole shuffled passes, the CNN baseline's other batch composition;
//! - [`TripletSampler`]: random triplets, the triplet-loss baseline's.
//!
//! Epoch semantics, shared by all samplers: `epoch(e)` is a pure function of `(seed, e)` and the labels. Epoch 3
//! is the same whether or not epochs 0–2 were drawn, so a run resumed at epoch `e` sees exactly the batches the
//! uninterrupted run would have seen, and two epochs differ.

pub mod balanced;
pub mod seed;
pub mod shuffled;
pub mod stratified;
pub mod triplet;

pub use balanced::BalancedSampler;
pub use seed::{derive_seed, seeded_rng};
pub use shuffled::ShuffledSampler;
pub use stratified::StratifiedBatchSampler;
pub use triplet::{Triplet, TripletSampler};

/// Image indices grouped by label, sorted by label; labels that do not occur are absent.
pub(crate) fn indices_by_label(labels: &[u32]) -> Vec<(u32, Vec<usize>)> {
    let mut map: std::collections::BTreeMap<u32, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        map.entry(l).or_default().push(i);
    }
    map.into_iter().collect()
}
