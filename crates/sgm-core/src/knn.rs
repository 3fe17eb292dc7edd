//! Exact brute-force k-nearest-neighbour search under the Euclidean distance.
//!
//! Queries and database are cut into blocks; each block pair costs one matrix product (candle's `gemm`) giving
//! `‖q‖² − 2 q·x + ‖x‖²`, so no `N × N` matrix is ever held: memory is `O(block² + queries · k)`. Each query keeps
//! a few more candidates than `k`; those are re-ranked with distances computed directly in f64, so the result is
//! exact even where the expansion loses precision.
//!
//! **Ties** are broken by the lower database index: neighbours are ordered by `(distance, index)`.

use crate::embeddings::Embeddings;
use crate::error::{invalid, CoreError, Result};
use candle_core::{Device, Tensor};
use rayon::prelude::*;

/// Which database items a query may not return.
#[derive(Debug, Clone, Copy)]
pub enum Exclusion<'a> {
    /// Nothing is excluded (queries and database are different sets).
    None,
    /// Leave-self-out: query `i` never returns database item `i` (queries and database are the same set).
    SelfMatch,
    /// Query `i` never returns an item of its own group: `query[i] == database[j]` excludes `j`. With the same set
    /// on both sides this also excludes the query itself. Used to keep duplicate images out of retrieval hits.
    Groups {
        /// Group id of each query.
        query: &'a [u32],
        /// Group id of each database item.
        database: &'a [u32],
    },
}

impl Exclusion<'_> {
    #[inline]
    fn excludes(&self, q: usize, x: usize) -> bool {
        match self {
            Exclusion::None => false,
            Exclusion::SelfMatch => q == x,
            Exclusion::Groups { query, database } => query[q] == database[x],
        }
    }
}

/// The neighbours of every query, nearest first. A query has fewer than `k` when exclusions leave too few items.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbors {
    k: usize,
    indices: Vec<u32>,
    distances: Vec<f32>,
    counts: Vec<usize>,
}

impl Neighbors {
    /// Number of queries.
    pub fn len(&self) -> usize {
        self.counts.len()
    }
    /// True when there were no queries.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
    /// The `k` that was asked for.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Database indices of the neighbours of query `i`, nearest first.
    pub fn indices(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..i * self.k + self.counts[i]]
    }
    /// Euclidean distances of the neighbours of query `i`, ascending.
    pub fn distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..i * self.k + self.counts[i]]
    }
    /// The first `k` neighbours of every query (all of them when `k` is larger): one search for the largest K
    /// serves every smaller K, as in an F1-against-K curve.
    pub fn nearest(&self, k: usize) -> Neighbors {
        let k = k.min(self.k);
        let mut out = Neighbors {
            k,
            indices: Vec::with_capacity(self.len() * k),
            distances: Vec::with_capacity(self.len() * k),
            counts: Vec::with_capacity(self.len()),
        };
        for i in 0..self.len() {
            let n = self.counts[i].min(k);
            out.indices.extend_from_slice(&self.indices(i)[..n]);
            out.indices.resize(out.indices.len() + k - n, 0);
            out.distances.extend_from_slice(&self.distances(i)[..n]);
            out.distances.resize(out.distances.len() + k - n, f32::INFINITY);
            out.counts.push(n);
        }
        out
    }
}

/// Block sizes of the search.
const QUERY_BLOCK: usize = 1024;
const DB_BLOCK: usize = 4096;
/// Extra candidates kept per query for the exact re-ranking.
const SPARE: usize = 8;

/// A bounded, sorted candidate list ordered by `(distance², index)`.
struct TopK {
    cap: usize,
    items: Vec<(f32, u32)>,
}

impl TopK {
    fn new(cap: usize) -> Self {
        Self { cap, items: Vec::with_capacity(cap + 1) }
    }
    /// The distance a new candidate must beat: the last kept one when the list is full, else +∞.
    #[inline]
    fn worst(&self) -> f32 {
        if self.items.len() == self.cap {
            self.items[self.cap - 1].0
        } else {
            f32::INFINITY
        }
    }
    #[inline]
    fn push(&mut self, d: f32, i: u32) {
        if self.items.len() == self.cap {
            let worst = self.items[self.cap - 1];
            if (d, i) >= worst {
                return;
            }
            self.items.pop();
        }
        let pos = self.items.partition_point(|&(dd, ii)| (dd, ii) < (d, i));
        self.items.insert(pos, (d, i));
    }
}

