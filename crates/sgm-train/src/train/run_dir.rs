//! The run directory: what a training run leaves on disk.
//!
//! ```text
//! runs/NAME/
//!   .sgm-run.lock          held by the process writing the run (see [`crate::train::run_lock`])
//!   config.toml            the resolved configuration
//!   metrics.jsonl          one JSON object per epoch
//!   metrics.csv            the same as CSV
//!   last.safetensors       weights (and BatchNorm statistics) after the latest epoch
//!   best.safetensors       weights of the best validation epoch
//!   epoch-010.safetensors  every `checkpoint_every` epochs
//!   resume.safetensors     weights + optimiser state, for resuming
//!   test_report.json       the test-split scores (`sgm train`)
//!   eval.json              the evaluation cache of `sgm reproduce`
//!   init.json              what a run started from foreign (ImageNet) weights loaded: source, SHA-256, and every
//!                          tensor loaded, adapted, freshly initialised or unused
//! ```
//! Checkpoints and the config are written atomically. The logs are appended after the checkpoint of their
//! epoch is safely on disk, so they never run ahead of what can be resumed. [`RunDir::open`] locks the directory
//! for one writer and removes the temporary files that writers killed mid-write left behind.

use crate::error::{Result, TrainError};
use crate::train::run_lock::{pid_alive, RunLock, LOCK_FILE};
use serde::{Deserialize, Serialize};
use sgm_core::fs::write_atomic;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The scores of one epoch, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Validation kNN accuracy (K from the config), if there is a validation set.
    pub val_knn_accuracy: Option<f64>,
    /// Validation kNN paper-F1.
    pub val_knn_f1: Option<f64>,
    /// Validation top-1 accuracy of the class head (softmax loss).
    pub val_top1: Option<f64>,
    /// Training throughput.
    pub images_per_second: f64,
    /// Wall time of the epoch, training and validation.
    pub seconds: f64,
    /// Triplet runs: mean anchor–positive distance over the epoch's triplets (random or mined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_ap_distance: Option<f64>,
    /// Triplet runs: mean anchor–negative distance over the epoch's triplets (random or mined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_an_distance: Option<f64>,
    /// Triplet runs: mean fraction of the weighed triplets whose hinge was positive (batch-all: of every valid
    /// triplet of the batch), which falls as the network meets the margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_active_triplets: Option<f64>,
}

impl EpochRecord {
    /// The score that selects the best checkpoint: top-1 for the softmax loss when present, else kNN accuracy.
    pub fn selection_score(&self) -> Option<f64> {
        self.val_top1.or(self.val_knn_accuracy)
    }
}

/// Paths of a run directory, and its lock while this process writes it.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    lock: Option<Arc<RunLock>>,
}

/// The fixed names of the files a run writes (besides `epoch-NNN.safetensors`).
const RUN_FILES: [&str; 9] = [
    "config.toml",
    "metrics.jsonl",
    "metrics.csv",
    "last.safetensors",
    "best.safetensors",
    "resume.safetensors",
    "test_report.json",
    "eval.json",
    "init.json",
];

/// The columns of `metrics.csv`, one row per epoch.
const METRICS_CSV_HEADER: [&str; 8] =
    ["epoch", "train_loss", "lr", "val_knn_accuracy", "val_knn_f1", "val_top1", "images_per_second", "seconds"];

impl RunDir {
    /// Opens the run directory for writing: creates it when needed, takes its lock (refused while another process
    /// holds it) and removes the temporary files of writers that died mid-write. The lock is held until the last
    /// clone of the returned value is dropped.
    pub fn open(root: &Path) -> Result<Self> {
        prepare_dir(root)?;
        let lock = RunLock::acquire(root)?;
        let run = Self { root: root.to_path_buf(), lock: Some(Arc::new(lock)) };
        for path in run.remove_stale_temps()? {
            tracing::info!("removed {}, left by a writer that did not finish", path.display());
        }
        Ok(run)
    }

