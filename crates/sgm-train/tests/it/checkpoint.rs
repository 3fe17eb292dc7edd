//! Checkpoints round-trip exactly and refuse every kind of damaged or foreign file with a message naming it.

use candle_core::{DType, Device, Tensor};
use sgm_train::checkpoint::{load, save};
use std::path::Path;

fn tensors() -> Vec<(String, Tensor)> {
    let dev = Device::Cpu;
    vec![
        ("conv.weight".into(), Tensor::arange(0f32, 24.0, &dev).unwrap().reshape((2, 3, 2, 2)).unwrap()),
        ("bn.running_mean".into(), Tensor::new(&[0.5f32, -0.25], &dev).unwrap()),
        ("step".into(), Tensor::new(&[7i64], &dev).unwrap()),
    ]
}

fn saved(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("model.safetensors");
    save(&path, &tensors(), &serde_json::json!({"epoch": 3, "backbone": "resnet18"})).unwrap();
    path
}

fn error_of(path: &Path) -> String {
    load(path, &Device::Cpu).unwrap_err().to_string()
}

#[test]
fn round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let ck = load(&saved(dir.path()), &Device::Cpu).unwrap();
    assert_eq!(ck.meta["epoch"], 3);
    assert_eq!(ck.sgm_version, env!("CARGO_PKG_VERSION"));
    for (name, t) in tensors() {
        let got = &ck.tensors[&name];
        assert_eq!(got.dtype(), t.dtype());
        assert_eq!(got.dims(), t.dims());
        let (a, b) = (got.to_dtype(DType::F64).unwrap(), t.to_dtype(DType::F64).unwrap());
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f64>().unwrap()
        );
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 12, 3] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = error_of(&path);
        assert!(err.contains("model.safetensors") && err.contains("truncated or corrupt"), "cut {cut}: {err}");
    }
}

#[test]
fn flipped_bit_is_caught_by_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 9; // inside the tensor data, past the header
    bytes[last] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let err = error_of(&path);
    assert!(err.contains("checksum mismatch"), "{err}");
}

#[test]
fn foreign_safetensors_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    candle_core::safetensors::save(&tensors().into_iter().collect(), &path).unwrap();
    let err = error_of(&path);
    assert!(err.contains("foreign.safetensors: not an sgm checkpoint"), "{err}");
}

#[test]
fn missing_file_names_the_path() {
    let err = error_of(Path::new("/nonexistent/ck.safetensors"));
    assert!(err.contains("/nonexistent/ck.safetensors"), "{err}");
}

#[test]
fn a_same_length_edit_of_the_header_metadata_is_caught_by_the_checksum() {
    // The case: the normalisation mean 0.4914 edited to 0.9914 inside the safetensors header.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let meta =
        serde_json::json!({"train": {"normalization": {"mean": [0.4914], "std": [0.247]}}, "class_names": ["a"]});
    save(&path, &tensors(), &meta).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(6).position(|w| w == b"0.4914").expect("the mean is in the header");
    let mut edited = bytes.clone();
    edited[at + 2] = b'9';
    std::fs::write(&path, &edited).unwrap();
    let err = error_of(&path);
    assert!(err.contains("best.safetensors: checksum mismatch") && err.contains("metadata"), "{err}");
    // A class name edited the same way.
    let at = bytes.windows(4).position(|w| w == b"[\\\"a").map(|i| i + 3).expect("the class name is in the header");
    let mut edited = bytes;
    edited[at] = b'b';
    std::fs::write(&path, &edited).unwrap();
    assert!(error_of(&path).contains("checksum mismatch"));
}

/// A checkpoint as sgm wrote it before its checksum covered the metadata (format 1): SHA-256 over the tensors in
/// name order, each as name length, name, dtype, shape, data length, data.
fn save_format_1(path: &Path, meta: &serde_json::Value) {
    use sha2::{Digest, Sha256};
    let mut named = tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (name, t) in &named {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(format!("{:?}", safetensors::tensor::View::dtype(t)).as_bytes());
        for &d in t.dims() {
            h.update((d as u64).to_le_bytes());
        }
        let data = safetensors::tensor::View::data(t);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    let sha: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let info = std::collections::HashMap::from([
        ("sgm.format".to_string(), "sgm-checkpoint/1".to_string()),
        ("sgm.version".to_string(), "0.1.0".to_string()),
        ("sgm.sha256".to_string(), sha),
        ("sgm.meta".to_string(), meta.to_string()),
    ]);
    let bytes = safetensors::serialize(named.iter().map(|(n, t)| (n.as_str(), t)), Some(info)).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_checkpoint_of_format_1_is_read_with_its_tensors_still_verified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.safetensors");
    save_format_1(&path, &serde_json::json!({"epoch": 2}));
    let ck = load(&path, &Device::Cpu).unwrap();
    assert!(!ck.metadata_verified, "format 1 has no checksum over its metadata");
    assert_eq!(ck.meta["epoch"], 2);
    assert_eq!(ck.tensors.len(), tensors().len());
    let fresh = load(&saved(dir.path()), &Device::Cpu).unwrap();
    assert!(fresh.metadata_verified);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    assert!(error_of(&path).contains("checksum mismatch"));
}
