//! Sub-class splitting for the paper's Algorithm 2 (Deep Gaussian Mixture Sub-space, the authors' "mitosis").
//!
//! Two variants, as in the authors' code: recursive binary k-means (every current sub-class of at least
//! `min_size` members is cut in two, smaller ones are kept) and a Gaussian mixture of `min(n_c / 10, k)`
//! components fitted to each whole class, `k` growing from level to level. Sub-class ids are then renumbered
//! contiguously, class by class, so that sub-classes of class 0 come first.

use crate::error::{ClusterError, Result};
use crate::gmm::{gmm, CovarianceType, GmmConfig};
use crate::kmeans::{kmeans, KMeansConfig, KMeansInitMethod};
use sgm_core::Embeddings;
use std::collections::BTreeMap;

/// How each level splits.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum SplitMethod {
    /// k = 2 on every current sub-class of at least `min_size` members (the authors used 400).
    BinaryKMeans {
        /// Smallest sub-class that is split.
        min_size: usize,
    },
    /// A mixture of `min(n_c / 10, components)` Gaussians per class.
    Gmm {
        /// Component cap for this level (the authors grew it 2 → 4).
        components: usize,
        /// Covariance structure (the authors: full).
        covariance: CovarianceType,
    },
}

impl SplitMethod {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::BinaryKMeans { min_size } if *min_size < 2 => {
                Err(ClusterError::InvalidParams("min_size must be at least 2".into()))
            }
            Self::Gmm { components: 0, .. } => Err(ClusterError::InvalidParams("components must be at least 1".into())),
            _ => Ok(()),
        }
    }
}

/// Splits the sub-classes of one level. `classes` are the original labels, `current` the current sub-class ids
/// (e.g. the classes themselves at the first level); returns the new contiguous sub-class ids.
pub fn split_subclasses(
    emb: &Embeddings,
    classes: &[u32],
    current: &[u32],
    method: &SplitMethod,
    seed: u64,
) -> Result<Vec<u32>> {
    method.validate()?;
    let n = emb.rows();
    if classes.len() != n || current.len() != n {
        return Err(ClusterError::Shape(format!(
            "{} classes and {} sub-class ids for {n} embeddings",
            classes.len(),
            current.len()
        )));
    }
    // Local part ids, to be combined with the unit they came from.
    let mut local = vec![0u32; n];
    let units: BTreeMap<u32, Vec<usize>> = match method {
        SplitMethod::BinaryKMeans { .. } => group(current),
        SplitMethod::Gmm { .. } => group(classes),
    };
    for (unit, members) in &units {
        let part_seed = seed.wrapping_mul(0x9E37_79B9).wrapping_add(*unit as u64);
        let parts = match method {
            SplitMethod::BinaryKMeans { min_size } if members.len() >= *min_size => {
                let cfg = KMeansConfig {
                    k: 2,
                    init: KMeansInitMethod::KMeansPlusPlus { n_runs: 3 },
                    max_iter: 300,
                    tol: 1e-4,
                    seed: part_seed,
                };
                kmeans(&subset(emb, members)?, &cfg, None)?.assignments
            }
            SplitMethod::BinaryKMeans { .. } => vec![0; members.len()],
            SplitMethod::Gmm { components, covariance } => {
                let k = (members.len() / 10).min(*components).max(1);
                if k == 1 {
                    vec![0; members.len()]
                } else {
                    let cfg = GmmConfig { n_init: 2, ..GmmConfig::new(k, *covariance, part_seed) };
                    gmm(&subset(emb, members)?, &cfg)?.assignments
                }
            }
        };
        for (&i, &p) in members.iter().zip(&parts) {
            local[i] = p;
        }
    }
    let unit_of: Vec<u32> = match method {
        SplitMethod::BinaryKMeans { .. } => current.to_vec(),
        SplitMethod::Gmm { .. } => classes.to_vec(),
    };
    Ok(relabel_contiguous(classes, &unit_of, &local))
}

/// Contiguous ids for the distinct `(class, unit, part)` triples, in ascending order.
pub fn relabel_contiguous(classes: &[u32], unit: &[u32], part: &[u32]) -> Vec<u32> {
    let keys: Vec<(u32, u32, u32)> = (0..classes.len()).map(|i| (classes[i], unit[i], part[i])).collect();
    let mut distinct = keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    keys.iter().map(|k| distinct.binary_search(k).expect("present") as u32).collect()
}

/// NMI between `truth` and `found` within each class, as `(class, members, nmi)`; a class whose truth and
/// partition are both a single group scores 1.
pub fn within_class_nmi(classes: &[u32], truth: &[u32], found: &[u32]) -> Result<Vec<(u32, usize, f64)>> {
    if truth.len() != classes.len() || found.len() != classes.len() {
        return Err(ClusterError::Shape(format!(
            "{} true and {} found sub-class ids for {} points",
            truth.len(),
            found.len(),
            classes.len()
        )));
    }
    group(classes)
        .into_iter()
        .map(|(c, members)| {
            let t: Vec<u32> = members.iter().map(|&i| truth[i]).collect();
            let f: Vec<u32> = members.iter().map(|&i| found[i]).collect();
            Ok((c, members.len(), sgm_core::nmi(&t, &f)?))
        })
        .collect()
}

/// Clusters each class separately into the given number of parts with k-means (greedy k-means++, 5 runs):
/// the baseline Algorithm 2 is compared against. Returns contiguous sub-class ids.
pub fn cluster_within_classes(
    emb: &Embeddings,
    classes: &[u32],
    parts: &BTreeMap<u32, usize>,
    seed: u64,
) -> Result<Vec<u32>> {
    let mut local = vec![0u32; classes.len()];
    for (c, members) in group(classes) {
        let k = parts.get(&c).copied().unwrap_or(1).clamp(1, members.len());
        let cfg =
            KMeansConfig { k, init: KMeansInitMethod::KMeansPlusPlus { n_runs: 5 }, max_iter: 300, tol: 1e-4, seed };
        let a = kmeans(&subset(emb, &members)?, &cfg, None)?.assignments;
        members.iter().zip(a).for_each(|(&i, p)| local[i] = p);
    }
    Ok(relabel_contiguous(classes, classes, &local))
}

/// Number of distinct sub-classes of each class.
pub fn subclasses_per_class(classes: &[u32], sub: &[u32]) -> BTreeMap<u32, usize> {
    let mut seen: BTreeMap<u32, std::collections::BTreeSet<u32>> = BTreeMap::new();
    classes.iter().zip(sub).for_each(|(&c, &s)| {
        seen.entry(c).or_default().insert(s);
    });
    seen.into_iter().map(|(c, s)| (c, s.len())).collect()
}

fn group(ids: &[u32]) -> BTreeMap<u32, Vec<usize>> {
    let mut m: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    ids.iter().enumerate().for_each(|(i, &g)| m.entry(g).or_default().push(i));
    m
}

fn subset(emb: &Embeddings, rows: &[usize]) -> Result<Embeddings> {
    let d = emb.dim();
    let mut x = Vec::with_capacity(rows.len() * d);
    rows.iter().for_each(|&i| x.extend_from_slice(&emb.as_slice()[i * d..(i + 1) * d]));
    Ok(Embeddings::new(x, rows.len(), d, "sub-class members")?)
}
