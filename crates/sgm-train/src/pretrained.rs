//! Foreign initial weights: a torchvision state dict (ImageNet's, from timm's hub copy or converted from torchvision
//! by `bench/parity/convert_torchvision.py`) read from a plain safetensors file, mapped onto the model by
//! [`sgm_models::pretrained::import_torchvision`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use sgm_models::pretrained::{import_torchvision, model_var_shapes, ImportReport, InitScope};
use sgm_models::ModelConfig;

use crate::error::{Result, TrainError};

/// The file name of a hub repository given as `hf:OWNER/REPO` (timm's weights file).
pub const HUB_FILE: &str = "model.safetensors";

/// Where the ImageNet weights of `backbone` are on the Hugging Face hub (`--init imagenet`).
///
/// ResNet18: timm's copy of torchvision's weights (`resnet18.tv_in1k`, torchvision's tensor names). AlexNet has no
/// hub copy: convert torchvision's with `bench/parity/convert_torchvision.py` and pass the file.
pub fn imagenet_source(backbone: sgm_models::BackboneKind) -> Result<&'static str> {
    use sgm_models::BackboneKind;
    match backbone {
        BackboneKind::ResNet18 => Ok("hf:timm/resnet18.tv_in1k/model.safetensors"),
        BackboneKind::AlexNet => Err(TrainError::Config(
            "torchvision's ImageNet AlexNet has no copy on the Hugging Face hub: convert it with \
             `python bench/parity/convert_torchvision.py alexnet alexnet.safetensors` (needs torchvision and network) \
             and pass --init alexnet.safetensors"
                .into(),
        )),
        other => Err(TrainError::Config(format!(
            "there are no ImageNet weights for {other}: --init applies to resnet18 and alexnet (the authors trained \
             the other backbones from scratch)"
        ))),
    }
}

/// Where a run's initial weights came from, as recorded in its configuration (`config.toml`, `[init]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainedInit {
    /// The spec as given: `hf:timm/resnet18.tv_in1k/model.safetensors`, a path, …
    pub source: String,
    /// The SHA-256 of the file that was read (lower-case hex).
    pub sha256: String,
    /// Which tensors were loaded.
    #[serde(default)]
    pub scope: InitScope,
}

/// Foreign weights to start a fresh run from: the resolved file and what to take from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignInit {
    /// The local file (after hub resolution).
    pub path: PathBuf,
    /// Which tensors to load.
    pub scope: InitScope,
}

/// Reads every tensor of a plain safetensors file (onto `device`), refusing an sgm checkpoint, which `--weights`
/// takes instead.
pub fn read_state_dict(path: &Path, device: &Device) -> Result<BTreeMap<String, Tensor>> {
    let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a readable safetensors file (truncated or corrupt?): {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if header.metadata().as_ref().is_some_and(|m| m.contains_key(crate::checkpoint::KEY_FORMAT)) {
        return Err(bad(
            "this is an sgm checkpoint, not a torchvision state dict; start from it with --weights instead of --init"
                .into(),
        ));
    }
    st.tensors()
        .iter()
        .map(|(n, v)| {
            let t = v.load(device).map_err(|e| bad(format!("tensor '{n}': {e}")))?;
            Ok((n.clone(), t))
        })
        .collect()
}

/// Maps the torchvision state dict in `path` onto the model `cfg` describes: the tensors to set, and the report.
pub fn map_file(
    cfg: &ModelConfig,
    path: &Path,
    scope: InitScope,
    device: &Device,
) -> Result<(Vec<(String, Tensor)>, ImportReport)> {
    let file = read_state_dict(path, device)?;
    Ok(import_torchvision(cfg, &model_var_shapes(cfg)?, &file, scope, &path.display().to_string())?)
}
