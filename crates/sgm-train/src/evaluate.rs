//! The paper's evaluation protocol on embeddings, from any model:
//!
//! - kNN classification fitted on the training embeddings, predicting the test set (Table 2's columns: accuracy,
//!   macro precision and recall, the paper's F1), with the F1-against-K curve of Figure 5 from one search;
//! - k-means clustering of the test set (Table 1's NMI), with the paper's one-sample-per-class initialisation when
//!   the number of clusters is the number of classes;
//! - retrieval within the test set (Recall@K and Acc@K, Figure 3), where copies of the query (its duplicate group)
//!   are not counted as hits.
//!
//! [`evaluate`] takes the embeddings and labels and returns an [`EvalReport`], which serialises to `sgm eval --json`
//! and displays as `sgm eval`'s tables; the README's library example runs it as a doctest.

use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};
use sgm_cluster::{kmeans, KMeansConfig, KMeansInitMethod};
use sgm_core::knn::Exclusion;
use sgm_core::{
    ami, classification_report, knn_classify, knn_search, nmi, retrieval_scores, vote, ClassificationReport,
    Embeddings, RetrievalReport,
};
use std::collections::BTreeMap;
use std::fmt;

/// Everything the protocol measures; serialised as `sgm eval --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    /// Input sizes.
    pub inputs: Inputs,
    /// kNN classification, when training embeddings were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knn: Option<KnnSection>,
    /// k-means clustering of the test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering: Option<ClusteringSection>,
    /// Retrieval within the test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<RetrievalSection>,
    /// The class head's predictions (the softmax baseline), added by [`EvalReport::with_argmax`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argmax: Option<ArgmaxSection>,
}

/// A class head scored by its argmax: plainly (the paper's Table 2 for the CNN), and corrected for the training
/// prior (logits + log π_train, [`sgm_core::prior_corrected_predictions`]), which undoes a class-balanced sampler's
/// equal-prior training on an imbalanced test set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArgmaxSection {
    /// Plain argmax.
    pub plain: ArgmaxScores,
    /// Argmax of logits + log π_train.
    pub prior_corrected: ArgmaxScores,
}

/// Accuracy, macro precision and recall and the paper's F1 of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArgmaxScores {
    /// Fraction correct.
    pub accuracy: f64,
    /// Macro precision.
    pub precision: f64,
    /// Macro recall.
    pub recall: f64,
    /// The paper's F1: 2PR/(P+R).
    pub f1: f64,
}

impl ArgmaxScores {
    fn of(truth: &[u32], pred: &[u32]) -> Result<Self> {
        let r = classification_report(truth, pred)?;
        Ok(Self { accuracy: r.accuracy, precision: r.precision, recall: r.recall, f1: r.f1 })
    }
}

impl EvalReport {
    /// Adds the class head's argmax scores: `logits` are row-major, one row per test item, `classes` per row;
    /// `train_labels` give the training prior.
    pub fn with_argmax(
        mut self,
        logits: &[f32],
        classes: usize,
        test_labels: &[u32],
        train_labels: &[u32],
    ) -> Result<Self> {
        if logits.len() != test_labels.len() * classes {
            return Err(TrainError::Config(format!(
                "{} logits are not {} test rows of {classes} classes",
                logits.len(),
                test_labels.len()
            )));
        }
        let plain = ArgmaxScores::of(test_labels, &sgm_core::argmax_predictions(logits, classes)?)?;
        let corrected = sgm_core::prior_corrected_predictions(logits, classes, train_labels)?;
        let prior_corrected = ArgmaxScores::of(test_labels, &corrected)?;
        self.argmax = Some(ArgmaxSection { plain, prior_corrected });
        Ok(self)
    }
}

/// Input sizes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inputs {
    /// Training rows (0 without training embeddings).
    pub train: usize,
    /// Test rows.
    pub test: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Distinct test labels.
    pub test_classes: usize,
}

/// kNN classification scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KnnSection {
    /// Neighbours.
    pub k: u32,
    /// Fraction correct.
    pub accuracy: f64,
    /// Macro precision.
    pub precision: f64,
    /// Macro recall.
    pub recall: f64,
    /// The paper's F1: 2PR/(P+R) of macro P and R.
    pub f1: f64,
    /// Mean of per-class F1.
    pub macro_f1: f64,
    /// Per-class scores.
    pub per_class: Vec<sgm_core::metrics::ClassScores>,
    /// Confusion matrix, rows = truth, columns = prediction, in `per_class` order.
    pub confusion: Vec<Vec<usize>>,
    /// The paper's F1 for each K of [`EvalOptions::f1_k`] (Figure 5).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub f1_by_k: BTreeMap<usize, f64>,
}

