//! Classification scores as the paper reports them (Table 2): accuracy, macro precision, macro recall, and the
//! **paper F1 = 2PR/(P+R) of the macro P and R** — which is not the macro-F1 (the mean of per-class F1 scores),
//! also reported.
//!
//! The classes scored are the union of the labels in `y_true` and `y_pred`, as scikit-learn's
//! `precision_recall_fscore_support(average="macro")`; a class never predicted has precision 0 and a class never
//! present has recall 0 (scikit-learn's `zero_division=0`).

use crate::error::{CoreError, Result};

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassScores {
    /// The class label.
    pub label: u32,
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// `2pr / (p + r)`.
    pub f1: f64,
    /// Number of true samples of the class.
    pub support: usize,
}

/// A full classification report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassificationReport {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Mean of the per-class precisions.
    pub precision: f64,
    /// Mean of the per-class recalls.
    pub recall: f64,
    /// The paper's F1: `2PR/(P+R)` of the macro precision and recall.
    pub f1: f64,
    /// Mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Per-class scores, by ascending label.
    pub per_class: Vec<ClassScores>,
    /// `confusion[i][j]`: samples of class `per_class[i].label` predicted as `per_class[j].label`.
    pub confusion: Vec<Vec<usize>>,
}

fn harmonic(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// Scores predictions against the truth.
pub fn classification_report(y_true: &[u32], y_pred: &[u32]) -> Result<ClassificationReport> {
    if y_true.len() != y_pred.len() {
        return Err(CoreError::Shape(format!("{} true labels but {} predictions", y_true.len(), y_pred.len())));
    }
    if y_true.is_empty() {
        return Err(CoreError::Empty("no labels to score".into()));
    }
    let mut labels: Vec<u32> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let pos = |l: u32| labels.binary_search(&l).expect("label present");
    let c = labels.len();
    let mut confusion = vec![vec![0usize; c]; c];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        confusion[pos(t)][pos(p)] += 1;
    }
    let per_class: Vec<ClassScores> = (0..c)
        .map(|i| {
            let tp = confusion[i][i] as f64;
            let predicted: usize = (0..c).map(|r| confusion[r][i]).sum();
            let support: usize = confusion[i].iter().sum();
            let precision = if predicted > 0 { tp / predicted as f64 } else { 0.0 };
            let recall = if support > 0 { tp / support as f64 } else { 0.0 };
            ClassScores { label: labels[i], precision, recall, f1: harmonic(precision, recall), support }
        })
        .collect();
    let mean = |f: fn(&ClassScores) -> f64| per_class.iter().map(f).sum::<f64>() / c as f64;
    let (precision, recall, macro_f1) = (mean(|s| s.precision), mean(|s| s.recall), mean(|s| s.f1));
    let correct: usize = (0..c).map(|i| confusion[i][i]).sum();
    Ok(ClassificationReport {
        accuracy: correct as f64 / y_true.len() as f64,
        precision,
        recall,
        f1: harmonic(precision, recall),
        macro_f1,
        per_class,
        confusion,
    })
}
