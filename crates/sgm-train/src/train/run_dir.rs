//! The run directory: what a training run leaves on disk.
//!
//! ```text
//! runs/NAME/
//!   config.toml            the resolved configuration
//!   metrics.jsonl          one JSON object per epoch
//!   metrics.csv            the same as CSV
//!   last.safetensors       weights (and BatchNorm statistics) after the latest epoch
//!   best.safetensors       weights of the best validation epoch
//!   epoch-010.safetensors  every `checkpoint_every` epochs
//!   resume.safetensors     weights + optimiser state, for resuming
//!   init.json              what a run started from foreign (ImageNet) weights loaded: source, SHA-256, and every
//!                          tensor loaded, adapted, freshly initialised or unused
//! ```
//! Checkpoints and the config are written atomically. The logs are appended after the checkpoint of their
//! epoch is safely on disk, so they never run ahead of what can be resumed.

use crate::atomic::write_atomic;
use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

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
}

impl EpochRecord {
    /// The score that selects the best checkpoint: top-1 for the softmax loss when present, else kNN accuracy.
    pub fn selection_score(&self) -> Option<f64> {
        self.val_top1.or(self.val_knn_accuracy)
    }
}

/// Paths of a run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Opens (and creates) the run directory.
    pub fn create(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| TrainError::io(root, e))?;
        Ok(Self { root: root.to_path_buf() })
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
        let text = serde_json::to_string_pretty(&json).map_err(|e| TrainError::Config(e.to_string()))?;
        write_atomic(&self.init_report(), text.as_bytes())
    }

    /// Writes the resolved configuration.
    pub fn write_config(&self, toml: &str) -> Result<()> {
        write_atomic(&self.config(), toml.as_bytes())
    }

    /// Whether the directory holds a run that can be resumed.
    pub fn has_run(&self) -> bool {
        self.resume().exists()
    }

    /// Whether `root` holds a run that can be resumed, without creating anything.
    pub fn holds_run(root: &Path) -> bool {
        root.join("resume.safetensors").exists()
    }

    /// Appends one epoch to both logs.
    pub fn append(&self, r: &EpochRecord) -> Result<()> {
        let line = serde_json::to_string(r).map_err(|e| TrainError::Config(e.to_string()))?;
        append_line(&self.metrics_jsonl(), &line, None)?;
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
        let csv = format!(
            "{},{:.6},{:e},{},{},{},{:.1},{:.2}",
            r.epoch,
            r.train_loss,
            r.lr,
            opt(r.val_knn_accuracy),
            opt(r.val_knn_f1),
            opt(r.val_top1),
            r.images_per_second,
            r.seconds
        );
        let header = "epoch,train_loss,lr,val_knn_accuracy,val_knn_f1,val_top1,images_per_second,seconds";
        append_line(&self.metrics_csv(), &csv, Some(header))
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
