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

/// `k` initial centres of `x` (`n × d`, `k ≤ n`) by greedy k-means++.
pub fn greedy_kmeans_plus_plus<R: Rng>(x: &Array2<f64>, k: usize, rng: &mut R) -> Array2<f64> {
    let n = x.nrows();
    assert!(k >= 1 && k <= n, "greedy k-means++ needs 1 ≤ k ≤ n");
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Array2::zeros((k, x.ncols()));
    let first = rng.random_range(0..n);
    centres.row_mut(0).assign(&x.row(first));
    let mut closest: Vec<f64> = x.rows().into_iter().map(|r| sq_dist(r, x.row(first))).collect();
    let mut potential: f64 = closest.iter().sum();
    for c in 1..k {
        let mut cumulative = Vec::with_capacity(n);
        let mut acc = 0.0;
        for &d in &closest {
            acc += d;
            cumulative.push(acc);
        }
        let mut best: Option<(usize, f64, Vec<f64>)> = None;
        for _ in 0..trials {
            let target = rng.random::<f64>() * potential;
            let id = cumulative.partition_point(|&v| v < target).min(n - 1);
            let updated: Vec<f64> =
                x.rows().into_iter().zip(&closest).map(|(r, &d)| d.min(sq_dist(r, x.row(id)))).collect();
            let pot: f64 = updated.iter().sum();
            if best.as_ref().is_none_or(|b| pot < b.1) {
                best = Some((id, pot, updated));
            }
        }
        let (id, pot, updated) = best.expect("at least two trials");
        centres.row_mut(c).assign(&x.row(id));
        closest = updated;
        potential = pot;
    }
    centres
}
