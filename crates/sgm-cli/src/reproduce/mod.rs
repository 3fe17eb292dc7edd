//! `sgm reproduce` (and `cargo xtask reproduce`): the paper's protocol in one command, with a report next to
//! the paper's numbers.
//!
//! With no arguments it runs on the built-in synthetic faces in a few minutes: the CNN, triplet and SGM
//! embeddings on a ResNet18, their kNN classification (Table 2), k-means NMI (Table 1), Recall@K / Acc@K
//! (Figure 3), kNN F1 against K (Figure 5), t-SNE maps (Figure 2), the sub-class step scored against the true
//! sub-classes (Figure 7) and the EM groups with their medoids (Figure 8). `--data ferplus --root DIR` does the
//! same on real data within `--budget-minutes`. Everything lands in `--out` (default `report/`):
//!
//! ```text
//! report/
//!   report.md         the numbers next to the paper's, the settings, the departures from the protocol
//!   results.json      every number (format "sgm-reproduce/1")
//!   *.png             the figures
//!   tsne-*.csv        the t-SNE maps
//!   runs/LOSS-BACKBONE/   the training runs (resumable sgm train run directories) and their eval.json
//!   subclasses/       Algorithm 2's levels
//!   groups/           the EM groups (groups.json, groups.csv, assignments.csv)
//! ```
//!
//! Re-running the same command continues: finished runs are not retrained (nor re-evaluated when their best
//! checkpoint is unchanged), half-finished runs resume from their last epoch.

mod evaluate;
mod figures;
mod paper;
mod plan;
mod progress;
mod report;
mod results;
mod seed_noise;

pub use paper::PaperNumbers;
pub use plan::{Plan, RunSpec, ALL_LOSSES};
pub use results::{Results, RunResult, RESULTS_FORMAT};

use crate::args::DataArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use evaluate::{evaluate_run, file_stamp, training_summary, Splits};
use progress::Stages;
use results::{Settings, SubclassResult};
use sgm_data::{ImageSet, Split};
use sgm_models::BackboneKind;
use sgm_train::device::parse as device;
use sgm_train::train::algorithm2::{Algorithm2Config, SplitKind};
use sgm_train::train::subclass::SubclassTrainConfig;
use sgm_train::train::{fit, Existing, FitOptions, InitWeights, LossKind, ProgressMode};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `sgm reproduce`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  sgm reproduce                                        # the synthetic set, a few minutes on 2 cores
  sgm reproduce --data ferplus --root data/ferplus --budget-minutes 120 --out report-ferplus
  sgm reproduce --data ferplus --root data/ferplus --cross ckplus=data/ckplus,jaffe=data/jaffe
  sgm reproduce --quick --out /tmp/r                   # seconds: checks the pipeline (what CI runs)")]
