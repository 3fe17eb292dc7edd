//! Every backbone trains with every loss at 48×48, the size the issue asks every backbone to support: one step
//! each on the synthetic set gives a finite loss and moves every trainable tensor that the loss reaches.

use candle_core::Device;
use sgm_data::{Split, SynthConfig};
use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};

fn snapshot(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    t.weights()
        .into_iter()
        .filter(|(n, _)| !sgm_models::is_buffer(n))
        .map(|(n, w)| (n, w.flatten_all().unwrap().to_dtype(candle_core::DType::F32).unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn each_backbone_takes_a_step_with_each_loss_at_48() {
    let synth = SynthConfig::small(4, 2);
    let train = sgm_data::generate_synth(&synth, Split::Train).unwrap();
    for backbone in BackboneKind::ALL {
        for loss in [LossKind::Sgm, LossKind::Triplet, LossKind::Softmax] {
            let mut cfg = TrainConfig {
                loss,
                epochs: 1,
                samples_per_class: 2,
                batches_per_epoch: Some(1),
                batch_size: 16,
                triplets_per_epoch: 6,
                triplets_per_batch: 6,
                ..TrainConfig::default()
            };
            cfg.model.backbone = backbone;
            cfg.model.input_size = 48;
            cfg.model.num_classes = (loss == LossKind::Softmax).then_some(8);
            cfg.optimizer.lr = 1e-3;
            cfg.augment = sgm_data::augment::AugmentConfig::none();
            let what = format!("{backbone} with the {loss} loss");
            let mut trainer = Trainer::new(cfg, Device::Cpu).unwrap_or_else(|e| panic!("{what}: {e}"));
            let before = snapshot(&trainer);
            let stats = trainer.train_epoch(&train, 0).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                stats.loss.is_finite() && stats.steps == 1,
                "{what}: loss {} over {} steps",
                stats.loss,
                stats.steps
            );
            let after = snapshot(&trainer);
            let moved = before.iter().zip(&after).filter(|(b, a)| b.1 != a.1).count();
            // The class head only learns under the softmax loss; everything else moves under every loss.
            let reachable = before.iter().filter(|(n, _)| loss == LossKind::Softmax || !n.starts_with("head")).count();
            assert!(moved >= reachable, "{what}: {moved} of {reachable} trainable tensors moved");
        }
    }
}
