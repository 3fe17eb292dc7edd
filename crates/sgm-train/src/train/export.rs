//! Exporting a trained model for inference: the weights (and BatchNorm statistics) of any checkpoint, without the
//! optimiser state, with the model and input configuration and a fresh checksum in the metadata. `sgm embed` and
//! `Trainer::load` read the result like any checkpoint.
//!
//! To publish a model on the Hugging Face hub, upload the exported file to a model repository (for example with
//! `huggingface-cli upload OWNER/REPO model.safetensors`); the file is self-describing.

use crate::checkpoint;
use crate::error::{Result, TrainError};
use candle_core::Device;
use std::path::Path;

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// Tensors kept (weights and BatchNorm statistics).
    pub tensors: usize,
    /// Optimiser tensors dropped.
    pub dropped: usize,
}

/// Writes the inference-only form of the checkpoint `src` to `dst` (atomically).
pub fn export(src: &Path, dst: &Path) -> Result<ExportSummary> {
    let ck = checkpoint::load(src, &Device::Cpu)?;
    if ck.meta.get("model").is_none_or(|m| m.is_null()) || ck.meta.get("train").is_none_or(|m| m.is_null()) {
        return Err(TrainError::CheckpointFile {
            path: src.to_path_buf(),
            reason: "not a model checkpoint written by sgm train (no model/train configuration)".into(),
        });
    }
    let mut kept: Vec<(String, candle_core::Tensor)> =
        ck.tensors.iter().filter(|(n, _)| !n.starts_with("optim/")).map(|(n, t)| (n.clone(), t.clone())).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let dropped = ck.tensors.len() - kept.len();
    let mut meta = ck.meta.clone();
    meta["export"] = serde_json::json!({
        "from": src.display().to_string(),
        "sgm_version": env!("CARGO_PKG_VERSION"),
    });
    checkpoint::save(dst, &kept, &meta)?;
    Ok(ExportSummary { tensors: kept.len(), dropped })
}
