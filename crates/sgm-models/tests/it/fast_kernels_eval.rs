//! Evaluation-mode forwards on sgm's CPU kernels — the BatchNorm folded into the convolution's output pass
//! (ResNet18), the ReLU applied as a biased convolution writes its output (FMPNet, CVGG13, AlexNet) — equal
//! candle's own ops (a `Kernels::Candle` twin of the model: candle_nn's BatchNorm and plain `relu`), for every backbone, in
//! f64: the embeddings, and the gradients of an evaluation forward with respect to the input, the convolution
//! weights and the BatchNorm affine parameters.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use sgm_models::layers::Kernels;
use sgm_models::{seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig, NoiseState};

/// The evaluation embedding of `x` and the gradients of `Σ embedding · weights` for the input and every variable.
fn eval(model: &EmbeddingModel, vm: &VarMap, x: &Var) -> (Vec<f64>, Vec<(String, Vec<f64>)>) {
    model.set_noise_state(NoiseState { seed: 5, forwards: 0 });
    let emb = model.forward(x.as_tensor(), false).unwrap().embedding;
    let n = emb.elem_count();
    let weights =
        Tensor::from_vec((0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 5.0).collect(), emb.dims(), &Device::Cpu)
            .unwrap();
    let grads = (&emb * weights).unwrap().sum_all().unwrap().backward().unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let mut out = vec![("input".to_string(), flat(grads.get(x).unwrap()))];
    let data = vm.data().lock().unwrap();
    for (name, var) in data.iter() {
        if let Some(g) = grads.get(var) {
            out.push((name.clone(), flat(g)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    (flat(&emb), out)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn fused_evaluation_forward_equals_candle_ops_for_every_backbone() {
    for kind in BackboneKind::ALL {
        let size = 48;
        let cfg = ModelConfig { backbone: kind, input_size: size, num_classes: None, ..Default::default() };
        let vm = VarMap::new();
        let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 3, DType::F64, &Device::Cpu)).unwrap();
        let batch = 3;
        let x: Vec<f64> =
            (0..batch * size * size).map(|i| ((i as f64) * 0.013).sin() + ((i * 7919) % 17) as f64 / 40.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(x, (batch, 1, size, size), &Device::Cpu).unwrap()).unwrap();
        // Two training forwards move the BatchNorm running statistics away from (0, 1), so the folded scale and
        // shift are not trivial.
        model.set_noise_state(NoiseState { seed: 1, forwards: 0 });
        for _ in 0..2 {
            model.forward(x.as_tensor(), true).unwrap();
        }
        // The same variables (one VarMap), candle's ops.
        let reference = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 3, DType::F64, &Device::Cpu))
            .unwrap()
            .with_kernels(Kernels::Candle);
        let (fast_emb, fast_grads) = eval(&model, &vm, &x);
        let (ref_emb, ref_grads) = eval(&reference, &vm, &x);
        let d = max_rel(&fast_emb, &ref_emb);
        assert!(d < 1e-10, "{kind}: embeddings differ by {d:e}");
        assert_eq!(fast_grads.len(), ref_grads.len(), "{kind}: the same variables get gradients");
        assert!(fast_grads.iter().any(|(n, _)| n.ends_with("bn1.weight")) || kind != BackboneKind::ResNet18);
        for ((name, a), (_, b)) in fast_grads.iter().zip(&ref_grads) {
            let d = max_rel(a, b);
            assert!(d < 1e-9, "{kind}: gradient of {name} differs by {d:e}");
        }
    }
}
