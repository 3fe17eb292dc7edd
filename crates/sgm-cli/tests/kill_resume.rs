//! A training process killed mid-epoch and resumed ends with exactly the weights of a run that was never killed.
//! Runs the real `sgm` binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn sgm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sgm"))
}

fn train_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "train",
        "--synth-per-class",
        "12",
        "--backbone",
        "fmpnet",
        "--size",
        "24",
        "--channels",
        "1",
        "--epochs",
        "3",
        "--samples-per-class",
        "2",
        "--batches-per-epoch",
        "6",
        "--no-test",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(out.display().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn weights(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, t)| (n, t.data().to_vec())).collect();
    v.sort();
    v
}

fn epochs_logged(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn killed_mid_epoch_then_resumed_matches_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, killed): (PathBuf, PathBuf) = (tmp.path().join("whole"), tmp.path().join("killed"));
    let status = sgm().args(train_args(&whole, &[])).status().unwrap();
    assert!(status.success());

    // Start the same run, wait until epoch 1 is on disk, let epoch 2 begin, then kill the process.
    let mut child = sgm().args(train_args(&killed, &[])).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while epochs_logged(&killed) < 1 {
        assert!(Instant::now() < deadline, "epoch 1 never finished");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before_kill = epochs_logged(&killed);
    assert!(done_before_kill < 3, "the run finished before the kill; the test proves nothing");

    let status = sgm().args(train_args(&killed, &["--resume"])).status().unwrap();
    assert!(status.success());
    assert_eq!(epochs_logged(&killed), 3);
    assert_eq!(weights(&whole.join("last.safetensors")), weights(&killed.join("last.safetensors")));
    let (a, b) = (
        std::fs::read_to_string(whole.join("metrics.jsonl")).unwrap(),
        std::fs::read_to_string(killed.join("metrics.jsonl")).unwrap(),
    );
    // Same losses and validation scores epoch by epoch (throughput and wall time differ).
    let scores = |s: &str| -> Vec<(f64, Option<f64>)> {
        s.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["train_loss"].as_f64().unwrap(), v["val_knn_accuracy"].as_f64())
            })
            .collect()
    };
    assert_eq!(scores(&a), scores(&b));
}
