//! A run's `metrics.jsonl` read for plots (embeddings files are `sgm_core::embedding_files`).

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sgm_plot::{Series, TrainingCurves};
use std::collections::BTreeMap;
use std::path::Path;

/// One line of metrics.jsonl, read leniently: a NaN loss is logged as null.
#[derive(Debug, Deserialize)]
struct EpochLine {
    epoch: usize,
    train_loss: Option<f64>,
    val_knn_accuracy: Option<f64>,
    val_knn_f1: Option<f64>,
    val_top1: Option<f64>,
}

/// Reads a run's `metrics.jsonl` into plain curves (errors name the file and line).
pub fn read_training_curves(path: &Path) -> Result<TrainingCurves> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut by_epoch: BTreeMap<usize, EpochLine> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: EpochLine = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not an epoch record of metrics.jsonl", path.display(), i + 1))?;
        by_epoch.insert(r.epoch, r); // a resumed run's later line for an epoch wins
    }
    if by_epoch.is_empty() {
        bail!("{}: no epochs logged yet", path.display());
    }
    let mut run = TrainingCurves { epochs: vec![], loss: vec![], metrics: vec![] };
    let mut metrics: [(&str, Vec<(f64, f64)>); 3] =
        [("val kNN accuracy", vec![]), ("val kNN F1", vec![]), ("val top-1 accuracy", vec![])];
    for (e, r) in &by_epoch {
        let e = *e as f64;
        if let Some(loss) = r.train_loss.filter(|l| l.is_finite()) {
            run.epochs.push(e);
            run.loss.push(loss);
        }
        for (slot, v) in metrics.iter_mut().zip([r.val_knn_accuracy, r.val_knn_f1, r.val_top1]) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                slot.1.push((e, v));
            }
        }
    }
    if run.epochs.is_empty() {
        bail!("{}: no epoch has a finite training loss", path.display());
    }
    run.metrics = metrics.into_iter().filter(|m| !m.1.is_empty()).map(|(n, p)| Series::new(n, p)).collect();
    Ok(run)
}
