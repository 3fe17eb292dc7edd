//! `sgm train`: train an embedding with the SGM loss or a baseline, then score it on the test split.

use crate::args::DataArgs;
use anyhow::{Context, Result};
use clap::Args;
use sgm_core::Miner;
use sgm_data::augment::Normalization;
use sgm_data::Split;
use sgm_models::pretrained::InitScope;
use sgm_models::{BackboneKind, ModelConfig};
use sgm_train::evaluate::{evaluate, EvalOptions};
use sgm_train::train::{
    check_inputs, fit_in, Existing, FitOptions, InitWeights, LossKind, ProgressMode, RunDir, TrainConfig, Trainer,
};
use std::path::{Path, PathBuf};

/// Arguments of `sgm train`. Flags override the `--config` file, which overrides the defaults (the paper's
/// protocol).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm train --out runs/demo                                   # SGM on the built-in synthetic faces
  sgm train --data ferplus --root ~/data/ferplus --backbone resnet18 --loss sgm --epochs 30 --out runs/fer-sgm
  sgm train --config train.toml --out runs/exp --resume
  sgm train --data ferplus --weights hf:OWNER/REPO/model.safetensors --epochs 5 --out runs/fer-finetune
  sgm train --data ferplus --init imagenet --size 224 --channels 3 --lr 1e-4 --out runs/fer-imagenet")]
