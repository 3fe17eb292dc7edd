//! Lloyd's algorithm, step for step as scikit-learn's `_kmeans_single_lloyd` (dense data, unit weights).
//!
//! linfa-clustering 0.8's `KMeans` is not what the paper ran: its centre update counts the old centre as one
//! more member of its cluster (m_k-means), and it measures every point–centre distance in a scalar loop (slow at
//! the paper's k = 40; see `docs/performance.md`). Here:
//! - the assignment works on chunks of [`CHUNK`] points: `‖c‖² − 2 x·c` through one matrix product per chunk
//!   (`ndarray`'s `matrixmultiply`), the first minimum winning ties as in scikit-learn;
//! - chunks run in parallel with rayon; each returns its per-cluster sums, which are added in chunk order, so a
//!   run is bit-for-bit repeatable whatever the thread count or scheduling;
//! - a cluster left empty takes the point farthest from its centre (farthest first), as scikit-learn's
//!   `_relocate_empty_clusters_dense`;
//! - it stops when the labels no longer change or the summed squared centre shift is at most `tol`, and then
//!   re-assigns the points to the final centres unless the labels had converged.
//!
//! linfa's k-means stays available as [`crate::kmeans::kmeans_linfa`], the "naive" reference of the benchmark.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

/// Points per assignment block: the `CHUNK × k` distance block stays in L1/L2 for the k of interest.
pub(crate) const CHUNK: usize = 256;

/// One finished Lloyd run.
pub(crate) struct LloydFit {
    /// `k × d` centres.
    pub centres: Array2<f64>,
    /// Nearest centre of each point.
    pub labels: Vec<u32>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Iterations run.
    pub n_iter: u64,
}

