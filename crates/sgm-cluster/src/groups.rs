//! Groups of a clustering with their medoids: the paper's inspection of EM groups (Figure 8).
//!
//! The medoid of a group is the member nearest (Euclidean) to the group's mean; the group's top-k are the k members
//! nearest to the medoid, the medoid itself first. Ties are broken by the lower point index.

use crate::error::{ClusterError, Result};
use crate::{gmm, kmeans, CovarianceType, GmmConfig, KMeansConfig, KMeansInitMethod};
use sgm_core::Embeddings;

/// How points are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum GroupMethod {
    /// A Gaussian mixture fitted by EM (the paper's).
    Gmm,
    /// k-means with greedy k-means++ seeding.
    Kmeans,
}

/// A grouping of points into `groups` clusters, by EM or k-means.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupingConfig {
    /// Number of groups (the paper: 40 on FER+).
    pub groups: usize,
    /// Method.
    pub method: GroupMethod,
    /// Covariance of the GMM components.
    pub covariance: CovarianceType,
    /// Independent initialisations (GMM) or runs (k-means); the best is kept.
    pub n_init: usize,
    /// EM iteration cap (k-means: 300).
    pub max_iter: usize,
    /// Seed.
    pub seed: u64,
}

impl GroupingConfig {
    /// EM with full covariances, 3 initialisations, at most 100 iterations.
    pub fn new(groups: usize, method: GroupMethod, seed: u64) -> Self {
        Self { groups, method, covariance: CovarianceType::Full, n_init: 3, max_iter: 100, seed }
    }
}

/// The outcome of [`fit_groups`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFit {
    /// Group of each point.
    pub assignments: Vec<u32>,
    /// GMM: mean log-likelihood per point.
    pub lower_bound: Option<f64>,
    /// GMM: whether EM converged.
    pub converged: Option<bool>,
    /// k-means: sum of squared distances to the centres.
    pub inertia: Option<f64>,
}

/// Clusters `emb` into `cfg.groups` groups with `cfg.method`.
pub fn fit_groups(emb: &Embeddings, cfg: &GroupingConfig) -> Result<GroupFit> {
    if cfg.groups > emb.rows() {
        return Err(ClusterError::InvalidParams(format!("{} groups asked for {} points", cfg.groups, emb.rows())));
    }
    Ok(match cfg.method {
        GroupMethod::Gmm => {
            let g = gmm(
                emb,
                &GmmConfig {
                    n_init: cfg.n_init,
                    max_iter: cfg.max_iter,
                    ..GmmConfig::new(cfg.groups, cfg.covariance, cfg.seed)
                },
            )?;
            GroupFit {
                assignments: g.assignments,
                lower_bound: Some(g.lower_bound),
                converged: Some(g.converged),
                inertia: None,
            }
        }
        GroupMethod::Kmeans => {
            let kcfg = KMeansConfig {
                k: cfg.groups,
                init: KMeansInitMethod::KMeansPlusPlus { n_runs: cfg.n_init },
                max_iter: 300,
                tol: 1e-4,
                seed: cfg.seed,
            };
            let c = kmeans(emb, &kcfg, None)?;
            GroupFit { assignments: c.assignments, lower_bound: None, converged: None, inertia: Some(c.inertia) }
        }
    })
}

/// One non-empty group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// The cluster id the group came from.
    pub id: u32,
    /// Number of members.
    pub size: usize,
    /// Point index of the medoid.
    pub medoid: usize,
    /// Distance of the medoid to the group mean.
    pub medoid_to_mean: f64,
    /// Up to `top` members nearest the medoid, nearest first (the medoid at distance 0 comes first).
    pub top: Vec<usize>,
    /// Their distances to the medoid.
    pub top_distances: Vec<f64>,
    /// Most common label among the members (smallest on ties), when labels were given.
    pub majority_label: Option<u32>,
    /// Fraction of the members carrying the majority label.
    pub purity: Option<f64>,
    /// All members, ascending.
    pub members: Vec<usize>,
}

/// Builds the non-empty groups of `assignments` over `emb`, largest first (then by id), with medoids and the `top`
/// members nearest each medoid. `labels`, when given, yield the majority label and purity of each group.
pub fn groups_with_medoids(
    emb: &Embeddings,
    assignments: &[u32],
    top: usize,
    labels: Option<&[u32]>,
) -> Result<Vec<Group>> {
    let (n, d) = (emb.rows(), emb.dim());
    if assignments.len() != n {
        return Err(ClusterError::Shape(format!("{} assignments for {n} points", assignments.len())));
    }
    if let Some(l) = labels {
        if l.len() != n {
            return Err(ClusterError::Shape(format!("{} labels for {n} points", l.len())));
        }
    }
    if top == 0 {
        return Err(ClusterError::InvalidParams("top must be at least 1".into()));
    }
    let row = |i: usize| &emb.as_slice()[i * d..(i + 1) * d];
    let mut by_group: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, &a) in assignments.iter().enumerate() {
        by_group.entry(a).or_default().push(i);
    }
    let mut out = Vec::with_capacity(by_group.len());
    for (id, members) in by_group {
        let mut mean = vec![0.0f64; d];
        for &i in &members {
            mean.iter_mut().zip(row(i)).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= members.len() as f64);
        let dist = |a: &[f32], b: &[f64]| a.iter().zip(b).map(|(&x, &y)| (x as f64 - y).powi(2)).sum::<f64>().sqrt();
        let (medoid, medoid_to_mean) = members
            .iter()
            .map(|&i| (i, dist(row(i), &mean)))
            .fold((usize::MAX, f64::INFINITY), |b, c| if c.1 < b.1 { c } else { b });
        let centre: Vec<f64> = row(medoid).iter().map(|&v| v as f64).collect();
        let mut near: Vec<(f64, usize)> = members.iter().map(|&i| (dist(row(i), &centre), i)).collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        // The medoid first even if a duplicate point shares its distance of 0.
        if let Some(pos) = near.iter().position(|&(_, i)| i == medoid) {
            let m = near.remove(pos);
            near.insert(0, m);
        }
        near.truncate(top);
        let (majority_label, purity) = match labels {
            Some(l) => {
                let mut counts: std::collections::BTreeMap<u32, usize> = Default::default();
                members.iter().for_each(|&i| *counts.entry(l[i]).or_default() += 1);
                let (&lab, &c) = counts.iter().fold((&u32::MAX, &0), |b, c| if c.1 > b.1 { c } else { b });
                (Some(lab), Some(c as f64 / members.len() as f64))
            }
            None => (None, None),
        };
        out.push(Group {
            id,
            size: members.len(),
            medoid,
            medoid_to_mean,
            top: near.iter().map(|&(_, i)| i).collect(),
            top_distances: near.iter().map(|&(dd, _)| dd).collect(),
            majority_label,
            purity,
            members,
        });
    }
    out.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
    Ok(out)
}