pub struct TrainArgs {
    /// The data set.
    #[command(flatten)]
    pub data: DataArgs,
    /// Run directory (checkpoints, config.toml, metrics.jsonl, metrics.csv, test_report.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// TOML file with any keys of the training configuration (see docs/training.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Backbone: fmpnet, cvgg13, alexnet, resnet18, preact-resnet18.
    #[arg(long)]
    pub backbone: Option<BackboneKind>,
    /// Loss: sgm, triplet or softmax.
    #[arg(long)]
    pub loss: Option<LossKind>,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Input side in pixels.
    #[arg(long)]
    pub size: Option<usize>,
    /// Input channels: 1, or 3 (grey replicated, as the paper).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Embedding dimension.
    #[arg(long)]
    pub embedding_dim: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Adam's weight decay (0 in the paper): an L2 term added to the gradient, as PyTorch's Adam, unless
    /// --decoupled-weight-decay.
    #[arg(long, value_name = "W")]
    pub weight_decay: Option<f64>,
    /// AdamW: shrink every weight by 1 − lr·W each step instead of adding W·w to the gradient (PyTorch's AdamW).
    #[arg(long)]
    pub decoupled_weight_decay: bool,
    /// SGM sigma.
    #[arg(long)]
    pub sigma: Option<f64>,
    /// SGM batches: samples per class (batch = classes × this).
    #[arg(long)]
    pub samples_per_class: Option<usize>,
    /// Batches per epoch (SGM, softmax and mined triplets); default: one pass over the training set.
    #[arg(long)]
    pub batches_per_epoch: Option<usize>,
    /// Softmax batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Triplets per epoch (random triplets).
    #[arg(long)]
    pub triplets_per_epoch: Option<usize>,
    /// Triplets: random (the authors': drawn over the whole training set) or mined in the metric sampler's batches
    /// by all-valid, batch-all, batch-hard or semi-hard. `--recipe cpu-fast --loss triplet` mines batch-all.
    #[arg(long, value_name = "NAME")]
    pub miner: Option<TripletDraw>,
    /// Triplet margin (the authors': 1.0; about 0.2 suits --normalize-embedding, where distances are at most 2).
    #[arg(long)]
    pub margin: Option<f64>,
    /// Put every embedding on the unit sphere (PyTorch's F.normalize) for the loss, validation and `sgm embed`;
    /// `--normalize-embedding=false` turns off a recipe's (cpu-fast's triplet baseline has it on).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub normalize_embedding: Option<bool>,
    /// Seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train without augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Continue the run in --out from its last finished epoch (every checkpoint it needs is verified first).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Delete every file of the run in --out (checkpoints, logs, reports; nothing else) and start over.
    #[arg(long)]
    pub overwrite: bool,
    /// Device: cpu, cuda[:N] (build with --features cuda) or metal (--features metal).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Wall-time budget: stop at the first epoch boundary where another epoch would overrun it (resumable).
    #[arg(long, value_name = "MINUTES")]
    pub max_minutes: Option<f64>,
    /// Skip the final evaluation on the test split.
    #[arg(long)]
    pub no_test: bool,
    /// Start from pretrained weights (a model of `sgm export` or any checkpoint): a path, or
    /// hf:OWNER/REPO/FILE[@REVISION][#sha256=HEX]. The model configuration is the file's; a class head of another
    /// size is initialised afresh.
    #[arg(long, value_name = "SPEC")]
    pub weights: Option<String>,
    /// Start from ImageNet weights in torchvision's tensor names: `imagenet` (ResNet18: timm's copy of
    /// torchvision's, hf:timm/resnet18.tv_in1k), hf:OWNER/REPO[/FILE][@REVISION][#sha256=HEX], or a local
    /// safetensors file (e.g. from bench/parity/convert_torchvision.py). The embedding layer is initialised afresh;
    /// what was loaded is logged and written to init.json. Normalisation becomes ImageNet's unless
    /// --normalization is given.
    #[arg(long, value_name = "SPEC", conflicts_with = "weights")]
    pub init: Option<String>,
    /// What --init loads: all (every tensor with a place: torchvision fine-tuning, the authors' CNN baseline) or
    /// features (the convolutions only, as the authors' embedding networks loaded them).
    #[arg(long, value_name = "SCOPE", requires = "init")]
    pub init_scope: Option<InitScope>,
    /// Input normalisation: cifar10 (the authors'), imagenet (the default with --init) or unit (none).
    #[arg(long, value_name = "NAME")]
    pub normalization: Option<String>,
    /// Start from a named recipe instead of the paper's defaults: paper, or cpu-fast (the best SGM recipe found for
    /// 2 CPU cores on FER+: ResNet18 at 48, SGM + cross-entropy on shuffled batches of 128, one-cycle AMSGrad to
    /// 2e-3 per batch with AdamW's decay 0.05, flip and padded crop, 13 passes; --epochs 50 is the best model; see
    /// docs/reproduce.md), or calibration (a plain softmax classifier as PyTorch trains one: shuffled passes,
    /// one-cycle per batch, flip and padded crop; the check of sgm's pipeline against PyTorch's). --config and the
    /// flags override it.
    #[arg(long, value_name = "NAME")]
    pub recipe: Option<String>,
    /// Learning-rate schedule over epochs: constant (the paper's), cosine or one-cycle (PyTorch's OneCycleLR,
    /// peaking at --lr).
    #[arg(long, value_name = "NAME")]
    pub schedule: Option<String>,
    /// Step the schedule once per epoch (sgm's default) or once per batch (PyTorch's usual OneCycleLR, over
    /// epochs × batches steps).
    #[arg(long, value_enum, value_name = "WHEN")]
    pub schedule_step: Option<sgm_train::train::ScheduleStep>,
    /// Training augmentation: paper (the authors' set), light (mirror, small rotation and scale, a crop),
    /// flip-crop (mirror and a 4-pixel reflect-padded crop, as a plain torchvision classifier; cpu-fast's),
    /// flip-crop-erase (flip-crop, then random erasing of one rectangle in half the images) or none.
    #[arg(long, value_name = "NAME", conflicts_with = "no_augment")]
    pub augment: Option<String>,
    /// SGM loss variant: paper (σ 1, no extras), authors-v4 (σ 1, mixup with one λ per batch, the authors' code from
    /// 2019-05) or authors-v5 (σ 0.5 and that mixup, from 2019-07). --sigma overrides its σ.
    #[arg(long, value_name = "NAME")]
    pub sgm_preset: Option<String>,
    /// SGM runs: add this weight × cross-entropy of a class head on the embedding to the SGM loss, as every public
    /// caller of the authors' DGMMLoss did (with weight 1). 0: the paper's loss alone.
    #[arg(long, value_name = "W")]
    pub ce_weight: Option<f64>,
    /// No BatchNorm in ResNet18 / PreActResNet18, as the authors' metric-learning ResNet18 had it commented out.
    #[arg(long)]
    pub no_batch_norm: bool,
    /// Test-time flip: validation, test and later `sgm embed` average each image's embedding with its mirror
    /// image's (config `eval_flip`; off in the paper).
    #[arg(long)]
    pub eval_flip: bool,
    /// Softmax batches: balanced (class-balanced draws, the paper's CNN) or shuffled (whole shuffled passes, as a
    /// plain classifier trains).
    #[arg(long, value_enum, value_name = "NAME")]
    pub softmax_sampler: Option<sgm_train::train::SoftmaxSampler>,
    /// SGM and mined-triplet batches: stratified (C × S, --samples-per-class of every class, the paper) or
    /// shuffled (--batch-size images at the training set's class frequencies).
    #[arg(long, value_enum, value_name = "NAME")]
    pub metric_sampler: Option<sgm_train::train::MetricSampler>,
    /// Precision of the training forward pass: f32, or bf16/f16 mixed precision on a GPU (weights, loss and
    /// Adam stay f32).
    #[arg(long, value_enum, value_name = "DTYPE")]
    pub dtype: Option<sgm_train::train::Precision>,
    /// How hub weights are found and checked.
    #[command(flatten)]
    pub hub: crate::args::HubArgs,
}