/// Clustering scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusteringSection {
    /// Number of clusters.
    pub k: usize,
    /// "per-class" (the paper's) or "k-means++".
    pub init: String,
    /// Seed.
    pub seed: u64,
    /// NMI, arithmetic normalisation.
    pub nmi: f64,
    /// Adjusted mutual information.
    pub ami: f64,
}

/// Retrieval scores, keyed by K.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetrievalSection {
    /// Recall@K.
    pub recall_at_k: BTreeMap<usize, f64>,
    /// Acc@K.
    pub acc_at_k: BTreeMap<usize, f64>,
    /// Whether duplicate groups were excluded.
    pub dedup: bool,
}

/// What to compute, besides the inputs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// kNN neighbours (the paper: 11).
    pub k: usize,
    /// K values of Recall@K / Acc@K.
    pub recall_k: Vec<usize>,
    /// K values of the kNN F1-against-K curve (empty: none).
    pub f1_k: Vec<usize>,
    /// Number of k-means clusters (default: the number of test classes, paper initialisation).
    pub clusters: Option<usize>,
    /// k-means seed.
    pub seed: u64,
    /// Run k-means.
    pub clustering: bool,
    /// Run retrieval.
    pub retrieval: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            k: 11,
            recall_k: vec![1, 2, 4, 8],
            f1_k: DEFAULT_F1_K.to_vec(),
            clusters: None,
            seed: 1,
            clustering: true,
            retrieval: true,
        }
    }
}

/// The K values of the F1-against-K curve by default: odd K from 1 to 21 (the paper's Figure 5 peaks at 11).
pub const DEFAULT_F1_K: [usize; 11] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21];

fn step<E: std::error::Error + Send + Sync + 'static>(what: impl Into<String>) -> impl FnOnce(E) -> TrainError {
    let what = what.into();
    move |e| TrainError::Evaluation { what, source: Box::new(e) }
}

/// Scores embeddings the paper's way: kNN classification fitted on `train` (when given) predicting `test`;
/// k-means clustering and retrieval on `test` alone (`groups`: duplicate-group ids of the test items).
pub fn evaluate(
    train: Option<(&Embeddings, &[u32])>,
    test: &Embeddings,
    test_labels: &[u32],
    groups: Option<&[u32]>,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let mut classes = test_labels.to_vec();
    classes.sort_unstable();
    classes.dedup();

    let knn = match train {
        None => None,
        Some((train, train_labels)) => {
            let pred = knn_classify(train, train_labels, test, opts.k)
                .map_err(step(format!("kNN classification with K = {}", opts.k)))?;
            let r: ClassificationReport = classification_report(test_labels, &pred)?;
            let f1_by_k = f1_by_k(train, train_labels, test, test_labels, &opts.f1_k)?;
            Some(KnnSection {
                k: opts.k as u32,
                accuracy: r.accuracy,
                precision: r.precision,
                recall: r.recall,
                f1: r.f1,
                macro_f1: r.macro_f1,
                per_class: r.per_class,
                confusion: r.confusion,
                f1_by_k,
            })
        }
    };

    let clustering = if !opts.clustering {
        None
    } else {
        let k = opts.clusters.unwrap_or(classes.len());
        let (cfg, init) = if k == classes.len() {
            (KMeansConfig::paper(k, opts.seed), "per-class")
        } else {
            let cfg = KMeansConfig {
                init: KMeansInitMethod::KMeansPlusPlus { n_runs: 10 },
                ..KMeansConfig::paper(k, opts.seed)
            };
            (cfg, "k-means++")
        };
        let c = kmeans(test, &cfg, Some(test_labels)).map_err(step("k-means clustering of the test set"))?;
        Some(ClusteringSection {
            k,
            init: init.to_string(),
            seed: opts.seed,
            nmi: nmi(test_labels, &c.assignments)?,
            ami: ami(test_labels, &c.assignments)?,
        })
    };

    let retrieval = if !opts.retrieval {
        None
    } else {
        let r: RetrievalReport =
            retrieval_scores(test, test_labels, &opts.recall_k, groups).map_err(step("retrieval on the test set"))?;
        Some(RetrievalSection {
            recall_at_k: r.ks.iter().copied().zip(r.recall_at_k.iter().copied()).collect(),
            acc_at_k: r.ks.iter().copied().zip(r.acc_at_k.iter().copied()).collect(),
            dedup: r.dedup,
        })
    };

    Ok(EvalReport {
        inputs: Inputs {
            train: train.map_or(0, |(e, _)| e.rows()),
            test: test.rows(),
            dim: test.dim(),
            test_classes: classes.len(),
        },
        knn,
        clustering,
        retrieval,
        argmax: None,
    })
}