    /// The paths of a run directory, for reading; takes no lock and creates nothing.
    pub fn at(root: &Path) -> Self {
        Self { root: root.to_path_buf(), lock: None }
    }

    /// The lock, when this value was made by [`RunDir::open`].
    pub fn lock(&self) -> Option<&RunLock> {
        self.lock.as_deref()
    }

    /// Whether `name` is a file a run writes: the configuration, the logs, the checkpoints, the reports, and the
    /// temporary files (`.NAME.tmp-PID-XXXXXX`) of their atomic writes. The lock file is not one of them.
    pub fn is_run_file(name: &str) -> bool {
        let is_epoch = |n: &str| {
            n.strip_prefix("epoch-")
                .and_then(|r| r.strip_suffix(".safetensors"))
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        };
        let base = |n: &str| RUN_FILES.contains(&n) || is_epoch(n);
        base(name) || sgm_core::fs::temp_file_owner(name).is_some_and(|(target, _)| base(target))
    }

    /// Whether `dir` looks like a run directory: it holds a run lock file or a run's checkpoints and logs.
    pub fn is_run_dir(dir: &Path) -> bool {
        dir.is_dir()
            && (dir.join(LOCK_FILE).is_file()
                || dir.join("resume.safetensors").is_file()
                || (dir.join("config.toml").is_file() && dir.join("metrics.jsonl").is_file()))
    }

