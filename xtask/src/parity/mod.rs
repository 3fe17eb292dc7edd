//! `cargo xtask parity`: sgm against PyTorch references, written to `docs/fidelity.md`.
//!
//! `--init` checks the ImageNet-initialisation path against torchvision (see [`init`]). The reference runs under
//! `python3`, or the interpreter in `SGM_PYTHON`, with torch and torchvision installed.

pub mod init;

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::Path;
use std::process::Command;

/// Arguments of `cargo xtask parity`.
#[derive(Debug, Args)]
pub struct ParityArgs {
    /// ResNet18 and AlexNet against torchvision under identical weights (architecture and name mapping).
    #[arg(long)]
    pub init: bool,
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
    sgm_train::atomic::write_atomic(path, new.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Runs `cargo xtask parity`.
pub fn parity(args: &ParityArgs, root: &Path) -> Result<()> {
    if !args.init {
        bail!("say which parity to run: --init (ImageNet initialisation against torchvision)");
    }
    let python = Python::find(&["torch", "torchvision", "safetensors"])?;
    let result = init::run(&python, root)?;
    const BOUND: f64 = 1e-4;
    let md = init::markdown(&result, BOUND);
    println!("{md}");
    if let Some(bad) = result.rows.iter().find(|r| r.max_rel > BOUND) {
        bail!("{}: sgm differs from torchvision by {:.2e} (relative), above {BOUND:e}", bad.what, bad.max_rel);
    }
    if !args.no_write {
        let path = root.join("docs/fidelity.md");
        write_section(&path, "init", "## ImageNet initialisation: sgm's backbones against torchvision", &md)?;
        eprintln!("written to {}", path.display());
    }
    Ok(())
}