/// How `--miner` draws triplets: at random over the training set, or mined in each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripletDraw {
    /// The authors' random triplets (`miner` unset in the config).
    Random,
    /// In-batch mining.
    Mined(Miner),
}

impl TripletDraw {
    /// The config's `miner`.
    pub fn miner(self) -> Option<Miner> {
        match self {
            Self::Random => None,
            Self::Mined(m) => Some(m),
        }
    }
}

impl std::str::FromStr for TripletDraw {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "random" => Ok(Self::Random),
            other => other.parse().map(Self::Mined).map_err(|e: String| e.replace("(expected ", "(expected random, ")),
        }
    }
}

/// The resolved configuration: defaults, then the config file, then the model of the pretrained weights, then the
/// flags.
pub fn resolve(a: &TrainArgs, num_classes: usize, pretrained: Option<&ModelConfig>) -> Result<TrainConfig> {
    let mut cfg = match (&a.config, &a.recipe) {
        (Some(_), Some(_)) => anyhow::bail!("--config and --recipe both give a whole configuration: use one"),
        (Some(p), None) => TrainConfig::from_toml_file(p)?,
        // A recipe asked for another loss than its own gives its baseline for that loss.
        (None, Some(name)) => match a.loss {
            Some(loss) => sgm_train::train::recipe_for_loss(name, loss)?,
            None => sgm_train::train::recipe(name)?,
        },
        (None, None) => TrainConfig::default(),
    };
    if let Some(name) = &a.sgm_preset {
        cfg.sgm = sgm_core::SgmConfig::preset(name)?;
    }
    if let Some(name) = &a.schedule {
        cfg.schedule = sgm_train::train::Schedule::by_name(name)?;
    }
    if let Some(m) = pretrained {
        cfg.model = ModelConfig { num_classes: None, ..m.clone() };
    }
    macro_rules! set {
        ($flag:expr => $($field:tt).+) => {
            if let Some(v) = $flag.clone() {
                cfg.$($field).+ = v;
            }
        };
    }
    set!(a.backbone => model.backbone);
    set!(a.loss => loss);
    set!(a.dtype => precision);
    set!(a.epochs => epochs);
    set!(a.size => model.input_size);
    set!(a.channels => model.in_channels);
    set!(a.embedding_dim => model.embedding_dim);
    set!(a.lr => optimizer.lr);
    set!(a.weight_decay => optimizer.weight_decay);
    if a.decoupled_weight_decay {
        cfg.optimizer.decoupled_weight_decay = true;
    }
    set!(a.sigma => sgm.sigma);
    set!(a.samples_per_class => samples_per_class);
    set!(a.batch_size => batch_size);
    set!(a.softmax_sampler => softmax_sampler);
    set!(a.metric_sampler => metric_sampler);
    set!(a.schedule_step => schedule_step);
    if let Some(name) = &a.augment {
        cfg.augment = sgm_data::augment::AugmentConfig::preset(name)?;
    }
    set!(a.triplets_per_epoch => triplets_per_epoch);
    set!(a.seed => seed);
    if a.batches_per_epoch.is_some() {
        cfg.batches_per_epoch = a.batches_per_epoch;
    }
    if let Some(draw) = a.miner {
        cfg.miner = draw.miner();
    }
    set!(a.margin => triplet.margin);
    set!(a.normalize_embedding => model.normalize_embedding);
    if a.no_augment {
        cfg.augment = sgm_data::augment::AugmentConfig::none();
    }
    if a.eval_flip {
        cfg.eval_flip = true;
    }
    if a.no_batch_norm {
        cfg.model.batch_norm = false;
    }
    match (&a.normalization, &a.init) {
        (Some(name), _) => cfg.normalization = Normalization::by_name(name)?,
        // ImageNet weights expect ImageNet's statistics.
        (None, Some(_)) => cfg.normalization = Normalization::imagenet(),
        (None, None) => {}
    }
    set!(a.ce_weight => ce_weight);
    // The softmax baseline, and an SGM run with a cross-entropy term, need a class head sized to the data.
    if cfg.loss == LossKind::Softmax || cfg.ce_weight > 0.0 {
        cfg.model.num_classes = Some(num_classes);
    }
    cfg.validate()?;
    Ok(cfg)
}

/// The backbone the flags and the config file ask for, before anything is loaded.
fn requested_backbone(a: &TrainArgs) -> Result<BackboneKind> {
    Ok(match (a.backbone, &a.config) {
        (Some(b), _) => b,
        (None, Some(p)) => TrainConfig::from_toml_file(p)?.model.backbone,
        (None, None) => match &a.recipe {
            Some(name) => sgm_train::train::recipe(name)?.model.backbone,
            None => TrainConfig::default().model.backbone,
        },
    })
}

