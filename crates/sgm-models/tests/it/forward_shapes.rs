//! Forward passes of every backbone at 48×48 and 64×64, batch 2, in training and evaluation mode, with and
//! without a class head, with 1 and 3 input channels.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use sgm_models::{is_buffer, seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig, ModelError, NoiseState};

fn images(c: usize, s: usize) -> Tensor {
    let n = 2 * c * s * s;
    let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5).collect();
    Tensor::from_vec(v, (2, c, s, s), &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn build(cfg: &ModelConfig) -> (EmbeddingModel, VarMap) {
    let vm = VarMap::new();
    let model = EmbeddingModel::new(cfg, seeded_var_builder(&vm, 42, DType::F32, &Device::Cpu)).unwrap();
    model.set_noise_state(NoiseState { seed: 7, forwards: 0 });
    (model, vm)
}

fn check(kind: BackboneKind, in_channels: usize, input_size: usize, num_classes: Option<usize>) {
    let cfg = ModelConfig { backbone: kind, in_channels, input_size, num_classes, ..ModelConfig::default() };
    let (model, _) = build(&cfg);
    let x = images(in_channels, input_size);
    for train in [true, false] {
        let out = model.forward(&x, train).unwrap();
        assert_eq!(out.embedding.dims(), &[2, 64], "{cfg:?} train={train}");
        assert!(values(&out.embedding).iter().all(|v| v.is_finite()), "{cfg:?}");
        match num_classes {
            Some(c) => assert_eq!(out.logits.unwrap().dims(), &[2, c]),
            None => assert!(out.logits.is_none()),
        }
    }
    // Evaluation is deterministic.
    let a = model.forward(&x, false).unwrap().embedding;
    let b = model.forward(&x, false).unwrap().embedding;
    assert_eq!(values(&a), values(&b), "{cfg:?}");
    // The two images of the batch embed differently.
    assert_ne!(values(&a.get(0).unwrap()), values(&a.get(1).unwrap()));
}

#[test]
fn every_backbone_at_48_gray_with_head() {
    for kind in BackboneKind::ALL {
        check(kind, 1, 48, Some(8));
    }
}

#[test]
fn every_backbone_at_64_rgb_without_head() {
    for kind in BackboneKind::ALL {
        check(kind, 3, 64, None);
    }
}

#[test]
fn resnets_without_batch_norm_have_no_buffers_and_run() {
    for kind in [BackboneKind::ResNet18, BackboneKind::PreActResNet18] {
        let cfg = ModelConfig { backbone: kind, batch_norm: false, ..ModelConfig::default() };
        let (model, vm) = build(&cfg);
        assert!(vm.data().lock().unwrap().keys().all(|k| !is_buffer(k)));
        assert_eq!(model.forward(&images(1, 48), true).unwrap().embedding.dims(), &[2, 64]);
    }
}

#[test]
fn train_flag_reaches_every_batch_norm() {
    for kind in [BackboneKind::ResNet18, BackboneKind::PreActResNet18] {
        let (model, vm) = build(&ModelConfig::new(kind));
        let snapshot = || -> Vec<(String, Vec<f32>)> {
            let data = vm.data().lock().unwrap();
            let mut v: Vec<_> = data
                .iter()
                .filter(|(k, _)| is_buffer(k))
                .map(|(k, var)| (k.clone(), values(var.as_tensor())))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let before = snapshot();
        assert!(!before.is_empty());
        model.forward(&images(1, 48), false).unwrap();
        assert_eq!(snapshot(), before, "eval must leave running statistics alone");
        model.forward(&images(1, 48), true).unwrap();
        for ((name, old), (_, new)) in before.iter().zip(snapshot()) {
            assert_ne!(old, &new, "{kind}: {name} was not updated in training mode");
        }
    }
}

#[test]
fn training_forwards_draw_fresh_noise_reproducibly() {
    for kind in [BackboneKind::FmpNet, BackboneKind::Cvgg13, BackboneKind::AlexNet] {
        let (model, _) = build(&ModelConfig::new(kind));
        let x = images(1, 48);
        let first = values(&model.forward(&x, true).unwrap().embedding);
        let second = values(&model.forward(&x, true).unwrap().embedding);
        assert_ne!(first, second, "{kind}: each training forward draws new dropout/pooling noise");
        assert_eq!(model.noise_state(), NoiseState { seed: 7, forwards: 2 });
        model.set_noise_state(NoiseState { seed: 7, forwards: 1 });
        assert_eq!(values(&model.forward(&x, true).unwrap().embedding), second, "{kind}: resumable noise");
        // A second model from the same seeds reproduces the first training forward exactly.
        let (twin, _) = build(&ModelConfig::new(kind));
        assert_eq!(values(&twin.forward(&x, true).unwrap().embedding), first, "{kind}");
    }
}

#[test]
fn wrong_inputs_are_rejected() {
    let (model, _) = build(&ModelConfig::new(BackboneKind::Cvgg13));
    for bad in [images(3, 48), images(1, 64)] {
        assert!(matches!(model.forward(&bad, false), Err(ModelError::BadInput(_))));
    }
    let ints = Tensor::zeros((2, 1, 48, 48), DType::U32, &Device::Cpu).unwrap();
    assert!(matches!(model.forward(&ints, false), Err(ModelError::BadInput(_))));
    let cfg = ModelConfig { input_size: 8, ..ModelConfig::new(BackboneKind::Cvgg13) };
    let vm = VarMap::new();
    let err = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 0, DType::F32, &Device::Cpu)).unwrap_err();
    assert!(matches!(err, ModelError::InvalidConfig(_)));
}
