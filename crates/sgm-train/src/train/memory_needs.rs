//! The largest buffers a training configuration implies, checked against what this machine can allocate before
//! any of them is (see [`sgm_core::memory`]). A size that cannot fit (`embedding_dim = 4000000000`, a batch of a
//! million images) is refused with the setting that sized it, instead of the process aborting.
//!
//! The estimates are lower bounds of what training really takes: the embedding layer with its gradient and the
//! optimiser's moments, and the first feature map of a batch (64 channels at the input size) with its gradient.

use crate::error::Result;
use crate::train::config::{LossKind, MetricSampler, TrainConfig};
use sgm_core::memory::check;
use sgm_models::BackboneKind;

const F32: u128 = 4;
/// Weights, gradients and Adam's first, second and maximal second moments.
const COPIES_IN_TRAINING: u128 = 5;
/// Channels of every backbone's first feature map.
const FIRST_CHANNELS: u128 = 64;

/// The width of the features the embedding layer reads.
fn feature_width(b: BackboneKind) -> u128 {
    match b {
        BackboneKind::FmpNet | BackboneKind::Cvgg13 => 1024,
        BackboneKind::AlexNet => 4096,
        BackboneKind::ResNet18 | BackboneKind::PreActResNet18 => 512,
    }
}

/// Checks the buffers `cfg` implies. `classes` and `images` (of the training set) refine the batch sizes when
/// known: an SGM batch holds `samples_per_class` images of every class, and no batch holds more images than the set.
pub fn check_memory(cfg: &TrainConfig, classes: Option<usize>, images: Option<usize>) -> Result<()> {
    let m = &cfg.model;
    let emb = m.embedding_dim as u128;
    let width = feature_width(m.backbone);
    check(
        format!("the embedding layer ({width} × embedding_dim {emb} weights, with gradients and Adam state)"),
        width.saturating_mul(emb),
        F32 * COPIES_IN_TRAINING,
    )?;
    if let Some(c) = m.num_classes {
        check(
            format!("the class head (embedding_dim {emb} × num_classes {c} weights)"),
            emb.saturating_mul(c as u128),
            F32 * COPIES_IN_TRAINING,
        )?;
    }
    let side = m.input_size as u128;
    let per_image = FIRST_CHANNELS * side * side * F32 * 2;
    let cap = |b: u128| images.map_or(b, |n| b.min(n.max(1) as u128));
    let stratified = (cfg.samples_per_class as u128).saturating_mul(classes.unwrap_or(1).max(1) as u128);
    let shuffled_metric = cfg.metric_sampler == MetricSampler::Shuffled;
    let (train_batch, train_setting): (u128, &str) = match (cfg.loss, cfg.miner) {
        (LossKind::Sgm, _) | (LossKind::Triplet, Some(_)) if shuffled_metric => {
            (cap(cfg.batch_size as u128), "batch_size")
        }
        (LossKind::Sgm, _) | (LossKind::Triplet, Some(_)) => (stratified, "samples_per_class × classes"),
        (LossKind::Triplet, None) => (
            3 * (cfg.triplets_per_batch.min(cfg.triplets_per_epoch) as u128),
            "3 × triplets_per_batch (anchors, positives, negatives)",
        ),
        (LossKind::Softmax, _) => (cap(cfg.batch_size as u128), "batch_size"),
    };
    for (batch, setting) in [(train_batch, train_setting), (cap(cfg.eval_batch_size as u128), "eval_batch_size")] {
        check(
            format!("a batch of {batch} images ({setting}) at input_size {side}, its first feature map and gradient"),
            batch,
            per_image,
        )?;
    }
    if cfg.loss == LossKind::Triplet && cfg.miner.is_none() {
        check(
            format!("one epoch of triplets (triplets_per_epoch {})", cfg.triplets_per_epoch),
            cfg.triplets_per_epoch as u128,
            6 * 8,
        )?;
    }
    if let Some(n) = cfg.batches_per_epoch {
        check(
            format!("the image indices of one epoch (batches_per_epoch {n} × {train_batch} images)"),
            (n as u128).saturating_mul(train_batch),
            8,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_fit_and_absurd_sizes_are_refused_by_name() {
        let cfg = TrainConfig::default();
        check_memory(&cfg, Some(8), Some(25_000)).unwrap();
        let mut huge = cfg.clone();
        huge.model.embedding_dim = 4_000_000_000;
        let err = check_memory(&huge, None, None).unwrap_err().to_string();
        assert!(err.contains("embedding_dim 4000000000") && err.contains("more than this machine"), "{err}");
        let mut batch = cfg.clone();
        batch.samples_per_class = 1 << 40;
        let err = check_memory(&batch, Some(8), None).unwrap_err().to_string();
        assert!(err.contains("samples_per_class × classes"), "{err}");
        let mut triplets = cfg;
        triplets.loss = LossKind::Triplet;
        triplets.triplets_per_epoch = usize::MAX / 2;
        let err = check_memory(&triplets, Some(8), None).unwrap_err().to_string();
        assert!(err.contains("triplets_per_epoch"), "{err}");
    }
}
