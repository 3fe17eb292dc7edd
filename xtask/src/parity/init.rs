//! `cargo xtask parity --init`: sgm's ResNet18 and AlexNet against a live torchvision, under identical weights.
//!
//! 1. torchvision's state-dict layouts (names and shapes) against the layout sgm maps from;
//! 2. formula-filled weights in both frameworks (`bench/parity/torchvision_parity.py`): the embeddings of a batch of
//!    4 at 224 and 48, in evaluation mode and one training-mode forward, and a grey 1-channel model (conv1 folded)
//!    against torchvision's 3-channel one on the replicated batch;
//! 3. real torchvision files (`convert_torchvision.py --random 1`: torchvision's own initialisation, in its own tensor
//!    names) loaded through sgm's name mapping: the 1000 logits, against torchvision's.

use super::{python_json, Python};
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use sgm_models::pretrained::{classifier_from_torchvision, formula_state_dict, formula_values, torchvision_layout};
use sgm_models::{BackboneKind, ModelConfig};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One compared output.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was compared, e.g. `resnet18 224 3ch eval (formula)`.
    pub what: String,
    /// Values compared.
    pub values: usize,
    /// max |sgm − torchvision|.
    pub max_abs: f64,
    /// max |sgm − torchvision| / max |torchvision|.
    pub max_rel: f64,
}

/// The outcome of the init parity run.
#[derive(Debug, Clone)]
pub struct InitParity {
    /// torch and torchvision versions.
    pub versions: String,
    /// Layout checks, as sentences.
    pub layouts: Vec<String>,
    /// Compared outputs.
    pub rows: Vec<Row>,
}

fn backbone(name: &str) -> Result<BackboneKind> {
    name.parse().map_err(|e| anyhow::anyhow!("{e}"))
}

fn compare(what: String, got: &Tensor, want: &[f64]) -> Result<Row> {
    let got: Vec<f64> = got.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
    if got.len() != want.len() {
        bail!("{what}: sgm gave {} values, torchvision {}", got.len(), want.len());
    }
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let max_abs = got.iter().zip(want).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    Ok(Row { what, values: want.len(), max_abs, max_rel: max_abs / scale })
}

fn floats(v: &serde_json::Value) -> Result<Vec<f64>> {
    v.as_array().context("expected an array")?.iter().map(|x| x.as_f64().context("expected a number")).collect()
}

/// The embeddings of sgm's model for the formula batch of `size`×`size`, `channels` channels.
fn forward(cfg: &ModelConfig, file: &BTreeMap<String, Tensor>, source: &str, train: bool) -> Result<Tensor> {
    let (_, model, _) = classifier_from_torchvision(cfg, file, source)?;
    let (c, s) = (cfg.in_channels, cfg.input_size);
    let x = Tensor::from_vec(formula_values(&format!("input.{c}x{s}"), &[4, c, s, s]), (4, c, s, s), &Device::Cpu)?;
    Ok(model.forward(&x, train)?.embedding)
}

