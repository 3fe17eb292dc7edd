//! `cargo xtask parity --training`: sgm's whole training pipeline against a PyTorch port of the authors' training
//! (`bench/parity/train_reference.py`), the same number of steps, several seeds per side.
//!
//! Both sides read the same images (the synthetic set exported by `sgm data synth`, and FER+), train the same
//! ResNet18 (1 channel, BatchNorm) with the SGM loss on exact C × S batches, Adam-AMSGrad at a constant rate, and
//! validate after every epoch by kNN (K = 11) fitted on the same number of training images. What differs is what
//! the check is for: sgm's sampler, augmentation (the reference does the authors' OpenCV pipeline), BatchNorm,
//! loss, optimiser and kNN against PyTorch's and the authors'. The random streams differ (ChaCha8 against numpy and
//! torch), so single runs are not compared: the verdict compares sgm's final accuracies with the reference's seed
//! spread.

use super::Python;
use anyhow::{bail, Context, Result};
use sgm_train::train::{EpochRecord, TrainConfig};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One data setting of the comparison.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Name (also the folder under the work directory).
    pub name: String,
    /// What it is, for the report.
    pub about: String,
    /// `synth` (an exported ImageFolder) or `ferplus`.
    pub data: &'static str,
    /// The data root.
    pub root: PathBuf,
    /// Input side.
    pub size: usize,
    /// Images of each class per batch.
    pub samples_per_class: usize,
    /// Batches per epoch, on both sides.
    pub batches_per_epoch: usize,
    /// Epochs.
    pub epochs: usize,
    /// Constant learning rate.
    pub lr: f64,
    /// The paper's augmentation (sgm's pipeline against the authors' OpenCV one), or none.
    pub augment: bool,
    /// Training images the validation kNN is fitted on.
    pub train_subset: usize,
    /// Seeds, run on both sides.
    pub seeds: Vec<u64>,
}

impl Setting {
    /// sgm's configuration for `seed`.
    fn sgm_config(&self, seed: u64) -> TrainConfig {
        let mut cfg =
            TrainConfig { epochs: self.epochs, seed, samples_per_class: self.samples_per_class, ..Default::default() };
        cfg.model.input_size = self.size;
        cfg.optimizer.lr = self.lr;
        cfg.batches_per_epoch = Some(self.batches_per_epoch);
        cfg.validation.train_subset = Some(self.train_subset);
        cfg.validation.precise_bn_batches = None;
        if !self.augment {
            cfg.augment = sgm_data::augment::AugmentConfig::none();
        }
        cfg
    }
}

/// One run's curve and final scores.
#[derive(Debug, Clone)]
pub struct RunCurve {
    /// `sgm` or `reference`.
    pub side: &'static str,
    /// Seed.
    pub seed: u64,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// The epochs as logged.
    pub records: Vec<EpochRecord>,
    /// Test kNN accuracy of the best validation epoch (kNN fitted on the whole training set).
    pub test_accuracy: Option<f64>,
    /// Wall time of the run, seconds.
    pub seconds: f64,
}

impl RunCurve {
    /// The last epoch's validation kNN accuracy.
    pub fn final_accuracy(&self) -> f64 {
        self.records.last().and_then(|r| r.val_knn_accuracy).unwrap_or(f64::NAN)
    }
    /// The last epoch's training loss.
    pub fn final_loss(&self) -> f64 {
        self.records.last().map_or(f64::NAN, |r| r.train_loss)
    }
}

fn read_records(path: &Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}: line {}", path.display(), i + 1)))
        .collect()
}

