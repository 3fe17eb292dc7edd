//! The report's figures: Figure 8's EM groups as one montage, and the plots of Figures 2, 3 and 5 with the
//! confusion matrices and training curves.

use super::evaluate::Splits;
use super::plan::Plan;
use super::results::{GroupsResult, RunResult};
use crate::csv_files::write_csv;
use anyhow::{Context, Result};
use candle_core::Device;
use sgm_cluster::{gmm, groups_with_medoids, CovarianceType, GmmConfig};
use sgm_data::ImageSet;
use sgm_plot::confusion::confusion_matrix;
use sgm_plot::curves::{f1_vs_k, retrieval_curves, RetrievalCurve, Series};
use sgm_plot::gallery::{gallery, Gallery, Tile};
use sgm_plot::scatter::{scatter, Scatter};
use sgm_plot::style::Figure;
use sgm_plot::training::training_curves;
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
    let trainer = sgm_train::train::Trainer::from_checkpoint(model, device.clone())
        .with_context(|| format!("loading {}", model.display()))?;
    let (emb, _) = trainer.embed(test)?;
    let labels = test.labels();
    // Full covariances need several points per dimension and group; small sets get diagonal ones.
    let k = plan.groups.min(emb.rows() / 4).max(1);
    let covariance = if emb.rows() / k >= 2 * emb.dim() { CovarianceType::Full } else { CovarianceType::Diagonal };
    let cfg = GmmConfig { n_init: 1, ..GmmConfig::new(k, covariance, plan.seed) };
    let fit = gmm(&emb, &cfg).context("EM over the test embeddings")?;
    let groups = groups_with_medoids(&emb, &fit.assignments, MONTAGE_COLUMNS, Some(&labels))?;
    let report = crate::groups_files::GroupsReport {
        embeddings: format!("{model_name} on the test split"),
        n: emb.rows(),
        requested_groups: k as u32,
        method: sgm_cluster::GroupMethod::Gmm,
        lower_bound: Some(fit.lower_bound),
        converged: Some(fit.converged),
        inertia: None,
        groups: groups.clone(),
    };
    report.write(&out.join("groups"), &fit.assignments)?;
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
                let class =
                    g.majority_label.and_then(|l| test.class_names.get(l as usize)).cloned().unwrap_or_default();
                format!("{} images, {} {:.0}%", g.size, class, g.purity.unwrap_or(0.0) * 100.0)
            })
            .collect(),
        sheets: vec!["groups.png".into()],
    }))
}

