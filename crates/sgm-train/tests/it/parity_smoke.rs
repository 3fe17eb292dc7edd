//! The training parity smoke: sgm's ResNet18 and SGM loss on one fixed batch give the PyTorch reference's loss
//! (`bench/parity/train_reference.py --smoke`) to 1e-5.
//!
//! Both sides fill every tensor of a 1-channel ResNet18 (32×32 input, 64-d embedding) by the shared formula
//! (`sgm_models::pretrained::formula`, `bench/parity/formula.py`), embed the formula batch `input.1x32` of 16
//! images in one training-mode forward (BatchNorm on batch statistics), label image i with class i mod 8, and take
//! the SGM loss. σ = 8: at σ = 1 the formula network separates the batch so well that the loss is 9e-11 and any
//! network would pass. The stored values come from torch 2.15 (CPU):
//!
//! ```python
//! model = build(channels=1, dim=64, batch_norm=True); fill_state_dict(model)   # bench/parity/reference/model.py
//! x = torch.from_numpy(formula_values("input.1x32", (16, 1, 32, 32)))
//! y = torch.tensor([i % 8 for i in range(16)]); model.train(); z = model(x)
//! SgmLoss(8, sigma=8.0, form="logsumexp")(z, y)          # 0.5929980278015137;  z.double().sum() -45.372547913342714
//! ```
//!
//! Where torch is installed (`SGM_PYTHON`, else `python3`), the test also runs the reference live; otherwise it
//! says that it skipped that half.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use sgm_core::SgmLoss;
use sgm_models::pretrained::{assign, formula_tensor, formula_values, model_var_shapes};
use sgm_models::{BackboneKind, EmbeddingModel, ModelConfig};
use std::process::Command;

const TORCH_LOSS: f64 = 0.5929980278015137;
const TORCH_EMBEDDING_SUM: f64 = -45.372547913342714;

/// sgm's (loss, embedding sum) on the smoke batch.
fn sgm_smoke(sigma: f64) -> (f64, f64) {
    let cfg = ModelConfig { input_size: 32, in_channels: 1, ..ModelConfig::new(BackboneKind::ResNet18) };
    let varmap = VarMap::new();
    let model = EmbeddingModel::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
    let tensors: Vec<(String, Tensor)> = model_var_shapes(&cfg)
        .unwrap()
        .into_iter()
        .map(|(name, dims)| {
            let t = formula_tensor(&name, &dims, &Device::Cpu).unwrap();
            (name, t)
        })
        .collect();
    assign(&varmap, &tensors).unwrap();
    let x = Tensor::from_vec(formula_values("input.1x32", &[16, 1, 32, 32]), (16, 1, 32, 32), &Device::Cpu).unwrap();
    let y = Tensor::from_vec((0..16u32).map(|i| i % 8).collect::<Vec<_>>(), 16, &Device::Cpu).unwrap();
    let z = model.forward(&x, true).unwrap().embedding;
    let loss = SgmLoss::new(sigma).forward(&z, &y).unwrap().to_scalar::<f32>().unwrap() as f64;
    let sum = z.to_dtype(DType::F64).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap();
    (loss, sum)
}

#[test]
fn sgm_loss_on_a_fixed_batch_equals_the_pytorch_references() {
    let (loss, sum) = sgm_smoke(8.0);
    println!("sgm: loss {loss:.10}, embedding sum {sum:.8}; torch 2.15: {TORCH_LOSS:.10}, {TORCH_EMBEDDING_SUM:.8}");
    assert!((loss - TORCH_LOSS).abs() <= 1e-5, "loss {loss} against torch's {TORCH_LOSS}");
    assert!((sum - TORCH_EMBEDDING_SUM).abs() <= 1e-3 * TORCH_EMBEDDING_SUM.abs(), "embedding sum {sum}");

    let python = std::env::var("SGM_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_torch =
        Command::new(&python).args(["-c", "import torch, torchvision"]).output().is_ok_and(|o| o.status.success());
    if !has_torch {
        println!("skipped the live half: {python} cannot import torch and torchvision (set SGM_PYTHON)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/parity/train_reference.py");
    let out = Command::new(&python).args([script, "--smoke", "--sigma", "8"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let live_loss = live["loss"].as_f64().unwrap();
    println!("live reference ({python}): loss {live_loss:.10}");
    assert!((loss - live_loss).abs() <= 1e-5, "loss {loss} against the live reference's {live_loss}");
}