pub struct ReproduceArgs {
    /// Data set: `synth` (built in) or a registry name (ferplus, …).
    #[arg(long, default_value = crate::args::SYNTH)]
    pub data: String,
    /// Root folder of the data set.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Cross-domain sets for the other columns of Table 1, as NAME=DIR (affectnet, ckplus, jaffe, bu3dfe).
    #[arg(long, value_delimiter = ',', value_name = "NAME=DIR,…")]
    pub cross: Vec<String>,
    /// Losses to train (default: softmax, triplet, sgm).
    #[arg(long, value_delimiter = ',', value_name = "LOSS,…")]
    pub losses: Option<Vec<LossKind>>,
    /// Backbones (default: resnet18).
    #[arg(long, value_delimiter = ',', value_name = "BACKBONE,…")]
    pub backbones: Option<Vec<BackboneKind>>,
    /// Input side in pixels (default: 32 on the synthetic set, 48 on real data).
    #[arg(long)]
    pub size: Option<usize>,
    /// Epochs per run (default: 6 on the synthetic set; 30 of 40 batches on real data, cut by the budget).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate (default 1e-3: short runs; the paper: 1e-4).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Wall-time budget of this invocation in minutes (default: 8 synthetic, 120 real). Training gets most of
    /// it, split over the runs that still have epochs to train; a run cut short resumes on the next invocation.
    #[arg(long, value_name = "MINUTES")]
    pub budget_minutes: Option<f64>,
    /// Train nothing: evaluate the runs as they are and rewrite the report (every run needs a best checkpoint).
    #[arg(long, conflicts_with = "fresh")]
    pub no_train: bool,
    /// Skip the sub-class step (Algorithm 2).
    #[arg(long)]
    pub no_subclasses: bool,
    /// Skip unreadable images (counted) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// A CI-sized run of the synthetic set (seconds): checks that the report is produced, not the method.
    #[arg(long)]
    pub quick: bool,
    /// Delete earlier results in --out and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Seed (of the first of --seeds).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Train every run with this many seeds (seed, seed + 1, …) to measure seed noise; the first is evaluated in
    /// full, the others by test kNN accuracy (default: 3 on the synthetic set, 1 on real data and with --quick).
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,
    /// Device: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "report")]
    pub out: PathBuf,
    /// The paper's fine-tuning protocol: start ResNet18 (and AlexNet) from ImageNet weights (`imagenet`, or a
    /// spec as `sgm train --init` takes), at 224×224 with 3 channels and lr 1e-4 unless --size, --channels or
    /// --lr say otherwise. The weights must be in the hub cache (or downloadable, with the `hub` feature).
    #[arg(long, value_name = "SPEC")]
    pub init: Option<String>,
    /// What --init loads: all (default) or features (the convolutions only, as the authors' embedding networks).
    #[arg(long, value_name = "SCOPE", requires = "init")]
    pub init_scope: Option<sgm_models::pretrained::InitScope>,
    /// Input channels (default 1; 3 with --init: grey replicated, as the authors).
    #[arg(long)]
    pub channels: Option<usize>,
    /// No BatchNorm in ResNet18, as the authors' metric-learning ResNet18.
    #[arg(long)]
    pub no_batch_norm: bool,
    /// How --init weights are found in the hub cache and checked.
    #[command(flatten)]
    pub hub: crate::args::HubArgs,
    /// Write into --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
}

