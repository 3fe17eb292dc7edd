//! Helpers shared by the end-to-end tests.

use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Runs `sgm ARGS…` in-process, as the binary would, returning its error instead of printing it.
pub fn sgm(args: &[&str]) -> anyhow::Result<()> {
    sgm_cli::run(std::iter::once("sgm").chain(args.iter().copied()))
}

/// `$SGM_DATA_DIR`, for the tests marked `#[ignore = "needs SGM_DATA_DIR"]`; panics naming the variable when it is
/// unset, so that `--ignored` without data fails instead of passing.
#[allow(dead_code)]
pub fn data_dir() -> PathBuf {
    match std::env::var_os("SGM_DATA_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => panic!("this test needs the real data: set SGM_DATA_DIR (see ../shared/data/README.md)"),
    }
}

/// Writes embeddings as `sgm embed --out X.safetensors` does: tensors `embeddings` (f32, rows × dim) and `labels`.
#[allow(dead_code)]
pub fn write_embeddings(path: &Path, x: &[f32], rows: usize, dim: usize, labels: &[u32]) {
    let dev = Device::Cpu;
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let tensors = HashMap::from([
        ("embeddings".to_string(), Tensor::from_slice(x, (rows, dim), &dev).unwrap()),
        ("labels".to_string(), Tensor::from_vec(labels, rows, &dev).unwrap()),
    ]);
    candle_core::safetensors::save(&tensors, path).unwrap();
}

/// The embeddings of a `.safetensors` (tensor `embeddings`) or `.npy` file written by `sgm`.
#[allow(dead_code)]
pub fn read_embeddings(path: &Path) -> sgm_core::Embeddings {
    if path.extension().is_some_and(|e| e == "npy") {
        let npy = npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap();
        let shape = npy.shape().to_vec();
        let data: Vec<f32> = npy.into_vec().unwrap();
        return sgm_core::Embeddings::new(data, shape[0] as usize, shape[1] as usize, "test").unwrap();
    }
    let t = candle_core::safetensors::load(path, &Device::Cpu).unwrap().remove("embeddings").unwrap();
    sgm_core::Embeddings::from_tensor(&t.to_dtype(DType::F32).unwrap(), "test").unwrap()
}

/// The labels of a `.safetensors` (tensor `name`) or `.npy` file written by `sgm`.
#[allow(dead_code)]
pub fn read_labels(path: &Path, name: &str) -> Vec<u32> {
    let v: Vec<i64> = if path.extension().is_some_and(|e| e == "npy") {
        npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap().into_vec().unwrap()
    } else {
        let t = candle_core::safetensors::load(path, &Device::Cpu).unwrap().remove(name).unwrap();
        t.to_dtype(DType::I64).unwrap().to_vec1().unwrap()
    };
    v.into_iter().map(|l| l as u32).collect()
}
