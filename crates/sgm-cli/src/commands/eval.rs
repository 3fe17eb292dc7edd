//! `sgm eval`: score embeddings from any model the way the paper does.
//!
//! - kNN classification fits on the training embeddings and predicts the test set (Table 2's columns);
//! - clustering and retrieval use the test set alone: k-means over it (Table 1's NMI), and every test item
//!   querying the rest of the test set (Recall@K / Acc@K, Figure 3).

use anyhow::{bail, Result};
use clap::Args;
use sgm_core::embedding_files::{is_safetensors, read_embeddings, read_labels};
use sgm_core::Embeddings;
use sgm_train::evaluate::{evaluate, EvalOptions, EvalReport};
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
    #[arg(long, value_parser = k_list, default_value = "1,3,5,7,9,11,13,15,17,19,21", value_name = "K,…")]
    pub f1_k: KList,
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
    /// Also write the report as JSON to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `sgm eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let report = report_from_files(&args)?;
    if let Some(out) = &args.out {
        sgm_core::fs::write_json_atomic(out, &report)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn labels_for(emb_path: &Path, labels: Option<&PathBuf>, flag: &str) -> Result<Vec<u32>> {
    match labels {
        Some(p) => Ok(read_labels(p, "labels")?),
        None if is_safetensors(emb_path) => Ok(read_labels(emb_path, "labels")?),
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

/// Reads the files named in `args` and scores them.
fn report_from_files(args: &EvalArgs) -> Result<EvalReport> {
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
    let opts = EvalOptions {
        k: args.k as usize,
        recall_k: args.recall_k.clone(),
        f1_k: args.f1_k.clone(),
        clusters: args.clusters,
        seed: args.seed,
        clustering: !args.no_clustering,
        retrieval: !args.no_retrieval,
    };
    Ok(evaluate(train.as_ref().map(|(e, l)| (e, l.as_slice())), &test, &test_labels, groups.as_deref(), &opts)?)
}

/// A comma-separated list of K values that may be empty (one argument; clap's `value_delimiter` refuses `''`).
pub type KList = Vec<usize>;

/// Parses `1,3,5` into K values, and an empty (or blank) argument into none.
fn k_list(s: &str) -> std::result::Result<KList, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(|k| k.trim().parse::<usize>().map_err(|e| format!("{k:?} is not a K value: {e}"))).collect()
}
