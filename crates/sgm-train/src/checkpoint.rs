//! Checkpoints: one safetensors file holding every named tensor (weights and BatchNorm running statistics, or an
//! optimiser state) plus sgm's metadata.
//!
//! The metadata records the format version, the sgm version, free-form JSON (model and training configuration,
//! epoch, metrics) and a SHA-256 over every tensor's name, dtype, shape and bytes. Loading checks all of it, so a
//! truncated, corrupted or foreign file is refused with a message naming it, never half-loaded. Files are written
//! atomically.

use crate::atomic::write_atomic;
use crate::error::{Result, TrainError};
use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};
use safetensors::tensor::View;
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// The format tag written to every sgm checkpoint.
pub const FORMAT: &str = "sgm-checkpoint/1";
/// The metadata key that marks a safetensors file as an sgm checkpoint.
pub const KEY_FORMAT: &str = "sgm.format";
const KEY_VERSION: &str = "sgm.version";
const KEY_SHA256: &str = "sgm.sha256";
const KEY_META: &str = "sgm.meta";

/// A loaded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The tensors by name.
    pub tensors: HashMap<String, Tensor>,
    /// The JSON metadata saved with them.
    pub meta: serde_json::Value,
    /// The sgm version that wrote the file.
    pub sgm_version: String,
}

/// SHA-256 over the tensors in name order: name, dtype, shape and raw bytes of each.
fn digest<'a>(tensors: impl Iterator<Item = (&'a str, String, Vec<usize>, std::borrow::Cow<'a, [u8]>)>) -> String {
    let mut entries: Vec<_> = tensors.collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, dtype, shape, data) in entries {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(dtype.as_bytes());
        for d in shape {
            h.update((d as u64).to_le_bytes());
        }
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Saves `tensors` with `meta` to `path`, atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], meta: &serde_json::Value) -> Result<()> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<Result<_>>()?;
    let sha =
        digest(cpu.iter().map(|(n, t)| (n.as_str(), format!("{:?}", View::dtype(t)), t.dims().to_vec(), t.data())));
    let info = HashMap::from([
        (KEY_FORMAT.to_string(), FORMAT.to_string()),
        (KEY_VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()),
        (KEY_SHA256.to_string(), sha),
        (KEY_META.to_string(), meta.to_string()),
    ]);
    let bytes = safetensors::serialize(cpu.iter().map(|(n, t)| (n.as_str(), t)), Some(info))
        .map_err(|e| TrainError::Checkpoint(format!("cannot serialise {}: {e}", path.display())))?;
    write_atomic(path, &bytes)
}

/// Loads and verifies a checkpoint onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
    let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a readable safetensors file (truncated or corrupt?): {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let info = header.metadata().clone().unwrap_or_default();
    match info.get(KEY_FORMAT).map(String::as_str) {
        Some(FORMAT) => {}
        Some(other) => return Err(bad(format!("unsupported checkpoint format '{other}' (this sgm reads {FORMAT})"))),
        None => return Err(bad("not an sgm checkpoint (no sgm.format metadata)".into())),
    }
    let views = st.tensors();
    let sha = digest(views.iter().map(|(n, v)| {
        (n.as_str(), format!("{:?}", v.dtype()), v.shape().to_vec(), std::borrow::Cow::Borrowed(v.data()))
    }));
    let expected = info.get(KEY_SHA256).ok_or_else(|| bad("no sgm.sha256 metadata".into()))?;
    if &sha != expected {
        return Err(bad("checksum mismatch: the tensor data does not match what was saved (corrupt file)".into()));
    }
    let meta: serde_json::Value = serde_json::from_str(info.get(KEY_META).map_or("null", String::as_str))
        .map_err(|e| bad(format!("unreadable sgm.meta: {e}")))?;
    let tensors = views.iter().map(|(n, v)| Ok((n.clone(), v.load(device)?))).collect::<Result<HashMap<_, _>>>()?;
    Ok(Checkpoint { tensors, meta, sgm_version: info.get(KEY_VERSION).cloned().unwrap_or_default() })
}
