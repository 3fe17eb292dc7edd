//! Weights saved from a VarMap and loaded into a fresh one before building give the same model, whatever the seed
//! of the builder (existing variables are returned as they are).

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use sgm_models::{is_buffer, seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig};

#[test]
fn saved_weights_and_buffers_reload_into_a_new_model() {
    let cfg = ModelConfig { backbone: BackboneKind::ResNet18, num_classes: Some(8), ..ModelConfig::default() };
    let vm = VarMap::new();
    let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 11, DType::F32, &Device::Cpu)).unwrap();
    let v: Vec<f32> = (0..2 * 48 * 48).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
    let x = Tensor::from_vec(v, (2, 1, 48, 48), &Device::Cpu).unwrap();
    model.forward(&x, true).unwrap(); // moves the running statistics away from their initial values
    let want = model.forward(&x, false).unwrap();

    let path = std::env::temp_dir().join(format!("sgm-models-roundtrip-{}.safetensors", std::process::id()));
    vm.save(&path).unwrap();
    let loaded = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(loaded.keys().any(|k| is_buffer(k)), "running statistics are saved with the weights");

    let fresh = VarMap::new();
    {
        let mut data = fresh.data().lock().unwrap();
        for (name, t) in loaded {
            data.insert(name, Var::from_tensor(&t).unwrap());
        }
    }
    let n_before = fresh.all_vars().len();
    let again = EmbeddingModel::new(&cfg, seeded_var_builder(&fresh, 999, DType::F32, &Device::Cpu)).unwrap();
    assert_eq!(fresh.all_vars().len(), n_before, "building must not add variables");
    let got = again.forward(&x, false).unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(flat(&want.embedding), flat(&got.embedding));
    assert_eq!(flat(&want.logits.unwrap()), flat(&got.logits.unwrap()));
}