/// Runs a reproduction and writes its report.
pub fn run(a: ReproduceArgs) -> Result<Results> {
    let started = Instant::now();
    sgm_train::output_guard::check_output(&a.out, a.force)?;
    let plan = Plan::from_args(&a)?;
    let dev = device(&a.device)?;
    let out = a.out.clone();
    if a.fresh && out.exists() {
        for sub in ["runs", "subclasses", "groups"] {
            let p = out.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    std::fs::create_dir_all(out.join("runs")).with_context(|| format!("creating {}", out.display()))?;
    let mut stages = Stages::new(&plan, started);

    stages.begin("loading the data", None);
    let sets = plan.data.load(&[Split::Train, Split::Valid, Split::Test])?;
    let [train, valid, test] = <[ImageSet; 3]>::try_from(sets).expect("three splits");
    let test_groups = test.duplicate_groups();
    let splits = Splits { train, valid, test, test_groups };
    let mut cross = Vec::new();
    for (name, root) in &plan.cross {
        let args = DataArgs {
            format: None,
            data: name.clone(),
            root: Some(root.clone()),
            load: crate::args::LoadFlags { skip_bad: a.skip_bad, ..Default::default() },
            synth_per_class: None,
            synth_seed: 1,
        };
        cross.push((name.clone(), load_whole(&args)?));
    }
    stages.note(&format!(
        "{}: {} train / {} valid / {} test images, {} classes{}",
        plan.data.data,
        splits.train.len(),
        splits.valid.len(),
        splits.test.len(),
        splits.train.num_classes(),
        if cross.is_empty() {
            String::new()
        } else {
            format!(
                "; cross-domain: {}",
                cross.iter().map(|(n, s)| format!("{n} ({})", s.len())).collect::<Vec<_>>().join(", ")
            )
        }
    ));

    // Training, then evaluation, run by run; then the other seeds of every run (scored by kNN only).
    let training_budget = plan.budget_minutes * plan.training_share;
    let all: Vec<&RunSpec> = plan.runs.iter().chain(plan.replicas.iter()).collect();
    let mut runs = Vec::new();
    for (i, spec) in plan.runs.iter().enumerate() {
        let dir = out.join("runs").join(&spec.name);
        let minutes_left = training_budget - started.elapsed().as_secs_f64() / 60.0;
        let stopped = train_spec(spec, &all[i..], &out, minutes_left, &a, &splits, &dev, &mut stages)?;
        let training = training_summary(&dir, spec.cfg.epochs, stopped)?;
        stages.begin(&format!("evaluating {}", spec.name), None);
        let result = cached_eval(&dir, &plan, || {
            evaluate_run(spec, &dir, training.clone(), &splits, &cross, &plan, &dev, &out)
        })?;
        let mut result = result;
        result.training = training;
        stages.note(&format!(
            "{}: test kNN accuracy {:.4}, F1 {:.4}{}; NMI {:.4}; Recall@1 {:.4}",
            spec.name,
            result.knn.accuracy,
            result.knn.f1,
            result.argmax.map_or(String::new(), |s| format!(" (argmax accuracy {:.4})", s.accuracy)),
            result.nmi,
            result.recall_at_k.get(&1).copied().unwrap_or(f64::NAN)
        ));
        runs.push(result);
    }

    let mut replicas = Vec::new();
    for (i, spec) in plan.replicas.iter().enumerate() {
        let dir = out.join("runs").join(&spec.name);
        let minutes_left = training_budget - started.elapsed().as_secs_f64() / 60.0;
        let later = &all[plan.runs.len() + i..];
        let stopped = train_spec(spec, later, &out, minutes_left, &a, &splits, &dev, &mut stages)?;
        let training = training_summary(&dir, spec.cfg.epochs, stopped)?;
        stages.begin(&format!("scoring {}", spec.name), None);
        let r = evaluate::score_replica(spec, &dir, training, &splits, &dev)?;
        stages.note(&format!("{}: test kNN accuracy {:.4}", spec.name, r.knn_accuracy));
        replicas.push(r);
    }

    let subclasses = match (&plan.subclasses, plan.runs.iter().find(|r| r.cfg.loss == LossKind::Sgm)) {
        (Some(sp), Some(sgm_run)) => {
            stages.begin(&format!("Algorithm 2 from {}", sgm_run.name), None);
            match run_subclasses(&plan, sp, sgm_run, &out, &a.device, !a.no_train)? {
                Some(r) => {
                    subclass_map(&plan, &r, &splits.train, &dev, &out)?;
                    Some(r)
                }
                None => {
                    stages.note("no sub-class result for this model yet, and --no-train trains nothing: skipped");
                    None
                }
            }
        }
        _ => None,
    };

    stages.begin("EM groups and figures", None);
    let group_model = match &subclasses {
        Some(s) => {
            let last =
                out.join(&s.dir).join(format!("level-{}", s.subclasses_per_level.len())).join("model.safetensors");
            (last, format!("{} after Algorithm 2", s.from_run))
        }
        None => {
            let r = plan.runs.iter().find(|r| r.cfg.loss == LossKind::Sgm).unwrap_or(&plan.runs[0]);
            (out.join("runs").join(&r.name).join("best.safetensors"), r.name.clone())
        }
    };
    let groups = figures::groups(&plan, &group_model.0, &group_model.1, &splits.test, &dev, &out)?;
    let mut figures = figures::draw(&plan, &runs, &splits, &out)?;
    if let Some(g) = &groups {
        figures.extend(g.sheets.iter().cloned());
    }

    let results = Results {
        format: RESULTS_FORMAT.into(),
        settings: settings(&a, &plan, &splits, started),
        runs,
        subclasses,
        groups,
        figures,
        replicas,
    };
    sgm_core::fs::write_json_atomic(&out.join("results.json"), &results)?;
    let md = report::render(&results, &plan);
    sgm_core::fs::write_atomic(&out.join("report.md"), md.as_bytes())?;
    stages.finish(&out);
    Ok(results)
}

/// Trains `spec` for its share of `minutes_left` (shared with the runs of `unfinished_from`, itself first, that still
/// have epochs to train); returns whether the budget stopped it. With `--no-train`, checks that it has a model.
#[allow(clippy::too_many_arguments)]
fn train_spec(
    spec: &RunSpec,
    unfinished_from: &[&RunSpec],
    out: &Path,
    minutes_left: f64,
    a: &ReproduceArgs,
    splits: &Splits,
    dev: &candle_core::Device,
    stages: &mut Stages,
) -> Result<bool> {
    let dir = out.join("runs").join(&spec.name);
    let done = epochs_done(&dir)?;
    if a.no_train {
        if !dir.join("best.safetensors").exists() {
            bail!(
                "{}: {} has no trained model yet; run the reproduction without --no-train first",
                dir.display(),
                spec.name
            );
        }
        return Ok(done < spec.cfg.epochs);
    }
    if done >= spec.cfg.epochs {
        return Ok(false);
    }
    let mut unfinished = 0;
    for s in unfinished_from {
        unfinished += usize::from(epochs_done(&out.join("runs").join(&s.name))? < s.cfg.epochs);
    }
    let minutes = (minutes_left / unfinished.max(1) as f64).max(0.0);
    if minutes < 0.05 && dir.join("best.safetensors").exists() {
        stages.note(&format!("{}: no training time left in the budget; evaluating epoch {done}", spec.name));
        return Ok(true);
    }
    stages
        .begin(&format!("training {} ({} epochs, {} done)", spec.name, spec.cfg.epochs, done), Some(minutes.max(0.05)));
    let opts = FitOptions {
        existing: Existing::ResumeIfAny,
        progress: ProgressMode::Auto,
        device: dev.clone(),
        max_minutes: Some(minutes.max(0.05)),
        init: spec.init.clone().map(InitWeights::Torchvision),
    };
    let summary = fit(spec.cfg.clone(), &splits.train, Some(&splits.valid), &dir, opts)
        .with_context(|| format!("training {} in {}", spec.name, dir.display()))?;
    Ok(summary.out_of_time)
}

/// Epochs finished in a run directory (0 when it has none).
fn epochs_done(dir: &Path) -> Result<usize> {
    Ok(evaluate::epoch_records(dir)?.last().map_or(0, |r| r.epoch))
}

/// Reuses `eval.json` when the best checkpoint and the evaluation settings are unchanged.
fn cached_eval(dir: &Path, plan: &Plan, compute: impl FnOnce() -> Result<RunResult>) -> Result<RunResult> {
    let path = dir.join("eval.json");
    let stamp = format!("{}|{}", file_stamp(&dir.join("best.safetensors"))?, eval_key(plan));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(r) = serde_json::from_slice::<RunResult>(&bytes) {
            if r.checkpoint_stamp == stamp {
                return Ok(r);
            }
        }
    }
    let mut r = compute()?;
    r.checkpoint_stamp = stamp;
    sgm_core::fs::write_json_atomic(&path, &r)?;
    Ok(r)
}

/// The evaluation settings that change an evaluation's numbers.
fn eval_key(plan: &Plan) -> String {
    let cross: Vec<String> = plan.cross.iter().map(|(n, r)| format!("{n}={}", r.display())).collect();
    format!("{:?}|{:?}|{}|{}|{}", plan.f1_ks, plan.recall_ks, plan.tsne_points, plan.seed, cross.join(","))
}

/// Every split of a data set as one set (cross-domain sets are scored whole).
fn load_whole(args: &DataArgs) -> Result<ImageSet> {
    let mut parts = args.load_all()?;
    if parts.is_empty() {
        bail!("data set '{}' has no images", args.data);
    }
    let mut whole = parts.remove(0);
    for p in parts {
        if (p.height, p.width) != (whole.height, whole.width) {
            bail!("{}: splits of different image sizes", args.data);
        }
        whole.pixels.extend_from_slice(&p.pixels);
        whole.samples.extend(p.samples);
    }
    whole.split = Split::All;
    Ok(whole)
}

/// Algorithm 2 from the SGM run's best checkpoint, reusing an earlier result for the same checkpoint.
fn run_subclasses(
    plan: &Plan,
    sp: &plan::SubclassPlan,
    from: &RunSpec,
    out: &Path,
    device_name: &str,
    allow_train: bool,
) -> Result<Option<SubclassResult>> {
    let t0 = Instant::now();
    let dir = out.join("subclasses");
    let checkpoint = out.join("runs").join(&from.name).join("best.safetensors");
    let stamp = format!("{}|{}", file_stamp(&checkpoint)?, serde_json::to_string(sp)?);
    let stamp_file = dir.join("stamp.txt");
    let report_file = dir.join("report.json");
    let fresh = std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) && report_file.exists();
    if !fresh && !allow_train {
        return Ok(None);
    }
    if !fresh {
        let cfg = Algorithm2Config {
            levels: sp.levels,
            split: SplitKind::Gmm,
            min_size: 400,
            max_per_class: sp.max_per_class,
            epochs_per_level: sp.epochs_per_level,
            train: SubclassTrainConfig {
                ce_weight: 1.0,
                samples_per_subclass: sp.samples_per_subclass,
                batches_per_epoch: sp.batches_per_epoch,
            },
            seed: plan.seed,
        };
        crate::subclass_run::run(&checkpoint, &plan.data, &cfg, device(device_name)?, &dir)?;
        sgm_core::fs::write_atomic(&stamp_file, stamp.as_bytes())?;
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_file)?)
        .with_context(|| format!("reading {}", report_file.display()))?;
    let nmi = |k: &str| report["nmi"][k].as_f64();
    Ok(Some(SubclassResult {
        from_run: from.name.clone(),
        subclasses_per_level: report["levels"]
            .as_array()
            .map(|l| l.iter().filter_map(|v| v["subclasses"].as_u64().map(|n| n as usize)).collect())
            .unwrap_or_default(),
        nmi_discovered: nmi("discovered"),
        nmi_final_embedding: nmi("final_embedding"),
        nmi_plain_sgm: nmi("plain_sgm_baseline"),
        nmi_untrained: nmi("untrained_baseline"),
        dir: "subclasses".into(),
        seconds: t0.elapsed().as_secs_f64(),
    }))
}

