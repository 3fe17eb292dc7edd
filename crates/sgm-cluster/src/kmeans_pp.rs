//! Greedy k-means++ seeding, as scikit-learn's `_kmeans_plusplus`.
//!
//! linfa 0.8's k-means++ draws one candidate per centre and its `n_runs` do not re-initialise, which left it far
//! behind scikit-learn at k = 40 (inertia 3.80M against 2.55M on the same blobs). The greedy variant draws
//! `2 + ⌊ln k⌋` candidates per centre and keeps the one that lowers the potential most.

use crate::lloyd::{sq_dist, CHUNK};
use ndarray::Array2;
use rand::Rng;
use rayon::prelude::*;

/// `out[i] = min(closest[i], ‖x_i − centre‖²)` over all points, in parallel chunks; returns `Σ out` summed in
/// point order, so the result does not depend on the thread count.
fn closer(data: &[f64], d: usize, centre: &[f64], closest: &[f64], out: &mut [f64]) -> f64 {
    out.par_chunks_mut(CHUNK).zip(closest.par_chunks(CHUNK)).enumerate().for_each(|(chunk, (out, old))| {
        for (o, (slot, &prev)) in out.iter_mut().zip(old).enumerate() {
            let i = chunk * CHUNK + o;
            *slot = prev.min(sq_dist(&data[i * d..(i + 1) * d], centre));
        }
    });
    out.iter().sum()
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
    let mut closest = vec![0.0; n];
    let mut potential = closer(data, d, row(first), &vec![f64::INFINITY; n], &mut closest);
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
            let pot = closer(data, d, row(id), &closest, &mut candidate);
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
