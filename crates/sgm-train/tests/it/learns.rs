//! A short SGM training measurably improves the embedding: validation kNN accuracy after 30 steps is clearly
//! above that of the untrained network (ResNet18 at 32×32 on a gentler synthetic set, a few seconds of CPU).

use sgm_data::{Split, SynthConfig};
use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};

#[test]
fn thirty_sgm_steps_beat_the_untrained_network() {
    let synth = SynthConfig { nuisance: 0.3, ..SynthConfig::small(40, 5) };
    let train = sgm_data::generate_synth(&synth, Split::Train).unwrap();
    let valid = sgm_data::generate_synth(&SynthConfig { valid_per_class: 20, ..synth }, Split::Valid).unwrap();
    let mut cfg = TrainConfig {
        loss: LossKind::Sgm,
        epochs: 3,
        samples_per_class: 4,
        batches_per_epoch: Some(10),
        eval_batch_size: 64,
        ..TrainConfig::default()
    };
    cfg.model.backbone = BackboneKind::ResNet18;
    cfg.model.input_size = 32;
    cfg.optimizer.lr = 1e-3;
    cfg.augment = sgm_data::augment::AugmentConfig::none();
    cfg.validation.train_subset = None;
    // Thirty steps at lr 1e-3 leave the BatchNorm moving averages behind the weights; scoring with re-estimated
    // statistics measures the embedding rather than that lag (which also made the score depend on float rounding).
    cfg.validation.precise_bn_batches = Some(4);
    let mut trainer = Trainer::new(cfg, candle_core::Device::Cpu).unwrap();
    let before = trainer.validate(&train, &valid).unwrap().knn_accuracy;
    for epoch in 0..3 {
        trainer.train_epoch(&train, epoch).unwrap();
    }
    let after = trainer.validate(&train, &valid).unwrap().knn_accuracy;
    eprintln!("kNN accuracy {before:.3} untrained, {after:.3} after 30 steps");
    // Measured (seed 1, precise BN): 0.281 untrained, 0.506 after 30 steps. Without precise BN the same run scored
    // 0.331 → 0.406 with candle's kernels and 0.331 → 0.362 with sgm's (f32 rounding moves the lagging averages).
    assert!(after >= before + 0.05, "kNN accuracy {before:.3} untrained, {after:.3} after 30 steps");
}
