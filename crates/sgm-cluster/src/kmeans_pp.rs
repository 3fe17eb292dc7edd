//! Greedy k-means++ seeding, as scikit-learn's `_kmeans_plusplus`.
//!
//! linfa 0.8's k-means++ draws one candidate per centre and its `n_runs` do not re-initialise, which left it far
//! behind scikit-learn at k = 40 (inertia 3.80M against 2.55M on the same blobs). The greedy variant draws
//! `2 + ⌊ln k⌋` candidates per centre and keeps the one that lowers the potential most.

use ndarray::{Array2, ArrayView1};
use rand::Rng;

/// Squared Euclidean distance.
pub(crate) fn sq_dist(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Squared Euclidean distance of two equal-length slices.
fn sq_dist_slices(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `k` initial centres of `x` (`n × d`, `k ≤ n`) by greedy k-means++.
pub fn greedy_kmeans_plus_plus<R: Rng>(x: &Array2<f64>, k: usize, rng: &mut R) -> Array2<f64> {
    let (n, d) = x.dim();
    assert!(k >= 1 && k <= n, "greedy k-means++ needs 1 ≤ k ≤ n");
    let x = x.as_standard_layout();
    let data = x.as_slice().expect("standard layout");
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Array2::zeros((k, d));
    let first = rng.random_range(0..n);
    centres.row_mut(0).assign(&x.row(first));
    let mut closest: Vec<f64> = (0..n).map(|i| sq_dist_slices(row(i), row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    let mut candidate = vec![0.0; n];
    let mut best_closest = vec![0.0; n];
    for c in 1..k {
        let mut acc = 0.0;
        for (cum, &dd) in cumulative.iter_mut().zip(&closest) {
            acc += dd;
            *cum = acc;
        }
        let mut best: Option<(usize, f64)> = None;
        for _ in 0..trials {
            let target = rng.random::<f64>() * potential;
            let id = cumulative.partition_point(|&v| v < target).min(n - 1);
            let centre = row(id);
            let mut pot = 0.0;
            for (i, (slot, &old)) in candidate.iter_mut().zip(&closest).enumerate() {
                *slot = old.min(sq_dist_slices(row(i), centre));
                pot += *slot;
            }
            if best.is_none_or(|b| pot < b.1) {
                best = Some((id, pot));
                std::mem::swap(&mut best_closest, &mut candidate);
            }
        }
        let (id, pot) = best.expect("at least two trials");
        centres.row_mut(c).assign(&x.row(id));
        std::mem::swap(&mut closest, &mut best_closest);
        potential = pot;
    }
    centres
}