fn run_checked(cmd: &mut Command, log: &Path) -> Result<f64> {
    let t = std::time::Instant::now();
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let status = cmd.stdout(file.try_clone()?).stderr(file).status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        let tail: String = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        bail!("{cmd:?} failed ({status}); the end of {}:\n{tail}", log.display());
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Trains `setting` with seed `seed` in sgm (the release binary `sgm`).
fn run_sgm(sgm: &Path, setting: &Setting, seed: u64, dir: &Path) -> Result<RunCurve> {
    let out = dir.join(format!("sgm-seed{seed}"));
    std::fs::create_dir_all(dir)?;
    let cfg_path = dir.join(format!("sgm-seed{seed}.toml"));
    std::fs::write(&cfg_path, setting.sgm_config(seed).to_toml()?)?;
    let mut cmd = Command::new(sgm);
    cmd.arg("train");
    match setting.data {
        "synth" => cmd.args(["--data", "synth-export", "--format", "image_folder"]),
        other => cmd.args(["--data", other]),
    };
    cmd.arg("--root").arg(&setting.root).arg("--config").arg(&cfg_path).arg("--out").arg(&out).arg("--overwrite");
    cmd.env("RAYON_NUM_THREADS", "2");
    let seconds = run_checked(&mut cmd, &dir.join(format!("sgm-seed{seed}.log")))?;
    let records = read_records(&out.join("metrics.jsonl"))?;
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("test_report.json"))?)?;
    Ok(RunCurve {
        side: "sgm",
        seed,
        steps_per_epoch: setting.batches_per_epoch,
        records,
        test_accuracy: report["knn"]["accuracy"].as_f64(),
        seconds,
    })
}

/// Trains `setting` with seed `seed` in the PyTorch reference.
fn run_reference(python: &Python, script: &Path, setting: &Setting, seed: u64, dir: &Path) -> Result<RunCurve> {
    let out = dir.join(format!("reference-seed{seed}"));
    let mut cmd = Command::new(&python.0);
    cmd.arg(script).args(["--data", setting.data]).arg("--root").arg(&setting.root).arg("--out").arg(&out);
    cmd.args(["--seed", &seed.to_string(), "--threads", "2", "--size", &setting.size.to_string(), "--channels", "1"]);
    cmd.args(["--samples-per-class", &setting.samples_per_class.to_string()]);
    cmd.args(["--batches-per-epoch", &setting.batches_per_epoch.to_string()]);
    cmd.args(["--epochs", &setting.epochs.to_string(), "--lr", &setting.lr.to_string(), "--sigma", "1.0"]);
    cmd.args(["--augment", if setting.augment { "paper" } else { "none" }, "--normalization", "cifar10"]);
    cmd.args(["--train-subset", &setting.train_subset.to_string(), "--loss-form", "logsumexp"]);
    let seconds = run_checked(&mut cmd, &dir.join(format!("reference-seed{seed}.log")))?;
    let records = read_records(&out.join("metrics.jsonl"))?;
    let test: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("test.json"))?)?;
    Ok(RunCurve {
        side: "reference",
        seed,
        steps_per_epoch: setting.batches_per_epoch,
        records,
        test_accuracy: test["accuracy"].as_f64(),
        seconds,
    })
}

/// Mean, sample standard deviation, min and max.
pub fn spread(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, sd, min, max)
}

/// The outcome of one setting.
#[derive(Debug, Clone)]
pub struct SettingResult {
    /// The setting.
    pub setting: Setting,
    /// Every run, both sides.
    pub runs: Vec<RunCurve>,
    /// The figure of validation accuracy against the step.
    pub figure: PathBuf,
}

impl SettingResult {
    fn side(&self, side: &str) -> Vec<&RunCurve> {
        self.runs.iter().filter(|r| r.side == side).collect()
    }

    /// Whether sgm's mean final validation accuracy lies within the reference's seed range.
    pub fn within(&self) -> bool {
        let s: Vec<f64> = self.side("sgm").iter().map(|r| r.final_accuracy()).collect();
        let r: Vec<f64> = self.side("reference").iter().map(|r| r.final_accuracy()).collect();
        let (sm, ..) = spread(&s);
        let (_, _, lo, hi) = spread(&r);
        (lo..=hi).contains(&sm)
    }
}

/// Runs every seed of `setting` on both sides, sgm and the reference alternating, and draws the curves.
pub fn run_setting(
    sgm: &Path,
    python: &Python,
    root: &Path,
    setting: &Setting,
    work: &Path,
    fig_dir: &Path,
) -> Result<SettingResult> {
    let dir = work.join(&setting.name);
    let script = root.join("bench/parity/train_reference.py");
    let mut runs = Vec::new();
    for &seed in &setting.seeds {
        eprintln!("parity --training {}: sgm, seed {seed}", setting.name);
        let s = run_sgm(sgm, setting, seed, &dir)?;
        eprintln!("  final validation kNN accuracy {:.4} ({:.0} s)", s.final_accuracy(), s.seconds);
        eprintln!("parity --training {}: reference, seed {seed}", setting.name);
        let r = run_reference(python, &script, setting, seed, &dir)?;
        eprintln!("  final validation kNN accuracy {:.4} ({:.0} s)", r.final_accuracy(), r.seconds);
        runs.push(s);
        runs.push(r);
    }
    let figure = fig_dir.join(format!("parity-{}.png", setting.name));
    draw(setting, &runs, &figure)?;
    Ok(SettingResult { setting: setting.clone(), runs, figure })
}

