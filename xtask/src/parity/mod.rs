//! `cargo xtask parity`: sgm against PyTorch references, written to `docs/fidelity.md`.
//!
//! `--init` checks the ImageNet-initialisation path against torchvision (see [`init`]); `--training` runs sgm's
//! whole training pipeline against a PyTorch port of the authors' training, several seeds per side (see
//! [`training`]). The references run under `python3`, or the interpreter in `SGM_PYTHON`, with torch and
//! torchvision installed.

pub mod init;
pub mod training;

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `cargo xtask parity`.
#[derive(Debug, Args)]
pub struct ParityArgs {
    /// ResNet18 and AlexNet against torchvision under identical weights (architecture and name mapping).
    #[arg(long)]
    pub init: bool,
    /// sgm's training against the PyTorch port of the authors' training (bench/parity/train_reference.py): the
    /// synthetic set and, where it is found, FER+ (about 40 minutes on 2 cores).
    #[arg(long)]
    pub training: bool,
    /// Seeds per side on the synthetic set (at least 3 for a spread).
    #[arg(long, default_value_t = 4)]
    pub seeds: u64,
    /// Seeds per side on FER+.
    #[arg(long, default_value_t = 2)]
    pub ferplus_seeds: u64,
    /// FER+ root [default: $SGM_DATA_DIR/ferplus]; the FER+ setting is skipped, saying so, where there is none.
    #[arg(long, value_name = "DIR")]
    pub ferplus: Option<std::path::PathBuf>,
    /// Seconds-long settings (1 seed, 2 short epochs): checks the harness, not the method.
    #[arg(long)]
    pub quick: bool,
    /// Print the results only; leave docs/fidelity.md as it is.
    #[arg(long)]
    pub no_write: bool,
}

/// The reference interpreter.
pub struct Python(pub String);

impl Python {
    /// `$SGM_PYTHON`, else `python3`; fails with how to install torch when it cannot import `modules`.
    pub fn find(modules: &[&str]) -> Result<Self> {
        let exe = std::env::var("SGM_PYTHON").unwrap_or_else(|_| "python3".into());
        for m in modules {
            let ok = Command::new(&exe).args(["-c", &format!("import {m}")]).output().is_ok_and(|o| o.status.success());
            if !ok {
                bail!(
                    "{exe} cannot import {m}: install the references in a venv and point SGM_PYTHON at it, e.g.\n  \
                     python3 -m venv ~/sgm-bench && ~/sgm-bench/bin/pip install numpy torch torchvision safetensors \
                     opencv-python-headless scikit-learn\n  SGM_PYTHON=~/sgm-bench/bin/python cargo xtask parity"
                );
            }
        }
        Ok(Self(exe))
    }
}