/// Finds the `k` nearest database rows of every query row.
pub fn knn_search(
    queries: &Embeddings,
    database: &Embeddings,
    k: usize,
    exclusion: Exclusion<'_>,
) -> Result<Neighbors> {
    if k == 0 {
        return Err(invalid("k must be at least 1"));
    }
    if queries.dim() != database.dim() {
        return Err(CoreError::Shape(format!(
            "queries have dimension {}, the database {}",
            queries.dim(),
            database.dim()
        )));
    }
    if let Exclusion::Groups { query, database: db } = exclusion {
        if query.len() != queries.rows() || db.len() != database.rows() {
            return Err(CoreError::Shape(format!(
                "group ids: {} for {} queries and {} for {} database rows",
                query.len(),
                queries.rows(),
                db.len(),
                database.rows()
            )));
        }
    }
    if matches!(exclusion, Exclusion::SelfMatch) && queries.rows() != database.rows() {
        return Err(CoreError::Shape("leave-self-out needs the same set as queries and database".into()));
    }
    crate::memory::check(
        format!("the {k} nearest neighbours (k) of {} queries", queries.rows()),
        (queries.rows() as u128).saturating_mul(k as u128 + SPARE as u128),
        4 + 4 + 8,
    )?;
    let d = queries.dim();
    let cap = k + SPARE;
    let dev = Device::Cpu;

    // Database blocks as tensors with their squared norms, built once.
    let db_blocks: Vec<(usize, Tensor, Vec<f32>)> = (0..database.rows())
        .step_by(DB_BLOCK)
        .map(|start| {
            let end = (start + DB_BLOCK).min(database.rows());
            let rows = &database.as_slice()[start * d..end * d];
            let t = Tensor::from_slice(rows, (end - start, d), &dev)?.t()?.contiguous()?;
            Ok((start, t, rows.chunks_exact(d).map(sq_norm).collect()))
        })
        .collect::<Result<_>>()?;

    let mut indices = vec![0u32; queries.rows() * k];
    let mut distances = vec![0f32; queries.rows() * k];
    let mut counts = vec![0usize; queries.rows()];

    for q_start in (0..queries.rows()).step_by(QUERY_BLOCK) {
        let q_end = (q_start + QUERY_BLOCK).min(queries.rows());
        let q_rows = &queries.as_slice()[q_start * d..q_end * d];
        let q_norms: Vec<f32> = q_rows.chunks_exact(d).map(sq_norm).collect();
        let q = Tensor::from_slice(q_rows, (q_end - q_start, d), &dev)?;
        let mut tops: Vec<TopK> = (q_start..q_end).map(|_| TopK::new(cap)).collect();
        for (x_start, xt, x_norms) in &db_blocks {
            // The product's storage is read in place (no copy into a Vec).
            let prod = q.matmul(xt)?;
            let (storage, layout) = prod.storage_and_layout();
            let dots: &[f32] = match (&*storage, layout.contiguous_offsets()) {
                (candle_core::Storage::Cpu(candle_core::CpuStorage::F32(v)), Some((a, b))) => &v[a..b],
                _ => return Err(CoreError::Shape("kNN: unexpected matrix-product storage".into())),
            };
            let width = x_norms.len();
            tops.par_iter_mut().enumerate().for_each(|(r, top)| {
                let qi = q_start + r;
                let row = &dots[r * width..(r + 1) * width];
                let qn = q_norms[r];
                // Rows are scanned in increasing index order, so a candidate at the current worst distance loses
                // its tie: `d >= worst` rejects exactly what `TopK::push` would, without touching the list.
                let mut worst = top.worst();
                for (c, (&dot, &xn)) in row.iter().zip(x_norms).enumerate() {
                    let d = (qn + xn - 2.0 * dot).max(0.0);
                    if d >= worst {
                        continue;
                    }
                    let xi = x_start + c;
                    if exclusion.excludes(qi, xi) {
                        continue;
                    }
                    top.push(d, xi as u32);
                    worst = top.worst();
                }
            });
        }
        // Exact re-ranking of the candidates in f64.
        let finished: Vec<Vec<(f64, u32)>> = tops
            .par_iter()
            .enumerate()
            .map(|(r, top)| {
                let qv = &q_rows[r * d..(r + 1) * d];
                let mut exact: Vec<(f64, u32)> =
                    top.items.iter().map(|&(_, xi)| (exact_sq_dist(qv, database.row(xi as usize)), xi)).collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                exact.truncate(k);
                exact
            })
            .collect();
        for (r, list) in finished.into_iter().enumerate() {
            let qi = q_start + r;
            counts[qi] = list.len();
            for (j, (d2, xi)) in list.into_iter().enumerate() {
                indices[qi * k + j] = xi;
                distances[qi * k + j] = d2.sqrt() as f32;
            }
        }
    }
    Ok(Neighbors { k, indices, distances, counts })
}

#[inline]
fn sq_norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum()
}

#[inline]
fn exact_sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum()
}

/// Majority vote among each query's neighbours with uniform weights; a tie goes to the smallest label (as
/// scikit-learn's `KNeighborsClassifier`).
pub fn vote(neighbors: &Neighbors, database_labels: &[u32]) -> Vec<u32> {
    let n_labels = database_labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    (0..neighbors.len())
        .into_par_iter()
        .map_init(
            || vec![0usize; n_labels],
            |votes, i| {
                votes.iter_mut().for_each(|v| *v = 0);
                for &x in neighbors.indices(i) {
                    votes[database_labels[x as usize] as usize] += 1;
                }
                // max_by_key keeps the last maximum; iterate in reverse so the smallest label wins ties.
                votes.iter().enumerate().rev().max_by_key(|&(_, &v)| v).map_or(0, |(c, _)| c as u32)
            },
        )
        .collect()
}

/// kNN classification: fits on `train` and predicts a label for each row of `test`.
pub fn knn_classify(train: &Embeddings, train_labels: &[u32], test: &Embeddings, k: usize) -> Result<Vec<u32>> {
    crate::embeddings::check_labels(train, train_labels, "training set")?;
    if k > train.rows() {
        return Err(invalid(format!("k = {k} is larger than the training set ({} rows)", train.rows())));
    }
    let neighbors = knn_search(test, train, k, Exclusion::None)?;
    Ok(vote(&neighbors, train_labels))
}
