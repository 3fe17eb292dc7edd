//! Evaluating one run's best checkpoint the paper's way: Table 2 (kNN, or argmax for the CNN), Table 1 (k-means
//! NMI in and across domains), Figure 3 (Recall@K / Acc@K), Figure 5 (kNN F1 against K) and Figure 2 (t-SNE).

use super::plan::{Plan, RunSpec};
use super::results::{RunResult, Scores, TrainingSummary};
use anyhow::{Context, Result};
use candle_core::Device;
use sgm_cluster::{kmeans, tsne_2d, KMeansConfig, TsneConfig};
use sgm_core::{classification_report, nmi, Embeddings};
use sgm_data::ImageSet;
use sgm_train::evaluate::{evaluate, f1_by_k, EvalOptions};
use sgm_train::train::EpochRecord;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// The in-domain splits, loaded once for every run.
pub struct Splits {
    /// Training split (kNN is fitted on all of it).
    pub train: ImageSet,
    /// Validation split (model selection, F1 against K).
    pub valid: ImageSet,
    /// Test split (every reported number).
    pub test: ImageSet,
    /// Duplicate groups of the test split (retrieval does not count copies of the query).
    pub test_groups: Option<Vec<u32>>,
}

/// The epochs logged in a run directory's `metrics.jsonl` (none when there is no log yet).
pub fn epoch_records(run_dir: &Path) -> Result<Vec<EpochRecord>> {
    let path = run_dir.join("metrics.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}: line {}: not an epoch record", path.display(), i + 1))
        })
        .collect()
}

/// What training left in a run directory, from its `metrics.jsonl`.
pub fn training_summary(run_dir: &Path, epochs_planned: usize, stopped_by_budget: bool) -> Result<TrainingSummary> {
    let records = epoch_records(run_dir)?;
    let best = records.iter().filter_map(|r| r.selection_score().map(|s| (r.epoch, s))).fold(
        None,
        |acc: Option<(usize, f64)>, (e, s)| match acc {
            Some((_, b)) if b >= s => acc,
            _ => Some((e, s)),
        },
    );
    let n = records.len().max(1) as f64;
    Ok(TrainingSummary {
        epochs_done: records.last().map_or(0, |r| r.epoch),
        epochs_planned,
        best_epoch: best.map(|b| b.0),
        best_validation: best.map(|b| b.1),
        train_seconds: records.iter().map(|r| r.seconds).sum(),
        images_per_second: records.iter().map(|r| r.images_per_second).sum::<f64>() / n,
        stopped_by_budget,
    })
}

/// A stamp that changes when the file changes (size and modification time).
pub fn file_stamp(path: &Path) -> Result<String> {
    let m = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
    Ok(format!("{}:{}.{:09}", m.len(), mtime.as_secs(), mtime.subsec_nanos()))
}

/// Labels renumbered 0..k in order of first appearance of each sorted value (k-means' per-class initialisation
/// wants every label below k).
fn contiguous(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut values = labels.to_vec();
    values.sort_unstable();
    values.dedup();
    let map: BTreeMap<u32, u32> = values.iter().enumerate().map(|(i, &v)| (v, i as u32)).collect();
    (labels.iter().map(|l| map[l]).collect(), values.len())
}

/// k-means NMI of a whole set with the paper's initialisation (k = its number of classes).
pub fn clustering_nmi(emb: &Embeddings, labels: &[u32], seed: u64) -> Result<f64> {
    let (labels, k) = contiguous(labels);
    let c = kmeans(emb, &KMeansConfig::paper(k, seed), Some(&labels)).context("k-means")?;
    Ok(nmi(&labels, &c.assignments)?)
}

