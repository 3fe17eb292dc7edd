//! Algorithm 2 with its files: `sgm subclasses` and `sgm reproduce` run [`sgm_train::train::algorithm2`] through
//! [`run`], which writes, per level, `OUT/level-N/` with `assignment.csv` (index, file, class, sub-class),
//! `sizes.csv` and `model.safetensors`, and `OUT/report.json` at the end.

use crate::args::DataArgs;
use crate::csv_files::write_csv;
use anyhow::{Context, Result};
use candle_core::Device;
use sgm_data::{ImageSet, Split};
use sgm_train::train::algorithm2::{run_levels, Algorithm2Config, Algorithm2Report, Level};
use sgm_train::train::subclass::SubclassTrainer;
use std::collections::BTreeMap;
use std::path::Path;

/// `report.json`: the starting checkpoint and [`Algorithm2Report`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct SubclassesReport {
    /// The starting checkpoint.
    pub checkpoint: String,
    /// What the levels found.
    #[serde(flatten)]
    pub report: Algorithm2Report,
}

/// Splits the training split of `data` into sub-classes from `checkpoint`, level by level, writing into `out`.
pub fn run(
    checkpoint: &Path,
    data: &DataArgs,
    cfg: &Algorithm2Config,
    device: Device,
    out: &Path,
) -> Result<SubclassesReport> {
    cfg.validate()?;
    let train = data.load(&[Split::Train])?.remove(0);
    let num_classes = train.class_names.len().max(train.labels().iter().max().map_or(0, |&m| m as usize + 1));
    let mut trainer = SubclassTrainer::from_checkpoint(checkpoint, num_classes, device)
        .with_context(|| format!("loading {}", checkpoint.display()))?;
    let report = run_levels(&mut trainer, &train, cfg, |l: Level<'_>| -> Result<()> {
        let r = l.report;
        let dir = out.join(format!("level-{}", r.level));
        write_level(&dir, &train, l.classes, l.subclasses)?;
        let meta = serde_json::json!({ "subclasses_level": r.level, "subclasses": r.subclasses, "split": cfg.split });
        l.trainer.save_weights(&dir.join("model.safetensors"), meta)?;
        println!(
            "level {}: {} sub-classes{}",
            r.level,
            r.subclasses,
            r.nmi_vs_truth.map_or(String::new(), |v| format!(", within-class NMI vs true sub-classes {v:.4}"))
        );
        Ok(())
    })?;
    if let Some(n) = &report.nmi {
        println!(
            "within-class sub-class NMI: discovered {:.4}, final embedding {:.4}; baselines: plain SGM {:.4}, \
             untrained {:.4}",
            n.discovered, n.final_embedding, n.plain_sgm_baseline, n.untrained_baseline
        );
    }
    let report = SubclassesReport { checkpoint: checkpoint.display().to_string(), report };
    sgm_core::fs::write_json_atomic(&out.join("report.json"), &report)?;
    Ok(report)
}

/// Writes `assignment.csv` and `sizes.csv` of one level.
fn write_level(dir: &Path, train: &ImageSet, classes: &[u32], sub: &[u32]) -> Result<()> {
    let rows = train
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| [i.to_string(), s.source.display().to_string(), classes[i].to_string(), sub[i].to_string()]);
    write_csv(&dir.join("assignment.csv"), &["index", "file", "class", "subclass"], rows)?;
    let mut sizes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    classes.iter().zip(sub).for_each(|(&c, &s)| *sizes.entry((s, c)).or_default() += 1);
    let rows = sizes.into_iter().map(|((s, c), n)| {
        let name = train.class_names.get(c as usize).map_or("", String::as_str);
        [s.to_string(), c.to_string(), name.to_string(), n.to_string()]
    });
    write_csv(&dir.join("sizes.csv"), &["subclass", "class", "class_name", "size"], rows)?;
    Ok(())
}
