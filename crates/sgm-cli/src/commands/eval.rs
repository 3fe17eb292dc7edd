//! `sgm eval`: score embeddings from any model the way the paper does.
//!
//! - kNN classification fits on the training embeddings and predicts the test set (Table 2's columns);
//! - clustering and retrieval use the test set alone: k-means over it (Table 1's NMI), and every test item
//!   querying the rest of the test set (Recall@K / Acc@K, Figure 3).

use crate::io::{is_safetensors, read_embeddings, read_labels};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use sgm_cluster::{kmeans, KMeansConfig, KMeansInitMethod};
use sgm_core::knn::Exclusion;
use sgm_core::{
    ami, classification_report, knn_classify, knn_search, nmi, retrieval_scores, ClassificationReport, Embeddings,
    RetrievalReport,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `sgm eval`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm eval --train train.npy --train-labels train_labels.npy --test test.npy --test-labels test_labels.npy
  sgm eval --train train.safetensors --test test.safetensors --groups test_groups.npy --json")]
pub struct EvalArgs {
    /// Training embeddings (.npy 2-D f32/f64, or .safetensors with a tensor `embeddings`) for kNN classification.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Training labels (.npy 1-D integers, or .safetensors tensor `labels`). Defaults to the `labels` tensor of a
    /// .safetensors --train file.
    #[arg(long, value_name = "FILE")]
    pub train_labels: Option<PathBuf>,
    /// Test embeddings.
    #[arg(long, value_name = "FILE")]
    pub test: PathBuf,
    /// Test labels. Defaults to the `labels` tensor of a .safetensors --test file.
    #[arg(long, value_name = "FILE")]
    pub test_labels: Option<PathBuf>,
    /// Neighbours for kNN classification (the paper: 11).
    #[arg(long, default_value_t = 11, value_parser = clap::value_parser!(u32).range(1..))]
    pub k: u32,
    /// K values for Recall@K and Acc@K.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8", value_name = "K,…")]
    pub recall_k: Vec<usize>,
    /// K values of the kNN F1-against-K curve (the paper's Figure 5), from one neighbour search; K larger than
    /// the training set are skipped. An empty list (`--f1-k ''`) skips the curve.
    #[arg(long, value_delimiter = ',', default_value = "1,3,5,7,9,11,13,15,17,19,21", value_name = "K,…")]
    pub f1_k: Vec<usize>,
    /// Clusters for k-means (default: the number of test classes, with the paper's one-sample-per-class
    /// initialisation; any other number uses k-means++ with 10 runs).
    #[arg(long, value_name = "N")]
    pub clusters: Option<usize>,
    /// Duplicate-group id of each test item (.npy 1-D integers): items of the query's group are not counted as
    /// retrieval results (FER2013 has identical images across splits).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,
    /// Seed of the k-means initialisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Skip k-means clustering.
    #[arg(long)]
    pub no_clustering: bool,
    /// Skip retrieval.
    #[arg(long)]
    pub no_retrieval: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Everything `sgm eval` measures; serialised as its `--json` output.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// Input sizes.
    pub inputs: Inputs,
    /// kNN classification, when training embeddings were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knn: Option<KnnSection>,
    /// k-means clustering of the test set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clustering: Option<ClusteringSection>,
    /// Retrieval within the test set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<RetrievalSection>,
}

/// Input sizes.
#[derive(Debug, Serialize)]
pub struct Inputs {
    /// Training rows (0 without --train).
    pub train: usize,
    /// Test rows.
    pub test: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Distinct test labels.
    pub test_classes: usize,
}

/// kNN classification scores.
#[derive(Debug, Serialize)]
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
    /// The paper's F1 for each K of `--f1-k` (Figure 5); absent from reports written before it existed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub f1_by_k: BTreeMap<usize, f64>,
}

/// Clustering scores.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct RetrievalSection {
    /// Recall@K.
    pub recall_at_k: BTreeMap<usize, f64>,
    /// Acc@K.
    pub acc_at_k: BTreeMap<usize, f64>,
    /// Whether duplicate groups were excluded.
    pub dedup: bool,
}

/// Runs `sgm eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let report = evaluate(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

fn labels_for(emb_path: &Path, labels: Option<&PathBuf>, flag: &str) -> Result<Vec<u32>> {
    match labels {
        Some(p) => read_labels(p, "labels"),
        None if is_safetensors(emb_path) => read_labels(emb_path, "labels"),
        None => {
            bail!("{flag} is required when {} is not a .safetensors file with a 'labels' tensor", emb_path.display())
        }
    }
}

fn check_rows(
    emb: &Embeddings,
    labels: &[u32],
    emb_path: &Path,
    labels_path: Option<&PathBuf>,
    what: &str,
) -> Result<()> {
    if emb.rows() != labels.len() {
        let source = labels_path.unwrap_or(&emb_path.to_path_buf()).display().to_string();
        bail!("{}: {} embeddings but {} {what} in {source}", emb_path.display(), emb.rows(), labels.len());
    }
    Ok(())
}

/// What to compute, besides the inputs.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// kNN neighbours.
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

