//! Greedy k-means++ seeding, as scikit-learn's `_kmeans_plusplus`.
//!
//! linfa 0.8's k-means++ draws one candidate per centre and its `n_runs` do not re-initialise, which left it far
//! behind scikit-learn at k = 40 (inertia 3.80M against 2.55M on the same blobs). The greedy variant draws
//! `2 + ⌊ln k⌋` candidates per centre and keeps the one that lowers the potential most.

use crate::lloyd::{sq_dist, CHUNK};
use ndarray::Array2;
use rand::Rng;
use rayon::prelude::*;

/// For every candidate centre `t`: `out[i·T + t] = min(closest[i], ‖x_i − centre_t‖²)`, all candidates in one
/// pass over the points (each point is read once, not once per candidate: the pass is bound by memory), in
/// parallel chunks. Returns each candidate's potential `Σ_i out[i·T + t]`, summed in point order so that the
/// result does not depend on the thread count.
fn closer(data: &[f64], d: usize, centres: &[&[f64]], closest: &[f64], out: &mut [f64]) -> Vec<f64> {
    let t = centres.len();
    out.par_chunks_mut(CHUNK * t).zip(closest.par_chunks(CHUNK)).enumerate().for_each(|(chunk, (out, old))| {
        for (o, (slots, &prev)) in out.chunks_mut(t).zip(old).enumerate() {
            let i = chunk * CHUNK + o;
            let point = &data[i * d..(i + 1) * d];
            for (slot, centre) in slots.iter_mut().zip(centres) {
                *slot = prev.min(sq_dist(point, centre));
            }
        }
    });
    let mut pots = vec![0.0; t];
    for slots in out.chunks(t) {
        pots.iter_mut().zip(slots).for_each(|(p, &v)| *p += v);
    }
    pots
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
    let mut potential = closer(data, d, &[row(first)], &vec![f64::INFINITY; n], &mut closest)[0];
    let mut cumulative = vec![0.0; n];
    let mut candidates = vec![0.0; n * trials];
    for c in 1..k {
        let mut acc = 0.0;
        for (cum, &dd) in cumulative.iter_mut().zip(&closest) {
            acc += dd;
            *cum = acc;
        }
        // The draws depend only on the potential, so all candidates are drawn first, then scored in one pass.
        let ids: Vec<usize> = (0..trials)
            .map(|_| {
                let target = rng.random::<f64>() * potential;
                cumulative.partition_point(|&v| v < target).min(n - 1)
            })
            .collect();
        let rows: Vec<&[f64]> = ids.iter().map(|&id| row(id)).collect();
        let pots = closer(data, d, &rows, &closest, &mut candidates);
        // The lowest potential; the earliest candidate among equals.
        let best = (1..trials).fold(0, |b, t| if pots[t] < pots[b] { t } else { b });
        centres.row_mut(c).assign(&x.row(ids[best]));
        closest.iter_mut().zip(candidates.chunks(trials)).for_each(|(c, slots)| *c = slots[best]);
        potential = pots[best];
    }
    centres
}