/// Figure 7's data: a t-SNE map of the first training images in the final sub-class model's embedding, with
/// each image's class and discovered sub-class (`tsne-subclasses.csv`).
fn subclass_map(
    plan: &Plan,
    r: &SubclassResult,
    train: &ImageSet,
    dev: &candle_core::Device,
    out: &Path,
) -> Result<()> {
    let level = out.join(&r.dir).join(format!("level-{}", r.subclasses_per_level.len()));
    let assignment = level.join("assignment.csv");
    let text = std::fs::read_to_string(&assignment).with_context(|| format!("reading {}", assignment.display()))?;
    let mut sub = Vec::with_capacity(train.len());
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let v = line.rsplit(',').next().and_then(|s| s.parse::<u32>().ok());
        sub.push(v.with_context(|| format!("{}: line {}: no sub-class", assignment.display(), i + 1))?);
    }
    if sub.len() != train.len() {
        bail!("{}: {} rows for {} training images", assignment.display(), sub.len(), train.len());
    }
    let m = train.len().min(plan.tsne_points);
    let first: Vec<usize> = (0..m).collect();
    let subset = sgm_train::train::subset_of(train, &first);
    let model = level.join("model.safetensors");
    let trainer = sgm_train::train::Trainer::from_checkpoint(&model, dev.clone())
        .with_context(|| format!("loading {}", model.display()))?;
    let (emb, _) = trainer.embed(&subset)?;
    let labels = subset.labels();
    if m < 8 {
        return Ok(());
    }
    let cfg = sgm_cluster::TsneConfig { perplexity: evaluate::perplexity_for(m), max_points: m, ..Default::default() };
    let y = sgm_cluster::tsne_2d(&emb, &cfg).context("t-SNE of the sub-class embedding")?;
    let n = y.len() / 2;
    crate::csv_files::write_map_csv(&out.join("tsne-subclasses.csv"), &y, Some(&labels[..n]), Some(&sub[..n]))?;
    Ok(())
}