/// Runs the comparison; `root` is the workspace root.
pub fn run(python: &Python, root: &Path) -> Result<InitParity> {
    let script = root.join("bench/parity/torchvision_parity.py");
    eprintln!("parity --init: torchvision under formula-filled weights ({})", script.display());
    let json = python_json(python, &[script.to_str().context("path")?])?;
    let versions = format!(
        "torch {}, torchvision {}",
        json["torch"].as_str().unwrap_or("?"),
        json["torchvision"].as_str().unwrap_or("?")
    );
    let mut layouts = Vec::new();
    for kind in [BackboneKind::ResNet18, BackboneKind::AlexNet] {
        let theirs: Vec<(String, Vec<usize>)> = json["layout"][kind.name()]
            .as_array()
            .context("layout")?
            .iter()
            .map(|e| {
                let name = e[0].as_str().context("name")?.to_string();
                let dims = e[1].as_array().context("shape")?.iter().map(|d| d.as_u64().unwrap_or(0) as usize);
                Ok((name, dims.collect()))
            })
            .collect::<Result<_>>()?;
        let mut theirs = theirs;
        theirs.sort();
        let ours = torchvision_layout(kind, 1000)?;
        if ours != theirs {
            let missing: Vec<_> = theirs.iter().filter(|t| !ours.contains(t)).map(|t| t.0.clone()).collect();
            let extra: Vec<_> = ours.iter().filter(|t| !theirs.contains(t)).map(|t| t.0.clone()).collect();
            bail!("{kind}: torchvision's state dict differs from sgm's layout: missing {missing:?}, extra {extra:?}");
        }
        layouts.push(format!("{kind}: the same {} tensor names and shapes as torchvision's state dict", ours.len()));
    }

    let mut rows = Vec::new();
    for case in json["cases"].as_array().context("cases")? {
        let kind = backbone(case["backbone"].as_str().context("backbone")?)?;
        let size = case["size"].as_u64().context("size")? as usize;
        let channels = case["channels"].as_u64().context("channels")? as usize;
        let train = case["mode"] == "train";
        let mut file = formula_state_dict(kind, 8, &Device::Cpu)?;
        if kind == BackboneKind::AlexNet && size < 128 {
            for (name, dims) in [("features.0.weight", vec![64, 3, 5, 5]), ("features.0.bias", vec![64])] {
                file.insert(name.into(), Tensor::from_vec(formula_values(name, &dims), dims, &Device::Cpu)?);
            }
        }
        let cfg = ModelConfig {
            backbone: kind,
            in_channels: channels,
            input_size: size,
            embedding_dim: 8,
            dropout: 0.0,
            ..ModelConfig::new(kind)
        };
        let got = forward(&cfg, &file, "formula", train)?;
        let what = format!("{kind} {size}² {channels}ch {} (formula)", case["mode"].as_str().unwrap_or("?"));
        rows.push(compare(what, &got, &floats(&case["embedding"])?)?);
    }

    let tmp = tempfile_dir()?;
    let convert = root.join("bench/parity/convert_torchvision.py");
    for kind in [BackboneKind::ResNet18, BackboneKind::AlexNet] {
        let file_path = tmp.join(format!("{kind}-random.safetensors"));
        eprintln!("parity --init: torchvision's own {kind} (random init, seed 1) through sgm's name mapping");
        let status = std::process::Command::new(&python.0)
            .args([convert.to_str().context("path")?, kind.name(), file_path.to_str().context("path")?])
            .args(["--random", "1"])
            .status()
            .context("running convert_torchvision.py")?;
        if !status.success() {
            bail!("convert_torchvision.py failed for {kind}");
        }
        let logits = python_json(
            python,
            &[
                script.to_str().context("path")?,
                "--from-file",
                file_path.to_str().context("path")?,
                "--backbone",
                kind.name(),
            ],
        )?;
        let file = sgm_train::pretrained::read_state_dict(&file_path, &Device::Cpu)?;
        for case in logits["cases"].as_array().context("cases")? {
            let size = case["size"].as_u64().context("size")? as usize;
            let cfg = ModelConfig {
                backbone: kind,
                in_channels: 3,
                input_size: size,
                embedding_dim: 1000,
                ..ModelConfig::new(kind)
            };
            let got = forward(&cfg, &file, &file_path.display().to_string(), false)?;
            rows.push(compare(
                format!("{kind} {size}² 3ch eval (torchvision's file)"),
                &got,
                &floats(&case["logits"])?,
            )?);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(InitParity { versions, layouts, rows })
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("sgm-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The markdown section of docs/fidelity.md.
pub fn markdown(p: &InitParity, bound: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Reference: {} on the CPU. Command: `cargo xtask parity --init`.\n", p.versions);
    for l in &p.layouts {
        let _ = writeln!(s, "- {l}.");
    }
    let _ = writeln!(s, "\n| compared | values | max abs diff | max rel diff | within {bound:e} |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for r in &p.rows {
        let ok = if r.max_rel <= bound { "yes" } else { "**no**" };
        let _ = writeln!(s, "| {} | {} | {:.2e} | {:.2e} | {ok} |", r.what, r.values, r.max_abs, r.max_rel);
    }
    s
}
