//! Label audit (the paper's Figure 6): images whose label disagrees with most of their K nearest neighbours in
//! the embedding are candidates for mislabelling.

use crate::error::{ClusterError, Result};
use sgm_core::{knn_search, Embeddings, Exclusion};

/// One image's audit: how many of its neighbours carry another label, and which label they vote for.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Suspect {
    /// Point index.
    pub index: usize,
    /// Its label.
    pub label: u32,
    /// The most common label among its neighbours (smallest on ties).
    pub neighbour_label: u32,
    /// Fraction of its neighbours whose label differs from its own.
    pub disagreement: f64,
    /// Fraction of its neighbours carrying `neighbour_label`.
    pub neighbour_share: f64,
}

/// Audits every point against its `k` nearest neighbours (itself excluded); returns every point, most suspicious
/// first (by disagreement, then by the neighbours' share of their label, then by index).
pub fn audit_labels(emb: &Embeddings, labels: &[u32], k: usize) -> Result<Vec<Suspect>> {
    if labels.len() != emb.rows() {
        return Err(ClusterError::Shape(format!("{} labels for {} points", labels.len(), emb.rows())));
    }
    if k == 0 || k >= emb.rows() {
        return Err(ClusterError::InvalidParams(format!("k must be in 1..{}, got {k}", emb.rows())));
    }
    let nb = knn_search(emb, emb, k, Exclusion::SelfMatch)?;
    let mut out: Vec<Suspect> = (0..emb.rows())
        .map(|i| {
            let ids = nb.indices(i);
            let mut counts = std::collections::BTreeMap::<u32, usize>::new();
            ids.iter().for_each(|&j| *counts.entry(labels[j as usize]).or_default() += 1);
            let (&neighbour_label, &top) = counts.iter().fold((&u32::MAX, &0), |b, c| if c.1 > b.1 { c } else { b });
            let same = counts.get(&labels[i]).copied().unwrap_or(0);
            let m = ids.len().max(1) as f64;
            Suspect {
                index: i,
                label: labels[i],
                neighbour_label,
                disagreement: (ids.len() - same) as f64 / m,
                neighbour_share: top as f64 / m,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.disagreement
            .total_cmp(&a.disagreement)
            .then(b.neighbour_share.total_cmp(&a.neighbour_share))
            .then(a.index.cmp(&b.index))
    });
    Ok(out)
}