impl Default for ReportOptions {
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

/// Computes the report (without printing it) from the files named in `args`.
pub fn evaluate(args: &EvalArgs) -> Result<EvalReport> {
    let test = read_embeddings(&args.test)?;
    let test_labels = labels_for(&args.test, args.test_labels.as_ref(), "--test-labels")?;
    check_rows(&test, &test_labels, &args.test, args.test_labels.as_ref(), "test labels")?;
    let train = match &args.train {
        None => None,
        Some(train_path) => {
            let train = read_embeddings(train_path)?;
            let train_labels = labels_for(train_path, args.train_labels.as_ref(), "--train-labels")?;
            check_rows(&train, &train_labels, train_path, args.train_labels.as_ref(), "training labels")?;
            if train.dim() != test.dim() {
                bail!(
                    "{} has dimension {} but {} has dimension {}",
                    train_path.display(),
                    train.dim(),
                    args.test.display(),
                    test.dim()
                );
            }
            Some((train, train_labels))
        }
    };
    let groups = match &args.groups {
        Some(p) => {
            let g = read_labels(p, "groups")?;
            if g.len() != test.rows() {
                bail!("{}: {} group ids for {} test embeddings", p.display(), g.len(), test.rows());
            }
            Some(g)
        }
        None => None,
    };
    let opts = ReportOptions {
        k: args.k as usize,
        recall_k: args.recall_k.clone(),
        f1_k: args.f1_k.clone(),
        clusters: args.clusters,
        seed: args.seed,
        clustering: !args.no_clustering,
        retrieval: !args.no_retrieval,
    };
    report_for(train.as_ref().map(|(e, l)| (e, l.as_slice())), &test, &test_labels, groups.as_deref(), &opts)
}

/// Scores embeddings the paper's way: kNN classification fitted on `train` (when given) predicting `test`;
/// k-means clustering and retrieval on `test` alone (`groups`: duplicate-group ids of the test items).
pub fn report_for(
    train: Option<(&Embeddings, &[u32])>,
    test: &Embeddings,
    test_labels: &[u32],
    groups: Option<&[u32]>,
    opts: &ReportOptions,
) -> Result<EvalReport> {
    let mut classes = test_labels.to_vec();
    classes.sort_unstable();
    classes.dedup();

    let knn = match train {
        None => None,
        Some((train, train_labels)) => {
            let pred = knn_classify(train, train_labels, test, opts.k)
                .with_context(|| format!("kNN classification with K = {}", opts.k))?;
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
        let c = kmeans(test, &cfg, Some(test_labels)).context("k-means clustering of the test set")?;
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
            retrieval_scores(test, test_labels, &opts.recall_k, groups).context("retrieval on the test set")?;
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
    })
}

/// The paper's F1 of kNN classification for each K of `ks` (those up to the training set's size), from one search
/// for the largest K: the votes of the first K neighbours, ties to the smallest label, as [`knn_classify`].
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
    let neighbors = knn_search(test, train, k_max, Exclusion::None).context("kNN search for the F1-against-K curve")?;
    let n_labels = train_labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut out = BTreeMap::new();
    for k in ks {
        let pred: Vec<u32> = (0..test.rows())
            .map(|i| {
                let mut votes = vec![0usize; n_labels];
                for &x in &neighbors.indices(i)[..k.min(neighbors.indices(i).len())] {
                    votes[train_labels[x as usize] as usize] += 1;
                }
                // The first maximum: the smallest label wins ties.
                let best = votes.iter().copied().max().unwrap_or(0);
                votes.iter().position(|&v| v == best).unwrap_or(0) as u32
            })
            .collect();
        out.insert(k, classification_report(test_labels, &pred)?.f1);
    }
    Ok(out)
}

/// The human-readable report.
pub fn render(r: &EvalReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let i = &r.inputs;
    let _ = writeln!(s, "sgm eval: {} test embeddings of dimension {}, {} classes", i.test, i.dim, i.test_classes);
    if let Some(k) = &r.knn {
        let _ = writeln!(s, "\nkNN classification (K = {}, fit on train, predict test)", k.k);
        let _ = writeln!(s, "  accuracy   {:.4}", k.accuracy);
        let _ = writeln!(s, "  precision  {:.4}  (macro)", k.precision);
        let _ = writeln!(s, "  recall     {:.4}  (macro)", k.recall);
        let _ = writeln!(s, "  F1         {:.4}  (paper: 2PR/(P+R) of macro P, R)", k.f1);
        let _ = writeln!(s, "  macro-F1   {:.4}  (mean of per-class F1)", k.macro_f1);
        let _ = writeln!(s, "\n  class  precision  recall      F1  support");
        for c in &k.per_class {
            let _ = writeln!(
                s,
                "  {:>5}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        if !k.f1_by_k.is_empty() {
            let _ = write!(s, "\n  F1 by K  ");
            for (kk, f1) in &k.f1_by_k {
                let _ = write!(s, " {kk}:{f1:.4}");
            }
            s.push('\n');
        }
    }
    if let Some(c) = &r.clustering {
        let _ = writeln!(s, "\nClustering (k-means on the test set, k = {}, {} init, seed {})", c.k, c.init, c.seed);
        let _ = writeln!(s, "  NMI  {:.4}", c.nmi);
        let _ = writeln!(s, "  AMI  {:.4}", c.ami);
    }
    if let Some(t) = &r.retrieval {
        let dedup = if t.dedup { "duplicate groups excluded" } else { "no duplicate exclusion" };
        let _ = writeln!(s, "\nRetrieval (test set against itself, query excluded, {dedup})");
        let _ = write!(s, "  {:<9}", "K");
        for k in t.recall_at_k.keys() {
            let _ = write!(s, "{k:>8}");
        }
        for (name, m) in [("Recall@K", &t.recall_at_k), ("Acc@K", &t.acc_at_k)] {
            let _ = write!(s, "\n  {name:<9}");
            for v in m.values() {
                let _ = write!(s, "{v:>8.4}");
            }
        }
        s.push('\n');
    }
    s
}