/// The paper's F1 of kNN classification for each K of `ks` (those up to the training set's size), from one search
/// for the largest K: the votes of the first K neighbours ([`sgm_core::vote`], ties to the smallest label, as
/// [`knn_classify`]).
pub fn f1_by_k(
    train: &Embeddings,
    train_labels: &[u32],
    test: &Embeddings,
    test_labels: &[u32],
    ks: &[usize],
) -> Result<BTreeMap<usize, f64>> {
    let mut ks: Vec<usize> = ks.iter().copied().filter(|&k| k >= 1 && k <= train.rows()).collect();
    ks.sort_unstable();
    ks.dedup();
    let Some(&k_max) = ks.last() else { return Ok(BTreeMap::new()) };
    let neighbors =
        knn_search(test, train, k_max, Exclusion::None).map_err(step("kNN search for the F1-against-K curve"))?;
    let mut out = BTreeMap::new();
    for k in ks {
        let pred = vote(&neighbors.nearest(k), train_labels);
        out.insert(k, classification_report(test_labels, &pred)?.f1);
    }
    Ok(out)
}

/// The human-readable report `sgm eval` prints.
impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inputs;
        writeln!(f, "sgm eval: {} test embeddings of dimension {}, {} classes", i.test, i.dim, i.test_classes)?;
        if let Some(k) = &self.knn {
            knn_table(f, k)?;
        }
        if let Some(c) = &self.clustering {
            writeln!(f, "\nClustering (k-means on the test set, k = {}, {} init, seed {})", c.k, c.init, c.seed)?;
            writeln!(f, "  NMI  {:.4}", c.nmi)?;
            writeln!(f, "  AMI  {:.4}", c.ami)?;
        }
        if let Some(t) = &self.retrieval {
            retrieval_table(f, t)?;
        }
        if let Some(a) = &self.argmax {
            writeln!(f, "\nClass head (argmax on the test set)")?;
            writeln!(f, "                   accuracy  precision  recall      F1")?;
            for (name, s) in [("plain", &a.plain), ("prior-corrected", &a.prior_corrected)] {
                writeln!(
                    f,
                    "  {name:<15}  {:>8.4}  {:>9.4}  {:>6.4}  {:>6.4}",
                    s.accuracy, s.precision, s.recall, s.f1
                )?;
            }
        }
        Ok(())
    }
}

fn knn_table(f: &mut fmt::Formatter<'_>, k: &KnnSection) -> fmt::Result {
    writeln!(f, "\nkNN classification (K = {}, fit on train, predict test)", k.k)?;
    writeln!(f, "  accuracy   {:.4}", k.accuracy)?;
    writeln!(f, "  precision  {:.4}  (macro)", k.precision)?;
    writeln!(f, "  recall     {:.4}  (macro)", k.recall)?;
    writeln!(f, "  F1         {:.4}  (paper: 2PR/(P+R) of macro P, R)", k.f1)?;
    writeln!(f, "  macro-F1   {:.4}  (mean of per-class F1)", k.macro_f1)?;
    writeln!(f, "\n  class  precision  recall      F1  support")?;
    for c in &k.per_class {
        writeln!(f, "  {:>5}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}", c.label, c.precision, c.recall, c.f1, c.support)?;
    }
    if !k.f1_by_k.is_empty() {
        write!(f, "\n  F1 by K  ")?;
        for (kk, f1) in &k.f1_by_k {
            write!(f, " {kk}:{f1:.4}")?;
        }
        writeln!(f)?;
    }
    Ok(())
}

