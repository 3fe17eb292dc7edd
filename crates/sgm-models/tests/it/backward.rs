//! One SGD step on a tiny batch, for every backbone: every trainable variable gets a non-zero gradient, and the
//! step lowers a simple loss (MSE of the embedding to a target + cross-entropy of the class head).

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use sgm_models::{is_buffer, seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig, NoiseState};

fn loss(model: &EmbeddingModel, x: &Tensor, target: &Tensor, labels: &Tensor) -> Tensor {
    // Same noise for both evaluations of the loss, so the comparison sees the step only.
    model.set_noise_state(NoiseState { seed: 3, forwards: 0 });
    let out = model.forward(x, true).unwrap();
    let mse = (out.embedding - target).unwrap().sqr().unwrap().mean_all().unwrap();
    let ce = candle_nn::loss::cross_entropy(&out.logits.unwrap(), labels).unwrap();
    (mse + ce).unwrap()
}

#[test]
fn one_sgd_step_reaches_every_parameter_and_lowers_the_loss() {
    for kind in BackboneKind::ALL {
        let cfg = ModelConfig { backbone: kind, num_classes: Some(3), embedding_dim: 8, ..ModelConfig::default() };
        let vm = VarMap::new();
        let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 5, DType::F32, &Device::Cpu)).unwrap();
        let v: Vec<f32> = (0..4 * 48 * 48).map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5).collect();
        let x = Tensor::from_vec(v, (4, 1, 48, 48), &Device::Cpu).unwrap();
        let target =
            Tensor::from_vec((0..32).map(|i| (i % 5) as f32 - 2.0).collect::<Vec<_>>(), (4, 8), &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0u32, 1, 2, 1], &Device::Cpu).unwrap();

        let before = loss(&model, &x, &target, &labels);
        let grads = before.backward().unwrap();
        let before = before.to_scalar::<f32>().unwrap();
        let vars: Vec<(String, candle_core::Var)> =
            vm.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut trainable = 0;
        for (name, var) in &vars {
            let grad = grads.get(var);
            if is_buffer(name) {
                assert!(grad.is_none(), "{kind}: buffer {name} got a gradient");
                continue;
            }
            trainable += 1;
            let grad = grad.unwrap_or_else(|| panic!("{kind}: no gradient for {name}"));
            let norm = grad.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0 && norm.is_finite(), "{kind}: zero or non-finite gradient for {name}");
            var.set(&(var.as_tensor() - (grad * 1e-3).unwrap()).unwrap()).unwrap();
        }
        assert!(trainable >= 10, "{kind}: {trainable} trainable variables");
        let after = loss(&model, &x, &target, &labels).to_scalar::<f32>().unwrap();
        assert!(after < before, "{kind}: loss {before} → {after}");
    }
}