/// Runs `sgm train`.
pub fn run(a: TrainArgs) -> Result<()> {
    // Another process writing --out is refused before the data are loaded; the lock is taken below.
    sgm_train::train::RunLock::check_free(&a.out)?;
    // Weights are resolved first: a missing hub file fails at once, not after the data set is read.
    let foreign = match &a.init {
        Some(spec) => {
            let scope = a.init_scope.unwrap_or_default();
            Some(crate::args::resolve_init(spec, requested_backbone(&a)?, scope, &a.hub)?)
        }
        None => None,
    };
    let checkpoint = a.weights.as_deref().map(|spec| crate::args::resolve_weights(spec, &a.hub)).transpose()?;
    let pretrained = checkpoint.as_deref().map(pretrained_model).transpose()?;
    let sets = a.data.load(&[Split::Train, Split::Valid, Split::Test])?;
    let [train, valid, test] = <[_; 3]>::try_from(sets).expect("three splits");
    let mut cfg = resolve(&a, train.num_classes(), pretrained.as_ref())?;
    let init = match (checkpoint, foreign) {
        (Some(path), _) => Some(InitWeights::Checkpoint(path)),
        (None, Some((init, record))) => {
            cfg.init = Some(record);
            Some(InitWeights::Torchvision(init))
        }
        (None, None) => None,
    };
    let existing = match (a.resume, a.overwrite) {
        (true, _) => Existing::Resume,
        (_, true) => Existing::Overwrite,
        _ => Existing::Refuse,
    };
    eprintln!(
        "training {} with {} loss on {} ({} train / {} valid images, {} classes), {} epochs -> {}",
        cfg.model.backbone,
        cfg.loss,
        a.data.data,
        train.len(),
        valid.len(),
        train.num_classes(),
        cfg.epochs,
        a.out.display()
    );
    let opts = FitOptions {
        existing,
        progress: ProgressMode::Auto,
        device: sgm_train::device::parse(&a.device)?,
        max_minutes: a.max_minutes,
        init,
    };
    // Everything that can be refused is refused before the run directory exists.
    check_inputs(&cfg, &train, &opts)?;
    // Locked from the first file written to the test report: one writer per run directory.
    let run = RunDir::open(&a.out)?;
    let summary = fit_in(cfg.clone(), &train, Some(&valid), &run, opts)?;
    if let Some((epoch, score)) = summary.best {
        eprintln!(
            "best validation epoch {epoch}: score {score:.4} (saved as {})",
            a.out.join("best.safetensors").display()
        );
    }
    if !a.no_test {
        test_report(&cfg, &a, &run, &train, &test)?;
    }
    Ok(())
}

/// The model configuration recorded in a checkpoint or exported model (whose checksum is verified on the way).
fn pretrained_model(path: &Path) -> Result<ModelConfig> {
    let ck = sgm_train::checkpoint::load(path, &candle_core::Device::Cpu)?;
    let model =
        ck.meta.get("model").cloned().filter(|v| !v.is_null()).with_context(|| {
            format!("{}: not an sgm model (no model configuration in its metadata)", path.display())
        })?;
    serde_json::from_value(model)
        .with_context(|| format!("{}: unreadable model configuration in the metadata", path.display()))
}

/// Scores the best checkpoint on the test split as `sgm eval` does; writes `test_report.json`.
fn test_report(
    cfg: &TrainConfig,
    a: &TrainArgs,
    run: &RunDir,
    train: &sgm_data::ImageSet,
    test: &sgm_data::ImageSet,
) -> Result<()> {
    let mut trainer = Trainer::new(cfg.clone(), sgm_train::device::parse(&a.device)?)?;
    let best = run.best();
    trainer.load(&best, false).with_context(|| format!("loading {}", best.display()))?;
    let (train_emb, _) = trainer.embed(train)?;
    let (test_emb, logits) = trainer.embed(test)?;
    let groups = test.duplicate_groups();
    let (train_labels, test_labels) = (train.labels(), test.labels());
    let opts = EvalOptions { seed: cfg.seed, ..EvalOptions::default() };
    let mut report = evaluate(Some((&train_emb, &train_labels)), &test_emb, &test_labels, groups.as_deref(), &opts)?;
    // The softmax baseline is also scored by its class head (an SGM run's auxiliary head is not its model).
    if let Some(l) = logits.filter(|_| cfg.loss == LossKind::Softmax) {
        let classes = l.len() / test_labels.len().max(1);
        report = report.with_argmax(&l, classes, &test_labels, &train_labels)?;
    }
    let path = run.test_report();
    sgm_core::fs::write_json_atomic(&path, &report)?;
    println!("{report}");
    eprintln!("test report written to {}", path.display());
    Ok(())
}