/// Runs `python ARGS` and parses its standard output as JSON.
pub fn python_json(python: &Python, args: &[&str]) -> Result<serde_json::Value> {
    let out = Command::new(&python.0).args(args).output().with_context(|| format!("running {} {args:?}", python.0))?;
    if !out.status.success() {
        bail!("{} {args:?} failed:\n{}", python.0, String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{args:?}: output is not JSON"))
}

/// Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in `path` (appending the section, with
/// `heading`, when the markers are absent), atomically.
pub fn write_section(path: &Path, name: &str, heading: &str, body: &str) -> Result<()> {
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Fidelity: sgm against the references\n".into());
    let section = format!("{begin}\n{body}{end}");
    let new = match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &text[..b], &text[e + end.len()..]),
        _ => format!("{}\n{heading}\n\n{section}\n", text.trim_end()),
    };
    sgm_core::fs::write_atomic(path, new.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// The machine, the commit and the date, for the record.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let avx512 = cpuinfo.lines().find(|l| l.starts_with("flags")).is_some_and(|l| l.contains("avx512f"));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let out = |cmd: &mut Command| {
        cmd.output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
    };
    let commit = out(Command::new("git").args(["rev-parse", "--short", "HEAD"]));
    let date = out(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    format!("{cpu} ({}), {cores} cores; commit {commit}; {date}", if avx512 { "AVX-512" } else { "AVX2" })
}

/// Runs `cargo xtask parity`.
pub fn parity(args: &ParityArgs, root: &Path) -> Result<()> {
    if !args.init && !args.training {
        bail!(
            "say which parity to run: --init (ImageNet initialisation against torchvision), --training (sgm's \
               training against the PyTorch port of the authors'), or both"
        );
    }
    let fidelity = root.join("docs/fidelity.md");
    if args.init {
        let python = Python::find(&["torch", "torchvision", "safetensors"])?;
        let result = init::run(&python, root)?;
        const BOUND: f64 = 1e-4;
        let md = init::markdown(&result, BOUND);
        println!("{md}");
        if let Some(bad) = result.rows.iter().find(|r| r.max_rel > BOUND) {
            bail!("{}: sgm differs from torchvision by {:.2e} (relative), above {BOUND:e}", bad.what, bad.max_rel);
        }
        if !args.no_write {
            write_section(&fidelity, "init", "## ImageNet initialisation: sgm's backbones against torchvision", &md)?;
            eprintln!("written to {}", fidelity.display());
        }
    }
    if args.training {
        let python = Python::find(&["torch", "torchvision", "numpy", "cv2", "sklearn"])?;
        eprintln!("parity --training: building the release sgm binary");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["build", "--release", "--quiet", "-p", "sgm-cli"])
            .status()
            .context("cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p sgm-cli failed");
        }
        let sgm = root.join("target/release/sgm");
        let work = root.join("target/parity");
        let figures = if args.no_write { work.clone() } else { root.join("docs/img") };
        std::fs::create_dir_all(&figures)?;
        let settings = training_settings(args, &sgm, &work)?;
        let mut results = Vec::new();
        for setting in &settings {
            results.push(training::run_setting(&sgm, &python, root, setting, &work, &figures)?);
        }
        let md = training::markdown(&results, &machine(), &root.join("docs"));
        println!("{md}");
        if !args.no_write {
            write_section(
                &fidelity,
                "training",
                "## Training: sgm against a PyTorch port of the authors' training",
                &md,
            )?;
            eprintln!("written to {}", fidelity.display());
        }
    }
    Ok(())
}

/// The synthetic setting (exported by `sgm data synth`) and, where the data is found, the FER+ one.
fn training_settings(args: &ParityArgs, sgm: &Path, work: &Path) -> Result<Vec<training::Setting>> {
    let synth = work.join("synth-export");
    if !synth.join("labels.csv").exists() {
        let _ = std::fs::remove_dir_all(&synth);
        let status = Command::new(sgm)
            .args(["data", "synth", "--train-per-class", "160", "--out"])
            .arg(&synth)
            .status()
            .context("sgm data synth")?;
        if !status.success() {
            bail!("sgm data synth failed");
        }
    }
    let seeds = |n: u64| (1..=n.max(1)).collect::<Vec<u64>>();
    let mut out = vec![training::Setting {
        name: "synthetic".into(),
        about: "sgm's synthetic faces (`sgm data synth --train-per-class 160`: 8 expressions, 1,280 training images), \
                the workload of `cargo xtask reproduce` with no arguments."
            .into(),
        data: "synth",
        root: synth,
        size: 32,
        samples_per_class: 16,
        // One pass over the 1,280 training images per epoch, as the reproduction's synthetic profile.
        batches_per_epoch: 10,
        epochs: if args.quick { 2 } else { 10 },
        lr: 1e-3,
        augment: false,
        train_subset: 800,
        seeds: if args.quick { vec![1] } else { seeds(args.seeds) },
    }];
    let fer =
        args.ferplus.clone().or_else(|| std::env::var_os("SGM_DATA_DIR").map(|d| PathBuf::from(d).join("ferplus")));
    match fer {
        Some(root) if root.join("fer2013new.csv").exists() => out.push(training::Setting {
            name: "ferplus".into(),
            about: "FER+ (majority labels from fer2013new.csv), validated on FER2013Valid.".into(),
            data: "ferplus",
            root,
            size: 48,
            samples_per_class: 16,
            batches_per_epoch: if args.quick { 3 } else { 40 },
            epochs: if args.quick { 2 } else { 8 },
            lr: 1e-3,
            augment: true,
            train_subset: if args.quick { 500 } else { 5000 },
            seeds: if args.quick { vec![1] } else { seeds(args.ferplus_seeds) },
        }),
        _ => eprintln!("parity --training: no FER+ found (set SGM_DATA_DIR or --ferplus): the FER+ setting is skipped"),
    }
    Ok(out)
}