/// The settings block of the report.
fn settings(a: &ReproduceArgs, plan: &Plan, splits: &Splits, started: Instant) -> Settings {
    let first = &plan.runs[0].cfg;
    let real = a.data != crate::args::SYNTH;
    Settings {
        profile: plan.profile.clone(),
        data: a.data.clone(),
        root: a.root.as_ref().map(|r| r.display().to_string()),
        images: [splits.train.len(), splits.valid.len(), splits.test.len()],
        class_names: splits.train.class_names.clone(),
        input_size: first.model.input_size,
        sigma: first.sgm.sigma,
        labels: match a.data.as_str() {
            "ferplus" => "FER+ majority vote (fer2013new.csv), 8 classes, fer0033120.png excluded".into(),
            _ if real => format!("{}'s own labels, in the FER+ class order", a.data),
            _ => "synthetic (the expression drawn)".into(),
        },
        dedup: if splits.test_groups.is_some() {
            "duplicates kept in every split; retrieval does not count copies of the query as hits".into()
        } else {
            "no duplicate index for this set".into()
        },
        seed: plan.seed,
        device: a.device.clone(),
        version: version(),
        budget_minutes: plan.budget_minutes,
        wall_seconds: started.elapsed().as_secs_f64(),
        date: progress::utc_now(),
        deviations: plan.deviations.clone(),
    }
}

/// The sgm version, with the git commit this binary was built from (recorded by `build.rs`; `+dirty` when the
/// tracked files had uncommitted changes) when it was built in a git checkout.
pub fn version() -> String {
    match option_env!("SGM_GIT_COMMIT") {
        Some(commit) => format!("{} (commit {commit})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}
