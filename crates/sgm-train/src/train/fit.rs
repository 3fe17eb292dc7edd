//! [`fit`]: a whole training run in a run directory, resumable.

use crate::checkpoint;
use crate::error::{Result, TrainError};
use crate::pretrained::ForeignInit;
use crate::train::config::TrainConfig;
use crate::train::memory_needs::check_memory;
use crate::train::progress::ProgressMode;
use crate::train::run_dir::{EpochRecord, RunDir};
use crate::train::trainer::Trainer;
use candle_core::Device;
use sgm_data::ImageSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to do with an existing run in the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Refuse to touch it (the default): the error says how to resume or overwrite.
    #[default]
    Refuse,
    /// Continue it from its last finished epoch (the configuration must match, except `epochs`).
    Resume,
    /// Delete every file it wrote (checkpoints, logs, reports) and start over.
    Overwrite,
    /// Continue the run when the directory holds one, else start one (`sgm reproduce`).
    ResumeIfAny,
}

/// Options of [`fit`] that are not part of the configuration.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// What to do with an existing run.
    pub existing: Existing,
    /// How progress is shown.
    pub progress: ProgressMode,
    /// Where to train.
    pub device: Device,
    /// Wall-time budget in minutes: the run stops at the first epoch boundary where another epoch (of the mean
    /// length so far) would overrun it. Checkpoints, logs and the best model are kept as usual.
    pub max_minutes: Option<f64>,
    /// Pretrained weights for a fresh run; a resumed run continues from its own state.
    pub init: Option<InitWeights>,
}

/// Where a fresh run's weights come from, when not from the seeded initialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitWeights {
    /// An sgm checkpoint or exported model (see [`Trainer::init_from`]).
    Checkpoint(PathBuf),
    /// A torchvision state dict (see [`Trainer::init_torchvision`]); what was loaded is written to the run
    /// directory as `init.json`.
    Torchvision(ForeignInit),
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            existing: Existing::Refuse,
            progress: ProgressMode::Hidden,
            device: Device::Cpu,
            max_minutes: None,
            init: None,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct FitSummary {
    /// The run directory.
    pub run_dir: PathBuf,
    /// The epoch the run started from (0 for a fresh run).
    pub resumed_from: usize,
    /// Every epoch trained in this call.
    pub records: Vec<EpochRecord>,
    /// The best validation epoch and its score, over the whole run.
    pub best: Option<(usize, f64)>,
    /// Whether the time budget ended the run before `epochs`.
    pub out_of_time: bool,
}

/// Trains `cfg` on `train`, validating on `valid` after every epoch, in the run directory `out`, which is locked
/// for the whole call (see [`RunDir::open`]).
pub fn fit(
    cfg: TrainConfig,
    train: &ImageSet,
    valid: Option<&ImageSet>,
    out: &Path,
    opts: FitOptions,
) -> Result<FitSummary> {
    check_inputs(&cfg, train, &opts)?;
    let run = RunDir::open(out)?;
    fit_in(cfg, train, valid, &run, opts)
}

