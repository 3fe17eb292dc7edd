//! Retrieval scores (the paper's Figure 3): every item of a set queries the rest of the same set.
//! - **Recall@K**: the fraction of queries with at least one same-class item among their K nearest neighbours;
//! - **Acc@K**: the mean over queries of (same-class items among the K nearest) / K.
//!
//! The query itself is never among its results. With duplicate groups, items of the query's group are excluded
//! too, so that copies of the same image (FER2013 has them across splits) do not count as hits. A query left
//! with fewer than K items still divides by K.

use crate::embeddings::{check_labels, Embeddings};
use crate::error::{invalid, CoreError, Result};
use crate::knn::{knn_search, Exclusion};

/// Recall@K and Acc@K for each K asked for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RetrievalReport {
    /// The K values, ascending.
    pub ks: Vec<usize>,
    /// Recall@K for each K.
    pub recall_at_k: Vec<f64>,
    /// Acc@K for each K.
    pub acc_at_k: Vec<f64>,
    /// Whether duplicate groups were excluded.
    pub dedup: bool,
}

/// Computes Recall@K and Acc@K of `emb` (with `labels`) against itself; `groups` optionally names the duplicate
/// group of each item.
pub fn retrieval_scores(
    emb: &Embeddings,
    labels: &[u32],
    ks: &[usize],
    groups: Option<&[u32]>,
) -> Result<RetrievalReport> {
    check_labels(emb, labels, "retrieval set")?;
    let mut ks = ks.to_vec();
    ks.sort_unstable();
    ks.dedup();
    let k_max = *ks.last().ok_or_else(|| invalid("no K given for Recall@K"))?;
    if ks[0] == 0 {
        return Err(invalid("K must be at least 1"));
    }
    if k_max >= emb.rows() {
        return Err(invalid(format!("K = {k_max} needs more than {} items", emb.rows())));
    }
    let exclusion = match groups {
        Some(g) => {
            if g.len() != emb.rows() {
                return Err(CoreError::Shape(format!("{} group ids for {} items", g.len(), emb.rows())));
            }
            Exclusion::Groups { query: g, database: g }
        }
        None => Exclusion::SelfMatch,
    };
    let nn = knn_search(emb, emb, k_max, exclusion)?;
    let mut recall = vec![0f64; ks.len()];
    let mut acc = vec![0f64; ks.len()];
    for q in 0..emb.rows() {
        let hits: Vec<bool> = nn.indices(q).iter().map(|&x| labels[x as usize] == labels[q]).collect();
        for (slot, &k) in ks.iter().enumerate() {
            let top = &hits[..k.min(hits.len())];
            let same = top.iter().filter(|&&h| h).count();
            recall[slot] += f64::from(u8::from(same > 0));
            acc[slot] += same as f64 / k as f64;
        }
    }
    let n = emb.rows() as f64;
    Ok(RetrievalReport {
        ks,
        recall_at_k: recall.into_iter().map(|r| r / n).collect(),
        acc_at_k: acc.into_iter().map(|a| a / n).collect(),
        dedup: groups.is_some(),
    })
}