/// One row per group: its top members, the medoid first (framed) with the group's size, majority class and
/// purity; every member captioned with its own label.
fn montage(set: &ImageSet, groups: &[sgm_cluster::Group], path: &Path) -> Result<()> {
    let name = |l: u32| set.class_names.get(l as usize).cloned().unwrap_or_else(|| l.to_string());
    let mut tiles = Vec::new();
    for (r, g) in groups.iter().enumerate() {
        for c in 0..MONTAGE_COLUMNS {
            let Some(&i) = g.top.get(c) else {
                // Short groups leave the rest of their row blank.
                tiles.push(Tile {
                    pixels: vec![255; set.width * set.height],
                    width: set.width as u32,
                    height: set.height as u32,
                    caption: vec![String::new(), String::new()],
                    highlight: false,
                });
                continue;
            };
            let caption = if c == 0 {
                vec![
                    format!("#{} n={}", r + 1, g.size),
                    format!(
                        "{} {:.0}%",
                        g.majority_label.map(name).unwrap_or_default(),
                        g.purity.unwrap_or(0.0) * 100.0
                    ),
                ]
            } else {
                vec![name(set.samples[i].label), String::new()]
            };
            tiles.push(Tile {
                pixels: set.image(i).to_vec(),
                width: set.width as u32,
                height: set.height as u32,
                caption,
                highlight: c == 0,
            });
        }
    }
    let g = Gallery {
        title: "EM groups: medoid (framed) and nearest members, largest groups first".into(),
        tiles,
        columns: MONTAGE_COLUMNS,
        // Native size for 48-pixel faces (no upscaling), at most 96.
        tile_size: (set.width.max(set.height) as u32).clamp(48, 96),
    };
    gallery(&g, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Draws the figures of the report into `out` and writes their data as CSV; returns the file names written.
pub fn draw(plan: &Plan, runs: &[RunResult], splits: &Splits, out: &Path) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let class_names = &splits.train.class_names;

    // Figure 3: Recall@K and Acc@K of every run.
    let rows = runs.iter().flat_map(|r| {
        r.recall_at_k.iter().map(|(k, v)| {
            let acc = r.acc_at_k.get(k).copied().unwrap_or(f64::NAN);
            [r.name.clone(), k.to_string(), v.to_string(), acc.to_string()]
        })
    });
    write_csv(&out.join("recall_at_k.csv"), &["run", "k", "recall_at_k", "acc_at_k"], rows)?;
    written.push("recall_at_k.csv".to_string());
    let curves: Vec<RetrievalCurve> = runs
        .iter()
        .map(|r| RetrievalCurve {
            name: r.name.clone(),
            ks: r.recall_at_k.keys().copied().collect(),
            recall: r.recall_at_k.values().copied().collect(),
            acc: r.acc_at_k.values().copied().collect(),
        })
        .collect();
    if !curves.is_empty() {
        let fig = Figure::new("Recall@K and Acc@K on the test split (Figure 3)").with_size(900, 600);
        retrieval_curves(&fig, &curves, &out.join("recall_at_k.png")).context("drawing recall_at_k.png")?;
        written.push("recall_at_k.png".to_string());
    }

    // Figure 5: kNN F1 against K on the validation split.
    let rows = runs.iter().flat_map(|r| r.f1_by_k.iter().map(|(k, v)| [r.name.clone(), k.to_string(), v.to_string()]));
    write_csv(&out.join("f1_by_k.csv"), &["run", "k", "f1"], rows)?;
    written.push("f1_by_k.csv".to_string());
    let series: Vec<Series> = runs
        .iter()
        .filter(|r| !r.f1_by_k.is_empty())
        .map(|r| Series::new(r.name.clone(), r.f1_by_k.iter().map(|(&k, &v)| (k as f64, v)).collect()))
        .collect();
    if !series.is_empty() {
        let fig = Figure::new("kNN F1 against K on the validation split (Figure 5)");
        f1_vs_k(&fig, &series, &out.join("f1_by_k.png")).context("drawing f1_by_k.png")?;
        written.push("f1_by_k.png".to_string());
    }

    for r in runs {
        // Figure 2: the t-SNE map of the test split.
        if let Some(csv) = &r.tsne_csv {
            let (points, labels, _) = read_tsne_csv(&out.join(csv))?;
            let file = format!("tsne-{}.png", r.name);
            let fig = Figure::new(format!("t-SNE of the test embeddings, {} (Figure 2)", r.name));
            scatter(&fig, &Scatter::new(points, labels, class_names.clone()), &out.join(&file))
                .with_context(|| format!("drawing {file}"))?;
            written.push(file);
        }
        // The confusion matrix of the Table 2 prediction.
        if !r.confusion.is_empty() {
            let file = format!("confusion-{}.png", r.name);
            let how = if r.argmax.is_some() { "argmax" } else { "kNN, K = 11" };
            let fig = Figure::new(format!("Confusion matrix on the test split, {} ({how})", r.name));
            confusion_matrix(&fig, &r.confusion, class_names, &out.join(&file))
                .with_context(|| format!("drawing {file}"))?;
            written.push(file);
        }
        // Training curves from the run's log.
        let log = out.join("runs").join(&r.name).join("metrics.jsonl");
        if log.exists() {
            let curves = crate::metrics_log::read_training_curves(&log)?;
            let file = format!("curves-{}.png", r.name);
            let fig = Figure::new(format!("Training, {}", r.name));
            training_curves(&fig, &curves, &out.join(&file)).with_context(|| format!("drawing {file}"))?;
            written.push(file);
        }
    }

    // Figure 7: the training embedding after Algorithm 2, coloured by class and shaded by discovered sub-class.
    let sub = out.join("tsne-subclasses.csv");
    if sub.exists() {
        let (points, labels, subclasses) = read_tsne_csv(&sub)?;
        if let Some(subclasses) = subclasses {
            let fig = Figure::new("t-SNE of the training embedding by discovered sub-class (Figure 7)");
            scatter(
                &fig,
                &Scatter::new(points, labels, class_names.clone()).with_subclasses(subclasses),
                &out.join("tsne-subclasses.png"),
            )
            .context("drawing tsne-subclasses.png")?;
            written.push("tsne-subclasses.csv".to_string());
            written.push("tsne-subclasses.png".to_string());
        }
    }
    let _ = plan;
    Ok(written)
}

/// Reads `index,x,y,label[,subclass]` rows.
#[allow(clippy::type_complexity)]
fn read_tsne_csv(path: &Path) -> Result<(Vec<(f64, f64)>, Vec<u32>, Option<Vec<u32>>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut points, mut labels, mut subs) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || anyhow::anyhow!("{}: line {}: expected index,x,y,label[,subclass]", path.display(), i + 1);
        if f.len() < 4 {
            return Err(bad());
        }
        points.push((f[1].parse().map_err(|_| bad())?, f[2].parse().map_err(|_| bad())?));
        labels.push(f[3].parse().map_err(|_| bad())?);
        if let Some(s) = f.get(4) {
            subs.push(s.parse().map_err(|_| bad())?);
        }
    }
    let subs = (subs.len() == labels.len() && !subs.is_empty()).then_some(subs);
    Ok((points, labels, subs))
}
