//! Which tensors of a torchvision state dict go where in sgm's ResNet18 and AlexNet, and which are left out.

use std::collections::BTreeMap;
use std::fmt;

use candle_core::{DType, Tensor};

use serde::{Deserialize, Serialize};

use crate::{BackboneKind, ModelConfig, ModelError, Result};

/// Which tensors of a torchvision file are loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitScope {
    /// Every tensor the model has a place for: convolutions, BatchNorm (parameters and running statistics) and,
    /// for AlexNet, the two hidden FC layers. torchvision's and timm's fine-tuning, and the authors' CNN baseline.
    #[default]
    All,
    /// The convolutions only (weights and biases); BatchNorm and FC layers keep their seeded initialisation. The
    /// authors' embedding networks: their loader matched tensors by name, and their metric-learning ResNet18 had
    /// no BatchNorm and their AlexNet's FC layers were named `embedded`, so only the convolutions were loaded.
    Features,
}

impl std::str::FromStr for InitScope {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "all" => Ok(Self::All),
            "features" | "convs" => Ok(Self::Features),
            other => Err(format!("unknown init scope '{other}' (expected all or features)")),
        }
    }
}

impl fmt::Display for InitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::All => "all",
            Self::Features => "features",
        })
    }
}

/// Whether a torchvision tensor is a convolution's weight or bias.
fn is_conv(kind: BackboneKind, name: &str) -> bool {
    match kind {
        BackboneKind::AlexNet => name.starts_with("features."),
        _ => {
            name == "conv1.weight"
                || (name.starts_with("layer")
                    && (name.contains(".conv1.") || name.contains(".conv2.") || name.contains(".downsample.0.")))
        }
    }
}

/// What [`import_torchvision`] did with every tensor: loaded, adapted, left out, or freshly initialised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The model variables set from the file, sorted.
    pub loaded: Vec<String>,
    /// Loaded variables whose values were transformed, with how (e.g. conv1 folded to one input channel).
    pub adapted: Vec<(String, String)>,
    /// Model variables not in the file, which keep their seeded initialisation (the embedding layer, the class
    /// head), sorted.
    pub fresh: Vec<String>,
    /// Tensors of the file the model has no use for, with the reason, sorted by name.
    pub unused: Vec<(String, String)>,
}

impl ImportReport {
    /// Lines for a log: counts, every fresh and adapted variable, and the unused tensors grouped by reason (a group
    /// of more than 8 shortened to its first 3 names and its size).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} tensors loaded, {} freshly initialised, {} of the file unused",
            self.loaded.len(),
            self.fresh.len(),
            self.unused.len()
        )];
        for (name, how) in &self.adapted {
            out.push(format!("adapted: {name}: {how}"));
        }
        if !self.fresh.is_empty() {
            out.push(format!("freshly initialised: {}", self.fresh.join(", ")));
        }
        let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, why) in &self.unused {
            by_reason.entry(why.as_str()).or_default().push(name.as_str());
        }
        for (why, names) in by_reason {
            // Long groups (BatchNorm's 20 step counters) are shortened; the report itself holds every name.
            let shown = if names.len() > 8 {
                format!("{}, … ({} in all)", names[..3].join(", "), names.len())
            } else {
                names.join(", ")
            };
            out.push(format!("unused ({why}): {shown}"));
        }
        out
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

/// Why a tensor of a torchvision state dict may have no place in the sgm model, or `None` when it must have one.
fn expected_unused(cfg: &ModelConfig, name: &str) -> Option<&'static str> {
    let last = name.rsplit('.').next().unwrap_or(name);
    if last == "num_batches_tracked" {
        return Some("BatchNorm step counter; sgm's BatchNorm uses a fixed momentum");
    }
    match cfg.backbone {
        BackboneKind::ResNet18 => {
            if name.starts_with("fc.") {
                return Some("ImageNet class layer; replaced by the embedding layer");
            }
            let is_bn = name.starts_with("bn1.")
                || name.contains(".bn1.")
                || name.contains(".bn2.")
                || name.contains(".downsample.1.");
            if is_bn && !cfg.batch_norm {
                return Some("BatchNorm, switched off in this model (batch_norm = false)");
            }
            None
        }
        BackboneKind::AlexNet => {
            name.starts_with("classifier.6.").then_some("ImageNet class layer; replaced by the embedding layer")
        }
        _ => None,
    }
}

/// Model variables that a torchvision file never holds: they start from the seeded initialisation.
fn is_fresh(name: &str) -> bool {
    name.starts_with("embedding.") || name.starts_with("head.")
}

const SCOPE_REASON: &str = "left out by the init scope 'features' (convolutions only)";

/// The sgm variable a torchvision tensor goes to. sgm's ResNet18 and AlexNet use torchvision's names for every layer
/// they share with it, so this is the identity; it is kept as one place should that ever change.
fn sgm_name(torchvision_name: &str) -> &str {
    torchvision_name
}

/// The first convolution, whose input channels depend on the grey-input mode.
fn stem_name(kind: BackboneKind) -> &'static str {
    match kind {
        BackboneKind::AlexNet => "features.0.weight",
        _ => "conv1.weight",
    }
}

