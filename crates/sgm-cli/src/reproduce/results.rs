//! `results.json`: every number of a reproduction, with the settings that produced it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format tag of `results.json`.
pub const RESULTS_FORMAT: &str = "sgm-reproduce/1";

/// Accuracy, macro precision, macro recall and the paper's F1 (fractions in [0, 1]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Scores {
    /// Accuracy.
    pub accuracy: f64,
    /// Macro precision.
    pub precision: f64,
    /// Macro recall.
    pub recall: f64,
    /// 2PR/(P+R) of macro P and R (the paper's F1).
    pub f1: f64,
    /// Mean of the per-class F1 (not in the paper; for reference).
    pub macro_f1: f64,
}

impl From<&sgm_core::ClassificationReport> for Scores {
    fn from(r: &sgm_core::ClassificationReport) -> Self {
        Self { accuracy: r.accuracy, precision: r.precision, recall: r.recall, f1: r.f1, macro_f1: r.macro_f1 }
    }
}

/// What one training run reached and how long it took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Epochs finished (over all invocations).
    pub epochs_done: usize,
    /// Epochs planned.
    pub epochs_planned: usize,
    /// The epoch whose checkpoint is evaluated (best validation score).
    pub best_epoch: Option<usize>,
    /// Its validation score (kNN accuracy, or top-1 for softmax).
    pub best_validation: Option<f64>,
    /// Training wall time over all invocations, seconds (from metrics.jsonl).
    pub train_seconds: f64,
    /// Mean training throughput, images per second.
    pub images_per_second: f64,
    /// Whether the time budget stopped it before its planned epochs.
    pub stopped_by_budget: bool,
}

/// The evaluation of one run's best checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// `LOSS-BACKBONE`.
    pub name: String,
    /// Loss (`softmax`, `triplet`, `sgm`).
    pub method: String,
    /// Backbone.
    pub backbone: String,
    /// Training.
    pub training: TrainingSummary,
    /// Table 2: kNN (K = 11) fitted on the training embeddings, predicting the test split.
    pub knn: Scores,
    /// Table 2 for the CNN: argmax of the class head on the test split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argmax: Option<Scores>,
    /// The CNN's argmax of `logits + log π_train` (the class head corrected for the training prior, which the
    /// balanced sampler hides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argmax_prior: Option<Scores>,
    /// The confusion matrix (rows: true class, columns: predicted) of the Table 2 prediction.
    pub confusion: Vec<Vec<usize>>,
    /// Table 1: k-means NMI on the test split (paper initialisation), fraction.
    pub nmi: f64,
    /// Table 1's other columns: NMI on each cross-domain set, fraction.
    pub cross_nmi: BTreeMap<String, f64>,
    /// Figure 3: Recall@K on the test split (each item queries the rest), fraction.
    pub recall_at_k: BTreeMap<usize, f64>,
    /// Figure 3: Acc@K.
    pub acc_at_k: BTreeMap<usize, f64>,
    /// Figure 5: kNN F1 (2PR/(P+R)) on the validation split against K.
    pub f1_by_k: BTreeMap<usize, f64>,
    /// Figure 2: the t-SNE map of the test split (CSV, relative to the report folder).
    pub tsne_csv: Option<String>,
    /// Seconds spent evaluating.
    pub eval_seconds: f64,
    /// A stamp of the evaluated checkpoint (size and modification time), to reuse this result when it is unchanged.
    pub checkpoint_stamp: String,
}

/// Algorithm 2's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubclassResult {
    /// The run it started from.
    pub from_run: String,
    /// Sub-classes at each level.
    pub subclasses_per_level: Vec<usize>,
    /// Within-class NMI against the true sub-classes (synthetic set only).
    pub nmi_discovered: Option<f64>,
    /// The final model's embedding clustered within classes, against the truth.
    pub nmi_final_embedding: Option<f64>,
    /// The starting (plain SGM) embedding clustered the same way.
    pub nmi_plain_sgm: Option<f64>,
    /// An untrained network clustered the same way.
    pub nmi_untrained: Option<f64>,
    /// Folder of the step's outputs, relative to the report folder.
    pub dir: String,
    /// Seconds.
    pub seconds: f64,
}

/// Figure 8: EM groups over the test embeddings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupsResult {
    /// The model whose embedding was grouped.
    pub model: String,
    /// How the groups were found.
    pub method: String,
    /// Groups asked for.
    pub requested: usize,
    /// Non-empty groups.
    pub groups: usize,
    /// Mean purity (majority-label share) weighted by group size.
    pub mean_purity: f64,
    /// The groups shown in the montage: size, majority class and purity.
    pub shown: Vec<String>,
    /// Contact sheets, relative to the report folder.
    pub sheets: Vec<String>,
}

/// The settings a reader needs to interpret the numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Profile (`synthetic`, `quick` or the data set).
    pub profile: String,
    /// Data set and its root.
    pub data: String,
    /// Root folder of real data.
    pub root: Option<String>,
    /// Train / valid / test images.
    pub images: [usize; 3],
    /// Classes.
    pub class_names: Vec<String>,
    /// Input size.
    pub input_size: usize,
    /// SGM sigma.
    pub sigma: f64,
    /// FER+ label source and rule.
    pub labels: String,
    /// Duplicate handling.
    pub dedup: String,
    /// Seed.
    pub seed: u64,
    /// Device.
    pub device: String,
    /// sgm version and git commit (when known).
    pub version: String,
    /// Budget of this invocation, minutes.
    pub budget_minutes: f64,
    /// Wall time of this invocation, seconds.
    pub wall_seconds: f64,
    /// Date (UTC) the report was written.
    pub date: String,
    /// Where the run departs from the paper.
    pub deviations: Vec<String>,
}

/// `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// [`RESULTS_FORMAT`].
    pub format: String,
    /// Settings.
    pub settings: Settings,
    /// One entry per training run.
    pub runs: Vec<RunResult>,
    /// Algorithm 2.
    pub subclasses: Option<SubclassResult>,
    /// Figure 8.
    pub groups: Option<GroupsResult>,
    /// Figures, relative to the report folder.
    pub figures: Vec<String>,
    /// The same runs with the other seeds (`--seeds`), scored by test kNN accuracy: the seed noise.
    #[serde(default)]
    pub replicas: Vec<ReplicaResult>,
}

/// A run trained again with another seed, scored by kNN (and argmax for the CNN) on the test split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaResult {
    /// `LOSS-BACKBONE-seedN`.
    pub name: String,
    /// The primary run it replicates (`LOSS-BACKBONE`).
    pub of: String,
    /// Its seed.
    pub seed: u64,
    /// Training.
    pub training: TrainingSummary,
    /// Test kNN (K = 11) accuracy, kNN fitted on the whole training split.
    pub knn_accuracy: f64,
    /// Test kNN paper-F1.
    pub knn_f1: f64,
    /// The CNN's test argmax accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argmax_accuracy: Option<f64>,
}