/// Squared Euclidean distance of two equal-length slices, with four independent accumulators so that the loop
/// vectorises (a single running sum is a dependency chain the compiler may not reorder).
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4.remainder().iter().zip(b4.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in a4.zip(b4) {
        for l in 0..4 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Per-cluster sums of the points and their counts.
struct Sums {
    sums: Array2<f64>,
    counts: Vec<u64>,
}

/// Labels every point of `x` with its nearest centre; with `accumulate`, also returns the per-cluster sums.
fn assign(x: ArrayView2<f64>, centres: &Array2<f64>, labels: &mut [u32], accumulate: bool) -> Option<Sums> {
    let (k, d) = centres.dim();
    let c_sq: Vec<f64> = centres.rows().into_iter().map(|c| c.dot(&c)).collect();
    let ct = centres.t();
    let partials: Vec<Option<Sums>> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(chunk, out)| {
            let start = chunk * CHUNK;
            let block = x.slice(ndarray::s![start..start + out.len(), ..]);
            let dots = block.dot(&ct);
            for (slot, row) in out.iter_mut().zip(dots.rows()) {
                let (mut best, mut best_d) = (0usize, c_sq[0] - 2.0 * row[0]);
                for j in 1..k {
                    let dist = c_sq[j] - 2.0 * row[j];
                    if dist < best_d {
                        (best, best_d) = (j, dist);
                    }
                }
                *slot = best as u32;
            }
            accumulate.then(|| {
                let mut part = Sums { sums: Array2::zeros((k, d)), counts: vec![0; k] };
                for (point, &label) in block.rows().into_iter().zip(out.iter()) {
                    let mut sum = part.sums.row_mut(label as usize);
                    sum += &point;
                    part.counts[label as usize] += 1;
                }
                part
            })
        })
        .collect();
    accumulate.then(|| {
        let mut total = Sums { sums: Array2::zeros((k, d)), counts: vec![0; k] };
        for part in partials.into_iter().flatten() {
            total.sums += &part.sums;
            total.counts.iter_mut().zip(&part.counts).for_each(|(t, c)| *t += c);
        }
        total
    })
}

/// Moves one far point into each empty cluster (farthest from its centre first), as scikit-learn does.
fn relocate_empty_clusters(x: ArrayView2<f64>, old_centres: &Array2<f64>, labels: &[u32], acc: &mut Sums) {
    let empty: Vec<usize> = (0..acc.counts.len()).filter(|&j| acc.counts[j] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let mut far: Vec<(f64, usize)> =
        label_distances(x, old_centres, labels).into_iter().enumerate().map(|(i, dist)| (dist, i)).collect();
    // Farthest first; the lower index first among equals, so the choice does not depend on the sort.
    far.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (&new_cluster, &(_, point)) in empty.iter().zip(&far) {
        let old_cluster = labels[point] as usize;
        let p = x.row(point);
        let mut from = acc.sums.row_mut(old_cluster);
        from -= &p;
        acc.sums.row_mut(new_cluster).assign(&p);
        acc.counts[new_cluster] = 1;
        acc.counts[old_cluster] -= 1;
    }
}

/// One run of Lloyd's algorithm on `x` (`n × d`, standard layout) from `init` (`k × d`). `tol` is absolute: the
/// summed squared centre shift at which to stop (scikit-learn's `tol · mean_j Var(X[:, j])`).
pub(crate) fn lloyd(x: ArrayView2<f64>, init: Array2<f64>, max_iter: u64, tol: f64) -> LloydFit {
    let n = x.nrows();
    let mut centres = init;
    let mut labels = vec![u32::MAX; n];
    let mut labels_old = labels.clone();
    let mut strict_convergence = false;
    let mut n_iter = 0;
    while n_iter < max_iter {
        n_iter += 1;
        let mut acc = assign(x, &centres, &mut labels, true).expect("accumulate = true returns sums");
        relocate_empty_clusters(x, &centres, &labels, &mut acc);
        for (mut row, &count) in acc.sums.axis_iter_mut(Axis(0)).zip(&acc.counts) {
            if count > 0 {
                row /= count as f64;
            }
        }
        let shift: f64 = (&acc.sums - &centres).iter().map(|v| v * v).sum();
        centres = acc.sums;
        if labels == labels_old {
            strict_convergence = true;
            break;
        }
        if shift <= tol {
            break;
        }
        labels_old.copy_from_slice(&labels);
    }
    if !strict_convergence {
        // The labels were computed from the previous centres; match them to the final ones.
        assign(x, &centres, &mut labels, false);
    }
    let inertia = inertia(x, &centres, &labels);
    LloydFit { centres, labels, inertia, n_iter }
}

/// Squared distance of every point to its assigned centre, computed in parallel chunks.
fn label_distances(x: ArrayView2<f64>, centres: &Array2<f64>, labels: &[u32]) -> Vec<f64> {
    let data = x.as_slice().expect("lloyd works on standard-layout data");
    let cs = centres.as_slice().expect("standard layout");
    let d = x.ncols();
    let mut out = vec![0.0; labels.len()];
    out.par_chunks_mut(CHUNK).zip(labels.par_chunks(CHUNK)).enumerate().for_each(|(chunk, (out, ls))| {
        for (o, (slot, &l)) in out.iter_mut().zip(ls).enumerate() {
            let (i, l) = (chunk * CHUNK + o, l as usize);
            *slot = sq_dist(&data[i * d..(i + 1) * d], &cs[l * d..(l + 1) * d]);
        }
    });
    out
}

/// Sum of squared distances of the points to their assigned centres, summed in point order.
pub(crate) fn inertia(x: ArrayView2<f64>, centres: &Array2<f64>, labels: &[u32]) -> f64 {
    label_distances(x, centres, labels).iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn sq_dist_matches_the_plain_sum_for_every_length() {
        for len in 0..11 {
            let a: Vec<f64> = (0..len).map(|i| (i as f64 * 0.7).sin()).collect();
            let b: Vec<f64> = (0..len).map(|i| (i as f64 * 1.3).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((sq_dist(&a, &b) - plain).abs() < 1e-12, "len {len}");
        }
    }

    #[test]
    fn an_empty_cluster_takes_the_farthest_point() {
        // Centre 1 is far from everything, so no point picks it; the farthest point (10, 0) moves to it.
        let x = array![[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]];
        let init = array![[0.0, 0.0], [100.0, 100.0]];
        let fit = lloyd(x.view(), init, 100, 0.0);
        assert_eq!(fit.labels, vec![0, 0, 1]);
        assert_eq!(fit.centres, array![[0.5, 0.0], [10.0, 0.0]]);
        assert!((fit.inertia - 0.5).abs() < 1e-12);
    }

    /// scikit-learn's `n_iter_` for the runs of `tests/it/kmeans_reference.rs` (the script is there): 8 and 8.
    #[test]
    fn iterations_match_sklearn() {
        let (x, _) = sgm_core::testing::formula_data(300, 6, 0.0, 5);
        let x = Array2::from_shape_vec((300, 6), x.into_iter().map(f64::from).collect()).unwrap();
        let tol = 1e-3 * x.var_axis(Axis(0), 0.0).mean().unwrap();
        let rows = |r: &[usize]| Array2::from_shape_fn((r.len(), 6), |(i, j)| x[[r[i], j]]);
        assert_eq!(lloyd(x.view(), rows(&[0, 1, 2, 3, 4]), 3000, tol).n_iter, 8);
        assert_eq!(lloyd(x.view(), rows(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]), 3000, tol).n_iter, 8);
    }

    #[test]
    fn stops_at_max_iter_with_labels_matching_the_final_centres() {
        let x = Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 3) as f64 * 0.37).sin());
        let init = x.slice(ndarray::s![0..4, ..]).to_owned();
        let fit = lloyd(x.view(), init, 1, 0.0);
        assert_eq!(fit.n_iter, 1);
        let mut relabelled = vec![0; 40];
        assign(x.view(), &fit.centres, &mut relabelled, false);
        assert_eq!(fit.labels, relabelled);
    }
}
