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