/// Evaluates `spec`'s best checkpoint.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_run(
    spec: &RunSpec,
    run_dir: &Path,
    training: TrainingSummary,
    splits: &Splits,
    cross: &[(String, ImageSet)],
    plan: &Plan,
    device: &Device,
    report_dir: &Path,
) -> Result<RunResult> {
    let t0 = Instant::now();
    let best = run_dir.join("best.safetensors");
    let trainer = sgm_train::train::Trainer::from_checkpoint(&best, device.clone())
        .with_context(|| format!("loading {}", best.display()))?;
    let (train_emb, _) = trainer.embed(&splits.train)?;
    let (valid_emb, _) = trainer.embed(&splits.valid)?;
    let (test_emb, logits) = trainer.embed(&splits.test)?;
    let (train_labels, valid_labels, test_labels) =
        (splits.train.labels(), splits.valid.labels(), splits.test.labels());

    let opts = EvalOptions {
        k: 11.min(train_emb.rows()),
        recall_k: plan.recall_ks.clone(),
        seed: plan.seed,
        // Figure 5 is F1 against K on the validation split, computed below; none on the test split.
        f1_k: Vec::new(),
        ..Default::default()
    };
    let report =
        evaluate(Some((&train_emb, &train_labels)), &test_emb, &test_labels, splits.test_groups.as_deref(), &opts)?;
    let knn = report.knn.as_ref().expect("kNN was asked for");
    let knn_scores = Scores {
        accuracy: knn.accuracy,
        precision: knn.precision,
        recall: knn.recall,
        f1: knn.f1,
        macro_f1: knn.macro_f1,
    };
    // Table 2 scores the CNN by argmax; an SGM run's auxiliary class head (ce_weight) does not change its scoring.
    let logits = logits.filter(|_| spec.cfg.loss == sgm_train::train::LossKind::Softmax);
    let (argmax_scores, argmax_prior, confusion) = match logits {
        Some(l) => {
            let c = l.len() / test_labels.len().max(1);
            let r = classification_report(&test_labels, &sgm_core::argmax_predictions(&l, c)?)?;
            // The balanced sampler trains for equal priors: the argmax under the training prior too.
            let prior = sgm_core::prior_corrected_predictions(&l, c, &train_labels)?;
            let p = classification_report(&test_labels, &prior)?;
            (Some(Scores::from(&r)), Some(Scores::from(&p)), r.confusion)
        }
        None => (None, None, knn.confusion.clone()),
    };
    let clustering = report.clustering.as_ref().expect("clustering was asked for");
    let retrieval = report.retrieval.as_ref().expect("retrieval was asked for");

    let mut cross_nmi = BTreeMap::new();
    for (name, set) in cross {
        let (emb, _) = trainer.embed(set)?;
        let v = clustering_nmi(&emb, &set.labels(), plan.seed).with_context(|| format!("clustering {name}"))?;
        cross_nmi.insert(name.clone(), v);
    }

    let f1 = f1_by_k(&train_emb, &train_labels, &valid_emb, &valid_labels, &plan.f1_ks)?;

    let tsne_csv = tsne(&test_emb, &test_labels, plan, &report_dir.join(format!("tsne-{}.csv", spec.name)))?;
    Ok(RunResult {
        name: spec.name.clone(),
        method: spec.cfg.loss.to_string(),
        backbone: spec.cfg.model.backbone.to_string(),
        training,
        knn: knn_scores,
        argmax: argmax_scores,
        argmax_prior,
        confusion,
        nmi: clustering.nmi,
        cross_nmi,
        recall_at_k: retrieval.recall_at_k.clone(),
        acc_at_k: retrieval.acc_at_k.clone(),
        f1_by_k: f1,
        tsne_csv: tsne_csv.map(|_| format!("tsne-{}.csv", spec.name)),
        eval_seconds: t0.elapsed().as_secs_f64(),
        checkpoint_stamp: file_stamp(&best)?,
    })
}

/// The perplexity used for `m` points: the paper's 30, lowered when there are too few points for it.
pub fn perplexity_for(m: usize) -> f32 {
    (((m as f32) - 3.0) / 3.0).clamp(1.0, 30.0)
}

/// A 2-d t-SNE map of the first `plan.tsne_points` rows, written as `index,x,y,label`; None when there are too
/// few points for a map.
pub fn tsne(emb: &Embeddings, labels: &[u32], plan: &Plan, out: &Path) -> Result<Option<()>> {
    let m = emb.rows().min(plan.tsne_points);
    if m < 8 {
        return Ok(None);
    }
    let cfg = TsneConfig { perplexity: perplexity_for(m), max_points: m, ..TsneConfig::default() };
    let y = tsne_2d(emb, &cfg).context("t-SNE")?;
    crate::csv_files::write_map_csv(out, &y, Some(&labels[..y.len() / 2]), None)?;
    Ok(Some(()))
}

/// Scores a replica (another seed of a run): test kNN accuracy and paper-F1, and the CNN's argmax accuracy.
pub fn score_replica(
    spec: &RunSpec,
    run_dir: &Path,
    training: TrainingSummary,
    splits: &Splits,
    device: &Device,
) -> Result<super::results::ReplicaResult> {
    let best = run_dir.join("best.safetensors");
    let trainer = sgm_train::train::Trainer::from_checkpoint(&best, device.clone())
        .with_context(|| format!("loading {}", best.display()))?;
    let (train_emb, _) = trainer.embed(&splits.train)?;
    let (test_emb, logits) = trainer.embed(&splits.test)?;
    let (train_labels, test_labels) = (splits.train.labels(), splits.test.labels());
    let pred = sgm_core::knn_classify(&train_emb, &train_labels, &test_emb, 11.min(train_emb.rows()))?;
    let knn = classification_report(&test_labels, &pred)?;
    let logits = logits.filter(|_| spec.cfg.loss == sgm_train::train::LossKind::Softmax);
    let argmax_accuracy = match logits {
        Some(l) => {
            let c = l.len() / test_labels.len().max(1);
            Some(classification_report(&test_labels, &sgm_core::argmax_predictions(&l, c)?)?.accuracy)
        }
        None => None,
    };
    Ok(super::results::ReplicaResult {
        name: spec.name.clone(),
        of: spec.replica_of.clone().unwrap_or_else(|| spec.name.clone()),
        seed: spec.cfg.seed,
        training,
        knn_accuracy: knn.accuracy,
        knn_f1: knn.f1,
        argmax_accuracy,
    })
}
