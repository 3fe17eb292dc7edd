//! Diagnostic: can a backbone overfit 16 synthetic images with cross-entropy in 40 Adam-AMSGrad steps?
//!
//! `cargo run --release -p sgm-train --example overfit_probe -- [LR] [DROPOUT]`
//!
//! ResNet18 (BatchNorm) fits the batch within ~20 steps; FMPNet and CVGG13 (no BatchNorm, as the authors') barely
//! move in 40 steps, exactly as their PyTorch twins do (`overfit_probe_torch.py`). Use ResNet18 for short runs.
use sgm_data::{Split, SynthConfig};
use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};

fn main() {
    let set = sgm_data::generate_synth(&SynthConfig::small(2, 1), Split::Train).unwrap();
    for kind in [BackboneKind::FmpNet, BackboneKind::ResNet18, BackboneKind::Cvgg13] {
        let mut cfg = TrainConfig {
            loss: LossKind::Softmax,
            epochs: 1,
            batch_size: 16,
            batches_per_epoch: Some(1),
            ..TrainConfig::default()
        };
        cfg.model.backbone = kind;
        cfg.model.in_channels = 1;
        cfg.model.input_size = 32;
        cfg.model.num_classes = Some(8);
        cfg.optimizer.lr = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(1e-3);
        cfg.augment = sgm_data::augment::AugmentConfig::none();
        cfg.model.dropout = std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(0.5);
        let mut t = Trainer::new(cfg, candle_core::Device::Cpu).unwrap();
        let mut losses = Vec::new();
        for e in 0..40 {
            losses.push(t.train_epoch(&set, e).unwrap().loss);
        }
        println!("{kind}: {:?}", losses.iter().step_by(5).map(|l| format!("{l:.3}")).collect::<Vec<_>>());
    }
}
