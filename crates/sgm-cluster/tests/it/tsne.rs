//! t-SNE keeps separated groups apart, is deterministic, and follows the paper's first-4000-points rule.

use sgm_cluster::{kmeans, pca_init, tsne_2d, KMeansConfig, KMeansInitMethod, TsneConfig};
use sgm_core::{nmi, Embeddings};

/// Three groups of 60 points in 10-d, centres 8 apart, a formula wobble.
fn groups(n: usize) -> (Embeddings, Vec<u32>) {
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let g = i % 3;
        for j in 0..10 {
            let centre = if j == g { 8.0 } else { 0.0 };
            x.push(centre + ((i * (j + 3)) as f32 * 0.61).sin());
        }
        labels.push(g as u32);
    }
    (Embeddings::new(x, n, 10, "groups").unwrap(), labels)
}

#[test]
fn tsne_separates_groups_and_is_deterministic() {
    let (emb, labels) = groups(180);
    let cfg = TsneConfig { epochs: 300, ..TsneConfig::default() };
    let y = tsne_2d(&emb, &cfg).unwrap();
    assert_eq!(y.len(), 180 * 2);
    assert!(y.iter().all(|v| v.is_finite()));
    let y2 = Embeddings::new(y.clone(), 180, 2, "t-SNE").unwrap();
    let km = KMeansConfig { init: KMeansInitMethod::KMeansPlusPlus { n_runs: 3 }, ..KMeansConfig::paper(3, 1) };
    let found = kmeans(&y2, &km, None).unwrap().assignments;
    assert_eq!(nmi(&labels, &found).unwrap(), 1.0, "groups stay apart in 2-d");
    assert_eq!(y, tsne_2d(&emb, &cfg).unwrap(), "PCA start and one thread: bit-identical runs");
    // On rayon's pool the bits may differ, the groups do not.
    let parallel = tsne_2d(&emb, &TsneConfig { deterministic: false, ..cfg.clone() }).unwrap();
    let found = kmeans(&Embeddings::new(parallel, 180, 2, "parallel").unwrap(), &km, None).unwrap().assignments;
    assert_eq!(nmi(&labels, &found).unwrap(), 1.0);
    // Exact t-SNE (theta 0) separates them too.
    let exact = tsne_2d(&emb, &TsneConfig { theta: 0.0, ..cfg.clone() }).unwrap();
    let found = kmeans(&Embeddings::new(exact, 180, 2, "exact").unwrap(), &km, None).unwrap().assignments;
    assert_eq!(nmi(&labels, &found).unwrap(), 1.0);
}

#[test]
fn only_the_first_max_points_are_embedded_and_bad_params_fail() {
    let (emb, _) = groups(150);
    let y = tsne_2d(&emb, &TsneConfig { max_points: 100, epochs: 50, ..TsneConfig::default() }).unwrap();
    assert_eq!(y.len(), 200);
    let err = tsne_2d(&emb, &TsneConfig { max_points: 40, ..TsneConfig::default() }).unwrap_err();
    assert!(err.to_string().contains("needs at least"), "{err}");
    assert!(tsne_2d(&emb, &TsneConfig { perplexity: 0.0, ..TsneConfig::default() }).is_err());
}

#[test]
fn pca_init_is_the_leading_component_scaled_to_1e_minus_4() {
    // Points along the direction (3, 4) with a small orthogonal wobble.
    let x = ndarray::Array2::from_shape_fn((50, 2), |(i, j)| {
        let t = i as f64 - 24.5;
        let w = 0.01 * (i as f64).sin();
        if j == 0 {
            0.6 * t - 0.8 * w
        } else {
            0.8 * t + 0.6 * w
        }
    });
    let y = pca_init(&x).unwrap();
    let first: Vec<f64> = y.iter().step_by(2).map(|&v| v as f64).collect();
    let mean = first.iter().sum::<f64>() / 50.0;
    let std = (first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 50.0).sqrt();
    assert!((std - 1e-4).abs() < 1e-9, "std {std}");
    // The first coordinate is monotone in t (the leading direction), the second much smaller.
    assert!(first.windows(2).all(|w| w[1] > w[0]));
    assert!(y.iter().skip(1).step_by(2).all(|v| v.abs() < 1e-6));
}