/// As [`fit`], in a run directory the caller has opened (and locked), so that it can keep the lock after training
/// (`sgm train` writes the test report under it).
pub fn fit_in(
    cfg: TrainConfig,
    train: &ImageSet,
    valid: Option<&ImageSet>,
    run: &RunDir,
    opts: FitOptions,
) -> Result<FitSummary> {
    check_inputs(&cfg, train, &opts)?;
    let locked;
    let run = match run.lock() {
        Some(_) => run,
        None => {
            locked = RunDir::open(run.root())?;
            &locked
        }
    };
    let out = run.root();
    let mut trainer = Trainer::new(cfg.clone(), opts.device.clone())?.with_progress(opts.progress);
    let (mut start, mut best) = (0usize, None::<(usize, f64)>);
    let leftovers = run.run_files()?;
    // A run killed during its first epoch leaves its configuration only.
    let never_finished_an_epoch = leftovers.iter().all(|f| f.file_name().is_some_and(|n| n == "config.toml"));
    match (opts.existing, run.has_run(), leftovers.is_empty()) {
        (_, _, true) => {
            if opts.existing == Existing::Resume {
                return Err(TrainError::NoRunToResume { dir: out.to_path_buf() });
            }
        }
        (Existing::Refuse, _, false) => {
            return Err(TrainError::Config(format!(
                "{} already holds a training run; pass --resume to continue it or --overwrite to start over",
                out.display()
            )))
        }
        (Existing::Resume | Existing::ResumeIfAny, false, false) if !never_finished_an_epoch => {
            return Err(TrainError::Config(format!(
                "cannot resume {}: it holds checkpoints or logs of a run but no resume.safetensors; start over with \
                 --overwrite (which deletes them)",
                out.display()
            )))
        }
        (Existing::Overwrite, _, false) | (Existing::Resume | Existing::ResumeIfAny, false, false) => {
            if opts.existing != Existing::Overwrite {
                tracing::warn!(
                    "{}: the run never finished an epoch (no resume.safetensors); starting it from the beginning",
                    out.display()
                );
            }
            for f in run.clear()? {
                tracing::debug!("removed {}", f.display());
            }
        }
        (Existing::Resume | Existing::ResumeIfAny, true, false) => {
            let meta = verify_resumable(run, &cfg)?;
            trainer.load(&run.resume(), true)?;
            start = meta["run"]["epoch"].as_u64().unwrap_or(0) as usize;
            best = match (meta["run"]["best_epoch"].as_u64(), meta["run"]["best_score"].as_f64()) {
                (Some(e), Some(s)) => Some((e as usize, s)),
                _ => None,
            };
            run.truncate_logs(start)?;
            tracing::info!("resuming {} after epoch {start} of {}", out.display(), cfg.epochs);
        }
    }
    match (start, &opts.init) {
        (0, Some(InitWeights::Checkpoint(init))) => {
            for name in trainer.init_from(init)? {
                tracing::info!("{}: new '{name}' (not in the pretrained weights)", init.display());
            }
            tracing::info!("initialised from {}", init.display());
        }
        (0, Some(InitWeights::Torchvision(init))) => {
            let report = trainer.init_torchvision(&init.path, init.scope)?;
            tracing::info!("initialised from {} (scope {})", init.path.display(), init.scope);
            for line in report.lines() {
                tracing::info!("  {line}");
            }
            run.write_init_report(&report, cfg.init.as_ref())?;
        }
        _ => {}
    }
    run.write_config(&cfg.to_toml()?)?;

    let started = Instant::now();
    let mut records = Vec::new();
    let mut out_of_time = false;
    for epoch in start..cfg.epochs {
        if let (Some(budget), false) = (opts.max_minutes, records.is_empty()) {
            let spent = started.elapsed().as_secs_f64();
            let per_epoch = spent / records.len() as f64;
            if spent + per_epoch > budget * 60.0 {
                tracing::warn!(
                    "time budget of {budget} min reached after epoch {epoch} of {}; the run can be continued with --resume",
                    cfg.epochs
                );
                out_of_time = true;
                break;
            }
        }
        let t0 = Instant::now();
        let stats = trainer.train_epoch(train, epoch)?;
        let val = valid.map(|v| trainer.validate(train, v)).transpose()?;
        let record = EpochRecord {
            epoch: epoch + 1,
            train_loss: stats.loss,
            lr: stats.lr,
            val_knn_accuracy: val.map(|v| v.knn_accuracy),
            val_knn_f1: val.map(|v| v.knn_f1),
            val_top1: val.and_then(|v| v.top1),
            images_per_second: stats.images_per_second,
            seconds: t0.elapsed().as_secs_f64(),
            train_ap_distance: stats.triplet.map(|t| t.mean_ap),
            train_an_distance: stats.triplet.map(|t| t.mean_an),
            train_active_triplets: stats.triplet.map(|t| t.active_fraction),
        };
        if let Some(v) = val {
            let top1 = v.top1.map(|t| format!(", top-1 {t:.4}")).unwrap_or_default();
            tracing::info!(
                "epoch {}: validation kNN accuracy {:.4}, F1 {:.4}{top1}",
                epoch + 1,
                v.knn_accuracy,
                v.knn_f1
            );
        }
        let improved = match (record.selection_score(), best) {
            (Some(s), Some((_, b))) => s > b,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if improved {
            best = record.selection_score().map(|s| (epoch + 1, s));
        }
        let meta = serde_json::json!({
            "epoch": epoch + 1,
            "best_epoch": best.map(|b| b.0),
            "best_score": best.map(|b| b.1),
            "class_names": train.class_names,
            "dataset": train.name,
            "record": record,
        });
        trainer.save_weights(&run.last(), meta.clone())?;
        if improved || (valid.is_none() && epoch + 1 == cfg.epochs) {
            trainer.save_weights(&run.best(), meta.clone())?;
        }
        if (epoch + 1) % cfg.checkpoint_every == 0 {
            trainer.save_weights(&run.epoch(epoch + 1), meta.clone())?;
        }
        trainer.save_resume(&run.resume(), meta)?;
        run.append(&record)?;
        records.push(record);
    }
    Ok(FitSummary { run_dir: out.to_path_buf(), resumed_from: start, records, best, out_of_time })
}

/// What can be checked before the run directory is touched: the configuration, the buffers it implies for this
/// training set, the training set itself, the options, and that foreign initial weights fit the model. [`fit`]
/// runs it before it opens the run directory; a caller of [`fit_in`] runs it before [`RunDir::open`], so that a
/// refusal leaves nothing behind.
pub fn check_inputs(cfg: &TrainConfig, train: &ImageSet, opts: &FitOptions) -> Result<()> {
    cfg.validate()?;
    cfg.check_device(&opts.device)?;
    if train.is_empty() {
        return Err(TrainError::Config(format!("the training set '{}' is empty", train.name)));
    }
    check_memory(cfg, Some(train.num_classes()), Some(train.len()))?;
    if let Some(m) = opts.max_minutes {
        if !(m.is_finite() && m > 0.0) {
            return Err(TrainError::Config(format!("max_minutes must be positive, got {m}")));
        }
    }
    if let Some(InitWeights::Torchvision(init)) = &opts.init {
        crate::pretrained::map_file(&cfg.model, &init.path, init.scope, &Device::Cpu)?;
    }
    Ok(())
}

/// Before the first step of a resumed run: every checkpoint the run will read or keep (resume, last, and best when
/// the run has a best epoch) must be intact (checksums) and come from this configuration. Returns the metadata of
/// `resume.safetensors`.
fn verify_resumable(run: &RunDir, cfg: &TrainConfig) -> Result<serde_json::Value> {
    let fail = |path: &Path, what: String| {
        TrainError::Config(format!(
            "cannot resume {}: {what}; nothing was trained. Restore {} or start over with --overwrite",
            run.root().display(),
            path.display()
        ))
    };
    let read = |path: &Path| -> Result<serde_json::Value> {
        let ck = checkpoint::load(path, &Device::Cpu).map_err(|e| fail(path, e.to_string()))?;
        check_same_config(&ck.meta["train"], cfg, path)?;
        Ok(ck.meta)
    };
    let meta = read(&run.resume())?;
    let mut needed = vec![run.last()];
    if meta["run"]["best_epoch"].as_u64().is_some() {
        needed.push(run.best());
    }
    for path in needed {
        if !path.is_file() {
            return Err(fail(&path, format!("{} is missing", path.display())));
        }
        read(&path)?;
    }
    Ok(meta)
}

/// A resumed run must use the configuration it was started with; only `epochs` may change. The saved
/// configuration is compared as a typed value (JSON numbers do not round-trip f32 fields bit for bit).
fn check_same_config(saved: &serde_json::Value, cfg: &TrainConfig, path: &Path) -> Result<()> {
    let unreadable = |e: serde_json::Error| TrainError::CheckpointFile {
        path: path.to_path_buf(),
        reason: format!("unreadable training configuration: {e}"),
    };
    let mut was: TrainConfig = serde_json::from_value(saved.clone()).map_err(unreadable)?;
    was.epochs = cfg.epochs;
    if &was == cfg {
        return Ok(());
    }
    let (a, b) = (serde_json::to_value(&was).map_err(unreadable)?, serde_json::to_value(cfg).map_err(unreadable)?);
    let differing: Vec<String> = match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => a.keys().filter(|k| a.get(*k) != b.get(*k)).cloned().collect(),
        _ => Vec::new(),
    };
    Err(TrainError::Config(format!(
        "cannot resume {}: the configuration differs from the run's in {}; use --overwrite to start over",
        path.display(),
        differing.join(", ")
    )))
}
