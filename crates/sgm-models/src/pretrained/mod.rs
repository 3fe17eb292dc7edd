//! Weights from other frameworks: torchvision's (and timm's `tv_in1k`) ImageNet ResNet18 and AlexNet.
//!
//! The authors fine-tuned ResNet18 and AlexNet from torchvision's ImageNet weights. sgm's two backbones use
//! torchvision's variable names for every layer they share with it (`conv1`, `bn1`, `layer1.0.conv1`, …,
//! `features.0`, `classifier.1`), so a torchvision state dict saved as safetensors maps onto them by name;
//! [`import_torchvision`] checks every tensor and says what it did with it ([`ImportReport`]).
//!
//! [`formula`] fills a state dict by a formula that Python computes identically; the parity tests use it to show
//! that the two backbones compute what torchvision's do under the same weights, without a weights fixture.
//!
//! ```
//! use candle_core::Device;
//! use sgm_models::pretrained::{formula_state_dict, import_torchvision, model_var_shapes, InitScope};
//! use sgm_models::{BackboneKind, ModelConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A torchvision-layout ResNet18 state dict (formula-filled here, ImageNet's in real use) …
//! let file = formula_state_dict(BackboneKind::ResNet18, 1000, &Device::Cpu)?;
//! // … into a 1-channel sgm ResNet18 at 48×48: conv1 is folded to one channel, fc is unused.
//! let cfg = ModelConfig { input_size: 48, in_channels: 1, ..ModelConfig::new(BackboneKind::ResNet18) };
//! let vars = model_var_shapes(&cfg)?;
//! let (tensors, report) = import_torchvision(&cfg, &vars, &file, InitScope::All, "resnet18.safetensors")?;
//! assert_eq!(tensors.len(), 100);
//! assert_eq!(report.fresh, ["embedding.bias", "embedding.weight"]);
//! assert_eq!(report.adapted[0].0, "conv1.weight");
//! # Ok(()) }
//! ```

pub mod formula;
pub mod hub;
mod mapping;

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

pub use formula::{formula_tensor, formula_values};
pub use mapping::{import_torchvision, ImportReport, InitScope};

use crate::backbones::alexnet::ALEXNET_FULL_STEM_MIN_SIZE as ALEXNET_STEM_MIN;
use crate::{BackboneKind, EmbeddingModel, ModelConfig, ModelError, Result};

/// The names and shapes of every variable of the model `cfg` describes (parameters and BatchNorm statistics),
/// sorted by name.
pub fn model_var_shapes(cfg: &ModelConfig) -> Result<Vec<(String, Vec<usize>)>> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    EmbeddingModel::new(cfg, vb)?;
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut v: Vec<(String, Vec<usize>)> =
        data.iter().map(|(n, var)| (n.clone(), var.as_tensor().dims().to_vec())).collect();
    v.sort();
    Ok(v)
}

/// The names and shapes of torchvision's `resnet18(num_classes)` or `alexnet(num_classes)` state dict (3 input
/// channels, 224×224 stem, BatchNorm with its step counters, the class layer `fc` / `classifier.6`), sorted by
/// name. The same key set as `torchvision.models.resnet18().state_dict()` (the parity script checks this against
/// torchvision itself).
pub fn torchvision_layout(kind: BackboneKind, num_classes: usize) -> Result<Vec<(String, Vec<usize>)>> {
    let class_layer = class_layer(kind).ok_or_else(|| ModelError::Import {
        file: kind.to_string(),
        reason: "no torchvision counterpart; torchvision layouts exist for resnet18 and alexnet".into(),
    })?;
    let cfg = ModelConfig {
        backbone: kind,
        in_channels: 3,
        input_size: 224,
        embedding_dim: num_classes,
        num_classes: None,
        batch_norm: true,
        ..ModelConfig::new(kind)
    };
    let mut out = Vec::new();
    for (name, dims) in model_var_shapes(&cfg)? {
        if let Some(rest) = name.strip_prefix("embedding.") {
            out.push((format!("{class_layer}.{rest}"), dims));
        } else {
            if let Some(bn) = name.strip_suffix(".running_mean") {
                out.push((format!("{bn}.num_batches_tracked"), vec![]));
            }
            out.push((name, dims));
        }
    }
    out.sort();
    Ok(out)
}

