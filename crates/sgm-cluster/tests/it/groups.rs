//! Medoids and top-k members of groups.

use sgm_cluster::{gmm, groups_with_medoids, kmeans, CovarianceType, GmmConfig, KMeansConfig, KMeansInitMethod};
use sgm_core::Embeddings;

fn points() -> (Embeddings, Vec<u32>) {
    // Four groups of 25 around separated centres, a wobble from a formula.
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..100 {
        let g = i % 4;
        let (cx, cy) = [(0.0, 0.0), (8.0, 0.0), (0.0, 8.0), (8.0, 8.0)][g];
        x.extend([cx + (i as f32 * 0.77).sin() * 1.5, cy + (i as f32 * 1.31).cos() * 1.5, (i as f32 * 0.13).sin()]);
        labels.push(if i == 4 { 1 } else { g as u32 }); // one planted label error
    }
    (Embeddings::new(x, 100, 3, "points").unwrap(), labels)
}

fn dist(emb: &Embeddings, i: usize, c: &[f64]) -> f64 {
    emb.as_slice()[i * 3..i * 3 + 3].iter().zip(c).map(|(&a, &b)| (a as f64 - b).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn medoid_is_the_member_nearest_the_mean_and_top_is_sorted_by_distance_to_it() {
    let (emb, labels) = points();
    let cfg = KMeansConfig { init: KMeansInitMethod::KMeansPlusPlus { n_runs: 4 }, ..KMeansConfig::paper(4, 3) };
    let c = kmeans(&emb, &cfg, None).unwrap();
    let groups = groups_with_medoids(&emb, &c.assignments, 6, Some(&labels)).unwrap();
    assert_eq!(groups.iter().map(|g| g.size).sum::<usize>(), 100);
    for g in &groups {
        assert!(g.members.contains(&g.medoid));
        let mut mean = [0.0f64; 3];
        for &i in &g.members {
            (0..3).for_each(|j| mean[j] += emb.as_slice()[i * 3 + j] as f64 / g.size as f64);
        }
        for &i in &g.members {
            assert!(dist(&emb, g.medoid, &mean) <= dist(&emb, i, &mean) + 1e-12);
        }
        assert_eq!(g.top[0], g.medoid);
        assert_eq!(g.top.len(), 6.min(g.size));
        assert!(g.top_distances.windows(2).all(|w| w[0] <= w[1]));
        let medoid: Vec<f64> = emb.as_slice()[g.medoid * 3..g.medoid * 3 + 3].iter().map(|&v| v as f64).collect();
        let cutoff = *g.top_distances.last().unwrap();
        let closer = g.members.iter().filter(|&&i| dist(&emb, i, &medoid) < cutoff - 1e-12).count();
        assert!(closer < g.top.len(), "a member outside top is nearer than one inside");
        assert!(g.top.iter().all(|i| g.members.contains(i)));
    }
    // The planted error lowers exactly one group's purity to 24/25.
    let mut purities: Vec<f64> = groups.iter().map(|g| g.purity.unwrap()).collect();
    purities.sort_by(f64::total_cmp);
    assert_eq!(purities, [0.96, 1.0, 1.0, 1.0]);
}

#[test]
fn gmm_groups_cover_every_point_largest_first_and_unused_ids_are_left_out() {
    let (emb, _) = points();
    let g = gmm(&emb, &GmmConfig::new(4, CovarianceType::Spherical, 1)).unwrap();
    let groups = groups_with_medoids(&emb, &g.assignments, 3, None).unwrap();
    assert_eq!(groups.iter().map(|g| g.size).sum::<usize>(), 100);
    assert!(groups.windows(2).all(|w| w[0].size >= w[1].size));
    assert!(groups_with_medoids(&emb, &g.assignments[..10], 3, None).is_err());
    // Cluster ids need not be contiguous: ids 0 and 7 give two groups.
    let sparse: Vec<u32> = (0..100).map(|i| if i < 30 { 7 } else { 0 }).collect();
    let two = groups_with_medoids(&emb, &sparse, 3, None).unwrap();
    assert_eq!(two.iter().map(|g| (g.id, g.size)).collect::<Vec<_>>(), [(0, 70), (7, 30)]);
    assert!(groups_with_medoids(&emb, &g.assignments, 0, None).is_err());
}