    /// The files of a run in the directory (see [`RunDir::is_run_file`]), sorted.
    pub fn run_files(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(TrainError::io(&self.root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| TrainError::io(&self.root, e))?;
            if Self::is_run_file(&entry.file_name().to_string_lossy()) && !entry.path().is_dir() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes every file an earlier run wrote here (and nothing else); returns them.
    pub fn clear(&self) -> Result<Vec<PathBuf>> {
        let files = self.run_files()?;
        for f in &files {
            std::fs::remove_file(f).map_err(|e| TrainError::io(f, e))?;
        }
        Ok(files)
    }

    /// Deletes the temporary files (`.NAME.tmp-PID-XXXXXX`) of run files whose writer is no longer running; returns them.
    pub fn remove_stale_temps(&self) -> Result<Vec<PathBuf>> {
        let own = std::process::id();
        let mut removed = Vec::new();
        for f in self.run_files()? {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some((_, pid)) = sgm_core::fs::temp_file_owner(&name) {
                if pid != own && pid_alive(pid) != Some(true) {
                    std::fs::remove_file(&f).map_err(|e| TrainError::io(&f, e))?;
                    removed.push(f);
                }
            }
        }
        Ok(removed)
    }
    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// `last.safetensors`.
    pub fn last(&self) -> PathBuf {
        self.root.join("last.safetensors")
    }
    /// `best.safetensors`.
    pub fn best(&self) -> PathBuf {
        self.root.join("best.safetensors")
    }
    /// `resume.safetensors`.
    pub fn resume(&self) -> PathBuf {
        self.root.join("resume.safetensors")
    }
    /// `epoch-NNN.safetensors`.
    pub fn epoch(&self, epoch: usize) -> PathBuf {
        self.root.join(format!("epoch-{epoch:03}.safetensors"))
    }
    /// `metrics.jsonl`.
    pub fn metrics_jsonl(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }
    /// `metrics.csv`.
    pub fn metrics_csv(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    /// `test_report.json`.
    pub fn test_report(&self) -> PathBuf {
        self.root.join("test_report.json")
    }

    /// `init.json`.
    pub fn init_report(&self) -> PathBuf {
        self.root.join("init.json")
    }

    /// Writes `init.json`: where the initial weights came from and what was done with every tensor.
    pub fn write_init_report(
        &self,
        report: &sgm_models::pretrained::ImportReport,
        init: Option<&crate::pretrained::PretrainedInit>,
    ) -> Result<()> {
        let json = serde_json::json!({
            "source": init.map(|i| i.source.clone()),
            "sha256": init.map(|i| i.sha256.clone()),
            "scope": init.map(|i| i.scope.to_string()),
            "loaded": report.loaded,
            "adapted": report.adapted.iter().map(|(n, how)| serde_json::json!({"tensor": n, "how": how})).collect::<Vec<_>>(),
            "fresh": report.fresh,
            "unused": report.unused.iter().map(|(n, why)| serde_json::json!({"tensor": n, "why": why})).collect::<Vec<_>>(),
        });
        Ok(sgm_core::fs::write_json_atomic(&self.init_report(), &json)?)
    }

    /// Writes the resolved configuration.
    pub fn write_config(&self, toml: &str) -> Result<()> {
        Ok(write_atomic(&self.config(), toml.as_bytes())?)
    }

    /// Whether the directory holds a run that can be resumed.
    pub fn has_run(&self) -> bool {
        self.resume().exists()
    }

    /// Appends one epoch to both logs.
    pub fn append(&self, r: &EpochRecord) -> Result<()> {
        let line = serde_json::to_string(r).map_err(|e| TrainError::Config(e.to_string()))?;
        append_line(&self.metrics_jsonl(), &line, None)?;
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
        let record = [
            r.epoch.to_string(),
            format!("{:.6}", r.train_loss),
            format!("{:e}", r.lr),
            opt(r.val_knn_accuracy),
            opt(r.val_knn_f1),
            opt(r.val_top1),
            format!("{:.1}", r.images_per_second),
            format!("{:.2}", r.seconds),
        ];
        let line = csv_record(&record);
        append_line(&self.metrics_csv(), &line, Some(&csv_record(&METRICS_CSV_HEADER)))
    }

    /// Drops log lines of epochs after `epoch`, so that a resumed run does not log an epoch twice. (The write
    /// order above means this only removes lines when a run is resumed from an older `resume.safetensors`.)
    pub fn truncate_logs(&self, epoch: usize) -> Result<()> {
        let keep_json = |line: &str| serde_json::from_str::<EpochRecord>(line).is_ok_and(|r| r.epoch <= epoch);
        let keep_csv =
            |line: &str| line.split(',').next().and_then(|e| e.parse::<usize>().ok()).is_some_and(|e| e <= epoch);
        for (path, keep, header) in [
            (self.metrics_jsonl(), &keep_json as &dyn Fn(&str) -> bool, false),
            (self.metrics_csv(), &keep_csv as &dyn Fn(&str) -> bool, true),
        ] {
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let mut out = String::new();
            for (i, line) in text.lines().enumerate() {
                if (header && i == 0) || keep(line) {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            write_atomic(&path, out.as_bytes())?;
        }
        Ok(())
    }
}

/// Creates `root` when it does not exist; a clear error when it exists but is not a directory, or is a symbolic
/// link that leads nowhere.
fn prepare_dir(root: &Path) -> Result<()> {
    let bad = |reason: String| TrainError::BadPath { path: root.to_path_buf(), reason };
    match std::fs::symlink_metadata(root) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(root) {
            Ok(t) if t.is_dir() => Ok(()),
            Ok(_) => Err(bad("is a symbolic link to a file, not a directory: a run needs a directory".into())),
            Err(e) => Err(bad(format!("is a symbolic link that leads nowhere (a loop, or a missing target): {e}"))),
        },
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(bad("exists and is not a directory: a run needs a directory of its own".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(root).map_err(|e| {
            bad(format!("cannot create the run directory: {e} (is a folder above it a file, or a broken link?)"))
        }),
        Err(e) => Err(TrainError::io(root, e)),
    }
}

/// One CSV record, quoted where needed by the csv crate, without its line end.
fn csv_record<S: AsRef<[u8]>>(fields: &[S]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(fields);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}

fn append_line(path: &Path, line: &str, header: Option<&str>) -> Result<()> {
    let new = !path.exists();
    let mut f =
        std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| TrainError::io(path, e))?;
    let mut text = String::new();
    if let (true, Some(h)) = (new, header) {
        text.push_str(h);
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    f.write_all(text.as_bytes()).map_err(|e| TrainError::io(path, e))
}
