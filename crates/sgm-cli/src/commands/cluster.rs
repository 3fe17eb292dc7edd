//! `sgm cluster`: EM (or k-means) groups over embeddings, each with its medoid and the members nearest to it —
//! the paper's 40 EM groups on FER+ (Figure 8), as JSON and CSV.

use crate::io::{is_safetensors, read_embeddings, read_labels};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use sgm_cluster::{gmm, groups_with_medoids, kmeans, CovarianceType, GmmConfig, Group, KMeansConfig, KMeansInitMethod};
use sgm_core::Embeddings;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The clustering method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A Gaussian mixture fitted by EM (the paper's).
    Gmm,
    /// k-means with greedy k-means++ seeding.
    Kmeans,
}

/// Covariance structure of the mixture components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Covariance {
    /// A full covariance matrix per component.
    Full,
    /// A diagonal covariance per component.
    Diagonal,
    /// One variance per component.
    Spherical,
}

impl From<Covariance> for CovarianceType {
    fn from(c: Covariance) -> Self {
        match c {
            Covariance::Full => CovarianceType::Full,
            Covariance::Diagonal => CovarianceType::Diagonal,
            Covariance::Spherical => CovarianceType::Spherical,
        }
    }
}

/// Arguments of `sgm cluster`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm cluster --embeddings train.safetensors --groups 40 --method gmm --top 16 --out runs/groups
  sgm cluster --embeddings test.npy --labels test.labels.npy --groups 8 --method kmeans --out groups8")]
pub struct ClusterArgs {
    /// Embeddings (.npy 2-D, or .safetensors with `embeddings` and optionally `labels`).
    #[arg(long, value_name = "FILE")]
    pub embeddings: PathBuf,
    /// Labels for each group's majority label and purity (default: the `labels` tensor of a .safetensors file).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Number of groups (the paper: 40 on FER+).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..))]
    pub groups: u32,
    /// Clustering method.
    #[arg(long, value_enum, default_value_t = Method::Gmm)]
    pub method: Method,
    /// Covariance of the GMM components.
    #[arg(long, value_enum, default_value_t = Covariance::Full)]
    pub covariance: Covariance,
    /// Members nearest each medoid to list.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
    /// Independent initialisations (GMM) or runs (k-means); the best is kept.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub n_init: u32,
    /// EM iteration cap.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_iter: u32,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output folder for groups.json, groups.csv and assignments.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write into --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
}

/// The JSON written as `groups.json`.
#[derive(Debug, Serialize)]
pub struct GroupsReport {
    /// The embeddings file.
    pub embeddings: String,
    /// Points clustered.
    pub n: usize,
    /// Groups asked for.
    pub requested_groups: u32,
    /// Method used.
    pub method: Method,
    /// GMM: mean log-likelihood per point; k-means: absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    /// GMM: whether EM converged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// k-means: sum of squared distances to the centres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inertia: Option<f64>,
    /// Non-empty groups, largest first.
    pub groups: Vec<Group>,
}

/// The outcome of [`cluster`].
#[derive(Debug, Clone)]
pub struct Fit {
    /// Group of each point.
    pub assignments: Vec<u32>,
    /// GMM: mean log-likelihood per point.
    pub lower_bound: Option<f64>,
    /// GMM: whether EM converged.
    pub converged: Option<bool>,
    /// k-means: inertia.
    pub inertia: Option<f64>,
}

/// Clusters `emb` into `args.groups` groups with the chosen method.
pub fn cluster(emb: &Embeddings, args: &ClusterArgs) -> Result<Fit> {
    let k = args.groups as usize;
    if k > emb.rows() {
        bail!("{} groups asked for {} points in {}", k, emb.rows(), args.embeddings.display());
    }
    Ok(match args.method {
        Method::Gmm => {
            let cfg = GmmConfig {
                n_init: args.n_init as usize,
                max_iter: args.max_iter as usize,
                ..GmmConfig::new(k, args.covariance.into(), args.seed)
            };
            let g = gmm(emb, &cfg).with_context(|| format!("GMM on {}", args.embeddings.display()))?;
            Fit {
                assignments: g.assignments,
                lower_bound: Some(g.lower_bound),
                converged: Some(g.converged),
                inertia: None,
            }
        }
        Method::Kmeans => {
            let cfg = KMeansConfig {
                k,
                init: KMeansInitMethod::KMeansPlusPlus { n_runs: args.n_init as usize },
                max_iter: 300,
                tol: 1e-4,
                seed: args.seed,
            };
            let c = kmeans(emb, &cfg, None).with_context(|| format!("k-means on {}", args.embeddings.display()))?;
            Fit { assignments: c.assignments, lower_bound: None, converged: None, inertia: Some(c.inertia) }
        }
    })
}

/// Runs `sgm cluster`.
pub fn run(args: ClusterArgs) -> Result<()> {
    sgm_train::output_guard::check_output(&args.out, args.force)?;
    let emb = read_embeddings(&args.embeddings)?;
    let labels = match &args.labels {
        Some(p) => Some(read_labels(p, "labels")?),
        None if is_safetensors(&args.embeddings) => read_labels(&args.embeddings, "labels").ok(),
        None => None,
    };
    if let Some(l) = &labels {
        if l.len() != emb.rows() {
            let source = args.labels.as_ref().unwrap_or(&args.embeddings);
            bail!("{}: {} labels for {} embeddings", source.display(), l.len(), emb.rows());
        }
    }
    let Fit { assignments, lower_bound, converged, inertia } = cluster(&emb, &args)?;
    let groups = groups_with_medoids(&emb, &assignments, args.top as usize, labels.as_deref())?;
    let report = GroupsReport {
        embeddings: args.embeddings.display().to_string(),
        n: emb.rows(),
        requested_groups: args.groups,
        method: args.method,
        lower_bound,
        converged,
        inertia,
        groups,
    };
    write_outputs(&args.out, &report, &assignments)?;
    println!(
        "{} groups over {} points ({:?}); largest {}, smallest {}; written to {}",
        report.groups.len(),
        report.n,
        report.method,
        report.groups.first().map_or(0, |g| g.size),
        report.groups.last().map_or(0, |g| g.size),
        args.out.display()
    );
    Ok(())
}

/// Writes groups.json, groups.csv (one row per top-k member) and assignments.csv (one row per point), atomically.
pub fn write_outputs(out: &Path, report: &GroupsReport, assignments: &[u32]) -> Result<()> {
    let json = serde_json::to_vec_pretty(report)?;
    sgm_train::atomic::write_atomic(&out.join("groups.json"), &json)?;
    let mut csv = String::from("group,size,majority_label,purity,rank,index,distance_to_medoid\n");
    for g in &report.groups {
        let lab = g.majority_label.map_or(String::new(), |l| l.to_string());
        let pur = g.purity.map_or(String::new(), |p| format!("{p:.6}"));
        for (rank, (&i, &d)) in g.top.iter().zip(&g.top_distances).enumerate() {
            writeln!(csv, "{},{},{lab},{pur},{rank},{i},{d:.6}", g.id, g.size)?;
        }
    }
    sgm_train::atomic::write_atomic(&out.join("groups.csv"), csv.as_bytes())?;
    let mut a = String::from("index,group\n");
    for (i, g) in assignments.iter().enumerate() {
        writeln!(a, "{i},{g}")?;
    }
    sgm_train::atomic::write_atomic(&out.join("assignments.csv"), a.as_bytes())?;
    Ok(())
}