fn draw(setting: &Setting, runs: &[RunCurve], out: &Path) -> Result<()> {
    use sgm_plot::{line_chart, Figure, LineChart, Series};
    let series: Vec<Series> = runs
        .iter()
        .map(|r| {
            let pts: Vec<(f64, f64)> = r
                .records
                .iter()
                .filter_map(|e| e.val_knn_accuracy.map(|a| ((e.epoch * r.steps_per_epoch) as f64, a)))
                .collect();
            Series::new(format!("{} seed {}", if r.side == "sgm" { "sgm" } else { "PyTorch" }, r.seed), pts)
        })
        .collect();
    let chart = LineChart::new("training step", "validation kNN accuracy", series);
    let fig = Figure::new(format!("{}: sgm against the PyTorch reference", setting.name));
    line_chart(&fig, &chart, out).with_context(|| format!("drawing {}", out.display()))?;
    Ok(())
}

/// The markdown section for docs/fidelity.md.
pub fn markdown(results: &[SettingResult], machine: &str, docs: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Command: `cargo xtask parity --training`. Machine: {machine}.\n");
    for res in results {
        let st = &res.setting;
        let _ = writeln!(s, "### {}\n\n{}\n", st.name, st.about);
        let steps = res.runs.first().map_or(0, |r| r.steps_per_epoch);
        let _ = writeln!(
            s,
            "ResNet18 at {0}×{0}, 1 channel, SGM (σ 1) on batches of 8 × {1}, Adam-AMSGrad at a constant {2:e}, \
             {3} epochs of {4} steps, {5}; validation kNN (K = 11) fitted on {6} training images after every epoch.\n",
            st.size,
            st.samples_per_class,
            st.lr,
            st.epochs,
            steps,
            if st.augment {
                "the paper's augmentation (sgm's pipeline; the reference: the authors' OpenCV pipeline)"
            } else {
                "no augmentation"
            },
            st.train_subset
        );
        let _ = writeln!(s, "| side | seed | final loss | final val kNN acc | best-epoch test kNN acc | minutes |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for r in &res.runs {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:.4} | {} | {:.1} |",
                if r.side == "sgm" { "sgm" } else { "PyTorch reference" },
                r.seed,
                r.final_loss(),
                r.final_accuracy(),
                r.test_accuracy.map_or("–".into(), |a| format!("{a:.4}")),
                r.seconds / 60.0
            );
        }
        let _ = writeln!(s);
        for side in ["sgm", "reference"] {
            let acc: Vec<f64> = res.side(side).iter().map(|r| r.final_accuracy()).collect();
            let loss: Vec<f64> = res.side(side).iter().map(|r| r.final_loss()).collect();
            let (m, sd, lo, hi) = spread(&acc);
            let (lm, lsd, ..) = spread(&loss);
            let _ = writeln!(
                s,
                "- {}: final validation kNN accuracy {:.4} ± {:.4} (range {:.4}–{:.4}, {} seeds); final loss {:.4} ± {:.4}.",
                if side == "sgm" { "sgm" } else { "PyTorch reference" },
                m,
                sd,
                lo,
                hi,
                acc.len(),
                lm,
                lsd
            );
        }
        let verdict = if res.within() {
            "**within**: sgm's mean final accuracy lies inside the reference's seed range."
        } else {
            "**outside** the reference's seed range: see the discussion below."
        };
        let _ = writeln!(s, "- Verdict: {verdict}\n");
        let rel = res.figure.strip_prefix(docs).unwrap_or(&res.figure);
        let _ = writeln!(s, "![validation kNN accuracy against the step, {}]({})\n", st.name, rel.display());
    }
    s
}
