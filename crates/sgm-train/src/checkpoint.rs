//! Checkpoints: one safetensors file holding every named tensor (weights and BatchNorm running statistics, or an
//! optimiser state) plus sgm's metadata.
//!
//! The metadata records the format version, the sgm version, free-form JSON (model and training configuration,
//! normalisation, class names, epoch, metrics) and a SHA-256 over the whole file's content: every tensor's name,
//! dtype, shape and bytes, and every metadata entry. Loading checks all of it, so a truncated, corrupted, edited or
//! foreign file is refused with a message naming it, never half-loaded. Files are written atomically.
//!
//! Checkpoints of sgm before format 2 (`sgm-checkpoint/1`) have a checksum over the tensors only. They are still
//! read, with a warning that their metadata is not verified; `sgm export` rewrites one in the current format.

use crate::error::{Result, TrainError};
use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};
use safetensors::tensor::View;
use safetensors::SafeTensors;
use sgm_core::fs::write_atomic;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// The format tag written to every sgm checkpoint: the checksum covers the tensors and the metadata.
pub const FORMAT: &str = "sgm-checkpoint/2";
/// The format of earlier checkpoints, whose checksum covers the tensors only (read with a warning).
pub const FORMAT_V1: &str = "sgm-checkpoint/1";
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
    /// Whether the checksum covered the metadata too (false for a format-1 checkpoint).
    pub metadata_verified: bool,
}

/// One tensor as the digest sees it: name, dtype, shape and raw bytes.
type DigestEntry<'a> = (&'a str, String, Vec<usize>, std::borrow::Cow<'a, [u8]>);

/// SHA-256 over the tensors in name order (name, dtype, shape and raw bytes of each), then, unless `metadata` is
/// `None` (format 1), every metadata entry but the checksum itself in key order.
fn digest<'a>(tensors: impl Iterator<Item = DigestEntry<'a>>, metadata: Option<&HashMap<String, String>>) -> String {
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
    if let Some(meta) = metadata {
        let mut keys: Vec<&String> = meta.keys().filter(|k| k.as_str() != KEY_SHA256).collect();
        keys.sort();
        h.update(b"sgm.metadata");
        for k in keys {
            for part in [k.as_bytes(), meta[k].as_bytes()] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Saves `tensors` with `meta` to `path`, atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], meta: &serde_json::Value) -> Result<()> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<Result<_>>()?;
    let mut info = HashMap::from([
        (KEY_FORMAT.to_string(), FORMAT.to_string()),
        (KEY_VERSION.to_string(), env!("CARGO_PKG_VERSION").to_string()),
        (KEY_META.to_string(), meta.to_string()),
    ]);
    let sha = digest(
        cpu.iter().map(|(n, t)| (n.as_str(), format!("{:?}", View::dtype(t)), t.dims().to_vec(), t.data())),
        Some(&info),
    );
    info.insert(KEY_SHA256.to_string(), sha);
    let bytes = safetensors::serialize(cpu.iter().map(|(n, t)| (n.as_str(), t)), Some(info))
        .map_err(|e| TrainError::Checkpoint(format!("cannot serialise {}: {e}", path.display())))?;
    Ok(write_atomic(path, &bytes)?)
}

/// Loads and verifies a checkpoint onto `device`.
pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    load_bytes(&bytes, path, device)
}

/// Verifies and loads a checkpoint held in memory; `path` names it in errors.
pub fn load_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Checkpoint> {
    let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a readable safetensors file (truncated or corrupt?): {e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("unreadable header: {e}")))?;
    let info = header.metadata().clone().unwrap_or_default();
    let covers_metadata = match info.get(KEY_FORMAT).map(String::as_str) {
        Some(FORMAT) => true,
        Some(FORMAT_V1) => false,
        Some(other) => {
            return Err(bad(format!(
                "unsupported checkpoint format '{other}' (this sgm reads {FORMAT} and {FORMAT_V1})"
            )))
        }
        None => return Err(bad("not an sgm checkpoint (no sgm.format metadata)".into())),
    };
    let views = st.tensors();
    let sha = digest(
        views.iter().map(|(n, v)| {
            (n.as_str(), format!("{:?}", v.dtype()), v.shape().to_vec(), std::borrow::Cow::Borrowed(v.data()))
        }),
        covers_metadata.then_some(&info),
    );
    let expected = info.get(KEY_SHA256).ok_or_else(|| bad("no sgm.sha256 metadata".into()))?;
    if &sha != expected {
        let what = if covers_metadata {
            "the tensors or the metadata (configuration, normalisation, class names) differ from what was saved"
        } else {
            "the tensor data does not match what was saved"
        };
        return Err(bad(format!("checksum mismatch: {what} (corrupt or edited file)")));
    }
    if !covers_metadata {
        tracing::warn!(
            "{}: a checkpoint of an earlier sgm ({FORMAT_V1}), whose checksum covers the tensors only: its \
             configuration, normalisation and class names are not verified (`sgm export` rewrites it as {FORMAT})",
            path.display()
        );
    }
    let meta: serde_json::Value = serde_json::from_str(info.get(KEY_META).map_or("null", String::as_str))
        .map_err(|e| bad(format!("unreadable sgm.meta: {e}")))?;
    let tensors = views
        .iter()
        .map(|(n, v)| Ok((n.clone(), v.load(device).map_err(|e| bad(format!("tensor '{n}': {e}")))?)))
        .collect::<Result<HashMap<_, _>>>()?;
    Ok(Checkpoint {
        tensors,
        meta,
        sgm_version: info.get(KEY_VERSION).cloned().unwrap_or_default(),
        metadata_verified: covers_metadata,
    })
}

/// Whether `path` is a file whose safetensors header carries sgm's checkpoint format tag. Reads the header only;
/// any unreadable file is not a checkpoint.
pub fn is_checkpoint(path: &Path) -> bool {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let mut len = [0u8; 8];
    if f.read_exact(&mut len).is_err() {
        return false;
    }
    let n = u64::from_le_bytes(len);
    if n > 100 << 20 {
        return false;
    }
    let mut header = vec![0u8; n as usize];
    if f.read_exact(&mut header).is_err() {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&header) else { return false };
    v["__metadata__"][KEY_FORMAT].as_str().is_some_and(|f| f.starts_with("sgm-checkpoint/"))
}