/// Maps a torchvision state dict (`file`, tensors by name, as `torchvision.models.resnet18().state_dict()` or timm's
/// `resnet18.tv_in1k` hold them) onto the variables of the sgm model `cfg` describes, whose names and shapes are
/// `model_vars`.
///
/// - ResNet18 and AlexNet only; the other backbones have no torchvision counterpart.
/// - A 3-channel `conv1` (`features.0` for AlexNet) into a 1-channel model is summed over its RGB axis, as timm's
///   `adapt_input_conv` does: a grey image replicated to three channels then gives the same output up to the
///   per-channel normalisation.
/// - The ImageNet class layer (`fc`, `classifier.6`), BatchNorm step counters and, with `batch_norm = false`, the
///   BatchNorm tensors are reported unused; the embedding layer and the class head are reported fresh.
/// - Any other tensor without a place, a model variable that the file lacks, or a shape that differs is an error
///   naming the tensor (and both shapes): the file is of another architecture or for another input.
/// - With [`InitScope::Features`] only the convolutions are loaded; the tensors left out are reported unused and
///   the model variables they would have set fresh.
///
/// `source` names the file in error messages. Returns the tensors to set (model names, f32) and the report.
pub fn import_torchvision(
    cfg: &ModelConfig,
    model_vars: &[(String, Vec<usize>)],
    file: &BTreeMap<String, Tensor>,
    scope: InitScope,
    source: &str,
) -> Result<(Vec<(String, Tensor)>, ImportReport)> {
    let bad = |reason: String| ModelError::Import { file: source.to_string(), reason };
    if !matches!(cfg.backbone, BackboneKind::ResNet18 | BackboneKind::AlexNet) {
        return Err(bad(format!(
            "{} has no torchvision counterpart; torchvision weights fit resnet18 and alexnet",
            cfg.backbone
        )));
    }
    let model: BTreeMap<&str, &[usize]> = model_vars.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let mut report = ImportReport::default();
    let mut out = Vec::new();
    let mut foreign = Vec::new();
    let mut scoped_out = std::collections::BTreeSet::new();
    for (name, tensor) in file {
        let target = sgm_name(name);
        let in_scope = scope == InitScope::All || is_conv(cfg.backbone, name);
        if model.contains_key(target) && !in_scope {
            report.unused.push((name.clone(), SCOPE_REASON.to_string()));
            scoped_out.insert(target);
            continue;
        }
        let Some(want) = model.get(target) else {
            match expected_unused(cfg, name) {
                Some(why) => report.unused.push((name.clone(), why.to_string())),
                None => foreign.push(name.as_str()),
            }
            continue;
        };
        let have = tensor.dims();
        let value = if have == *want {
            tensor.to_dtype(DType::F32)?
        } else if target == stem_name(cfg.backbone)
            && have.len() == 4
            && want.len() == 4
            && have[1] == 3
            && want[1] == 1
            && (have[0], have[2], have[3]) == (want[0], want[2], want[3])
        {
            report.adapted.push((
                target.to_string(),
                "3 input channels summed to 1 (timm's adapt_input_conv): grey input without replication".into(),
            ));
            tensor.to_dtype(DType::F32)?.sum_keepdim(1)?
        } else {
            let hint = match (cfg.backbone, target) {
                (BackboneKind::AlexNet, "features.0.weight") if cfg.input_size < super::ALEXNET_STEM_MIN => {
                    format!(
                        " (below {0}×{0} sgm's AlexNet has a 5×5/2 stem, which ImageNet's 11×11/4 weights do not fit; \
                         use --size {0} or more)",
                        super::ALEXNET_STEM_MIN
                    )
                }
                _ => String::new(),
            };
            return Err(ModelError::ShapeMismatch(Box::new(crate::error::ShapeMismatch {
                file: source.to_string(),
                tensor: name.clone(),
                file_shape: have.to_vec(),
                model_shape: want.to_vec(),
                hint,
            })));
        };
        report.loaded.push(target.to_string());
        out.push((target.to_string(), value));
    }
    if !foreign.is_empty() {
        return Err(bad(format!(
            "{} tensor(s) have no place in sgm's {}: {} (a file of another architecture?)",
            foreign.len(),
            cfg.backbone,
            preview(&foreign)
        )));
    }
    let loaded: std::collections::BTreeSet<&str> = report.loaded.iter().map(String::as_str).collect();
    let mut missing = Vec::new();
    for name in model.keys() {
        if loaded.contains(name) {
            continue;
        }
        if is_fresh(name) || scoped_out.contains(name) {
            report.fresh.push(name.to_string());
        } else {
            missing.push(*name);
        }
    }
    if !missing.is_empty() {
        return Err(bad(format!(
            "lacks {} tensor(s) of sgm's {}: {} (a file of another architecture, or not in torchvision's names?)",
            missing.len(),
            cfg.backbone,
            preview(&missing)
        )));
    }
    report.loaded.sort();
    report.fresh.sort();
    report.unused.sort();
    Ok((out, report))
}

/// At most 6 names, then how many more.
fn preview(names: &[&str]) -> String {
    let mut s = names.iter().take(6).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 6 {
        s.push_str(&format!(", … ({} more)", names.len() - 6));
    }
    s
}
