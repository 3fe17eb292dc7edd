//! Run directories under real processes (the `sgm` binary): a training process killed mid-epoch and resumed ends
//! with exactly the weights of a run that was never killed, and a second writer of a run directory is refused while
//! the first runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The built `sgm` binary, as a process (killing it mid-run needs a real one).
fn sgm_process() -> Command {
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
    let status = sgm_process().args(train_args(&whole, &[])).status().unwrap();
    assert!(status.success());

    // Start the same run, wait until epoch 1 is on disk, let epoch 2 begin, then kill the process.
    let mut child = sgm_process().args(train_args(&killed, &[])).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while epochs_logged(&killed) < 1 {
        assert!(Instant::now() < deadline, "epoch 1 never finished");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed_pid = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before_kill = epochs_logged(&killed);
    assert!(done_before_kill < 3, "the run finished before the kill; the test proves nothing");
    // The killed process left its PID in the lock, not the lock itself; a temporary file of a write it was making
    // is removed at the next start.
    let lock = std::fs::read_to_string(killed.join(".sgm-run.lock")).unwrap();
    assert_eq!(lock.trim(), killed_pid.to_string());
    let stale = killed.join(format!(".resume.safetensors.tmp-{killed_pid}"));
    std::fs::write(&stale, vec![0u8; 1 << 16]).unwrap();

    let resumed = sgm_process().args(train_args(&killed, &["--resume"])).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(log.contains(&format!("taking over the lock left by sgm process {killed_pid}")), "{log}");
    assert!(!stale.exists(), "the killed writer's temporary file is still there");
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

#[test]
fn a_second_writer_of_a_run_directory_is_refused_at_once_with_the_holder_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut first = sgm_process().args(train_args(&out, &[])).stderr(std::process::Stdio::null()).spawn().unwrap();
    let lock = out.join(".sgm-run.lock");
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&lock).map(|s| s.trim().is_empty()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "the first run never took its lock");
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first run ended ({status}) before a second one could be started");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for extra in [&[][..], &["--overwrite"], &["--resume"]] {
        let started = Instant::now();
        let second = sgm_process().args(train_args(&out, extra)).output().unwrap();
        let err = String::from_utf8_lossy(&second.stderr);
        assert!(!second.status.success(), "a second writer {extra:?} ran alongside the first");
        assert!(
            err.contains("is in use by another sgm process") && err.contains(&format!("PID {}", first.id())),
            "{err}"
        );
        assert!(err.contains(&out.display().to_string()), "{err}");
        assert!(started.elapsed() < Duration::from_secs(60), "refused, but not at once");
    }
    assert!(first.wait().unwrap().success());
    // The first run's logs are its own: one line per epoch, none interleaved.
    assert_eq!(epochs_logged(&out), 3);
}

/// The files of a run directory and their bytes, temporary files and the lock included.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_that_fails_for_lack_of_space_loses_nothing_and_the_run_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, full): (PathBuf, PathBuf) = (tmp.path().join("whole"), tmp.path().join("full"));
    assert!(sgm_process().args(train_args(&whole, &[])).status().unwrap().success());
    let mut one = train_args(&full, &[]);
    let epochs = one.iter().position(|a| a == "--epochs").unwrap() + 1;
    one[epochs] = "1".into();
    assert!(sgm_process().args(&one).status().unwrap().success());
    // The lock holds the PID of its last holder; config.toml is rewritten by the resumed run with its 3 epochs.
    let kept = |n: &String| n != ".sgm-run.lock" && n != "config.toml";
    let before: Vec<_> = snapshot(&full).into_iter().filter(|(n, _)| kept(n)).collect();

    // The disk fills up while epoch 2 is saved: every file may grow to 256 KiB, far less than a checkpoint
    // (RLIMIT_FSIZE, with SIGXFSZ ignored, fails the write as a full disk does: the same error path).
    let script = "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\"";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_sgm"))
        .args(train_args(&full, &["--resume"]))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the write did not fail; the test proves nothing");
    assert!(err.contains("last.safetensors") && err.contains("too large"), "{err}");
    let after: Vec<_> = snapshot(&full).into_iter().filter(|(n, _)| kept(n)).collect();
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, b)| format!("{n} ({} bytes)", b.len())).collect::<Vec<_>>();
    assert_eq!(names(&after), names(&before), "a failed write left or removed a file");
    for ((name, a), (_, b)) in after.iter().zip(&before) {
        assert!(a == b, "{name} changed although the write failed");
    }

    // With room again, the run resumes from epoch 1 and ends as the run that never failed.
    let resumed = sgm_process().args(train_args(&full, &["--resume"])).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(epochs_logged(&full), 3);
    assert_eq!(weights(&whole.join("last.safetensors")), weights(&full.join("last.safetensors")));
}