fn retrieval_table(f: &mut fmt::Formatter<'_>, t: &RetrievalSection) -> fmt::Result {
    let dedup = if t.dedup { "duplicate groups excluded" } else { "no duplicate exclusion" };
    writeln!(f, "\nRetrieval (test set against itself, query excluded, {dedup})")?;
    write!(f, "  {:<9}", "K")?;
    for k in t.recall_at_k.keys() {
        write!(f, "{k:>8}")?;
    }
    for (name, m) in [("Recall@K", &t.recall_at_k), ("Acc@K", &t.acc_at_k)] {
        write!(f, "\n  {name:<9}")?;
        for v in m.values() {
            write!(f, "{v:>8.4}")?;
        }
    }
    writeln!(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class head's scores, plain and under the training prior (π = [0.75, 0.25]).
    ///
    /// ```python
    /// import numpy as np
    /// from sklearn.metrics import accuracy_score, precision_score, recall_score
    /// logits = np.array([[1.0, 0.0], [0.0, 0.5], [0.0, 2.0], [0.0, 0.9]]); truth = [0, 0, 1, 0]
    /// for pred in [logits.argmax(1), (logits + np.log([0.75, 0.25])).argmax(1)]:  # [0 1 1 1], [0 0 1 0]
    ///     p, r = precision_score(truth, pred, average="macro"), recall_score(truth, pred, average="macro")
    ///     print(accuracy_score(truth, pred), p, r, 2 * p * r / (p + r))  # 0.5 0.6667 0.6667 0.6667; 1 1 1 1
    /// ```
    #[test]
    fn the_argmax_section_scores_plain_and_prior_corrected_predictions() {
        let test = Embeddings::new(vec![0.0; 8], 4, 2, "test").unwrap();
        let truth = [0, 0, 1, 0];
        let opts = EvalOptions { clustering: false, retrieval: false, ..Default::default() };
        let logits = [1.0, 0.0, 0.0, 0.5, 0.0, 2.0, 0.0, 0.9];
        let report = evaluate(None, &test, &truth, None, &opts).unwrap().with_argmax(&logits, 2, &truth, &[0, 0, 0, 1]);
        let a = report.unwrap().argmax.unwrap();
        let third = 2.0 / 3.0;
        assert_eq!(a.plain.accuracy, 0.5);
        for v in [a.plain.precision, a.plain.recall, a.plain.f1] {
            assert!((v - third).abs() < 1e-12, "{v}");
        }
        assert_eq!(a.prior_corrected, ArgmaxScores { accuracy: 1.0, precision: 1.0, recall: 1.0, f1: 1.0 });
        let err = evaluate(None, &test, &truth, None, &opts).unwrap().with_argmax(&logits[..6], 2, &truth, &[0, 1]);
        assert!(err.unwrap_err().to_string().contains("6 logits"));
    }

    /// Two separated classes score perfectly on every part of the protocol.
    #[test]
    fn separated_classes_score_perfectly() {
        let rows = |n: usize| -> Vec<f32> {
            (0..n).flat_map(|i| [if i % 2 == 0 { -1.0 } else { 1.0 } * (1.0 + i as f32 / 40.0), 0.0]).collect()
        };
        let labels = |n: usize| -> Vec<u32> { (0..n).map(|i| (i % 2) as u32).collect() };
        let train = Embeddings::new(rows(40), 40, 2, "train").unwrap();
        let test = Embeddings::new(rows(20), 20, 2, "test").unwrap();
        let r = evaluate(Some((&train, &labels(40))), &test, &labels(20), None, &EvalOptions::default()).unwrap();
        let knn = r.knn.as_ref().unwrap();
        assert_eq!((knn.k, knn.accuracy, knn.f1), (11, 1.0, 1.0));
        assert_eq!(r.clustering.as_ref().unwrap().nmi, 1.0);
        assert_eq!(r.retrieval.as_ref().unwrap().recall_at_k[&1], 1.0);
        let text = r.to_string();
        assert!(text.contains("accuracy   1.0000") && text.contains("Recall@K"), "{text}");
        let back: EvalReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.knn.unwrap().f1_by_k, knn.f1_by_k);
    }

    /// The curve's votes equal a separate kNN classification at each K.
    #[test]
    fn f1_by_k_equals_separate_classifications() {
        let n = 60;
        let x: Vec<f32> = (0..n * 3).map(|i| ((i * 7919) % 101) as f32 / 50.0).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let train = Embeddings::new(x[..40 * 3].to_vec(), 40, 3, "train").unwrap();
        let test = Embeddings::new(x[40 * 3..].to_vec(), 20, 3, "test").unwrap();
        let curve = f1_by_k(&train, &labels[..40], &test, &labels[40..], &[1, 4, 7, 11, 99]).unwrap();
        assert_eq!(curve.keys().copied().collect::<Vec<_>>(), vec![1, 4, 7, 11]);
        for (&k, &f1) in &curve {
            let pred = knn_classify(&train, &labels[..40], &test, k).unwrap();
            assert_eq!(f1, classification_report(&labels[40..], &pred).unwrap().f1, "K = {k}");
        }
    }
}