/// A torchvision-layout state dict of `kind` (see [`torchvision_layout`]) filled by the [`formula`]: the stand-in
/// for ImageNet weights in tests and demos.
pub fn formula_state_dict(kind: BackboneKind, num_classes: usize, device: &Device) -> Result<BTreeMap<String, Tensor>> {
    torchvision_layout(kind, num_classes)?
        .into_iter()
        .map(|(name, dims)| Ok((name.clone(), formula_tensor(&name, &dims, device)?)))
        .collect()
}

/// Sets the variables of `varmap` named in `tensors` (as [`import_torchvision`] returns them); every name must be a
/// variable of the model with the tensor's shape.
pub fn assign(varmap: &VarMap, tensors: &[(String, Tensor)]) -> Result<()> {
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    for (name, t) in tensors {
        let var = data
            .get(name)
            .ok_or_else(|| ModelError::Import { file: name.clone(), reason: "no such variable in the model".into() })?;
        var.set(&t.to_dtype(var.as_tensor().dtype())?.to_device(var.as_tensor().device())?)?;
    }
    Ok(())
}

/// The name of torchvision's class layer in `kind` (`fc`, `classifier.6`), if `kind` has a torchvision counterpart.
pub fn class_layer(kind: BackboneKind) -> Option<&'static str> {
    match kind {
        BackboneKind::ResNet18 => Some("fc"),
        BackboneKind::AlexNet => Some("classifier.6"),
        _ => None,
    }
}

/// A whole torchvision classifier in sgm: the model `cfg` describes, built on the CPU from `file` (every tensor,
/// [`InitScope::All`]) with its embedding layer set to the file's class layer, so that the model's embeddings are
/// torchvision's logits. `cfg.embedding_dim` must be the class layer's width. This is how the parity checks
/// compare sgm's backbones with torchvision's; `source` names the file in errors.
pub fn classifier_from_torchvision(
    cfg: &ModelConfig,
    file: &BTreeMap<String, Tensor>,
    source: &str,
) -> Result<(VarMap, EmbeddingModel, ImportReport)> {
    let varmap = VarMap::new();
    let model = EmbeddingModel::new(cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    let (tensors, report) = import_torchvision(cfg, &model_var_shapes(cfg)?, file, InitScope::All, source)?;
    assign(&varmap, &tensors)?;
    let class = class_layer(cfg.backbone).expect("import_torchvision accepted the backbone");
    let head: Vec<(String, Tensor)> = ["weight", "bias"]
        .iter()
        .map(|p| {
            let t = file.get(&format!("{class}.{p}")).ok_or_else(|| ModelError::Import {
                file: source.to_string(),
                reason: format!("no class layer '{class}.{p}'"),
            })?;
            Ok((format!("embedding.{p}"), t.to_dtype(DType::F32)?))
        })
        .collect::<Result<_>>()?;
    if head[0].1.dims() != [cfg.embedding_dim, head[0].1.dim(1)?] {
        return Err(ModelError::ShapeMismatch(Box::new(crate::error::ShapeMismatch {
            file: source.to_string(),
            tensor: format!("{class}.weight"),
            file_shape: head[0].1.dims().to_vec(),
            model_shape: vec![cfg.embedding_dim, head[0].1.dim(1)?],
            hint: " (set embedding_dim to the number of classes)".into(),
        })));
    }
    assign(&varmap, &head)?;
    let mut report = report;
    report.fresh.retain(|n| !n.starts_with("embedding."));
    report.unused.retain(|(n, _)| !n.starts_with(&format!("{class}.")));
    for p in ["bias", "weight"] {
        report.loaded.push(format!("embedding.{p}"));
        report.adapted.push((format!("embedding.{p}"), format!("the class layer's {class}.{p}")));
    }
    report.loaded.sort();
    Ok((varmap, model, report))
}
