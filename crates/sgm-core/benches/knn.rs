//! Evaluation speed: kNN classification and retrieval on embeddings of the size of FER+ (about 28k train,
//! 3.5k test, dimension 64), against a naive baseline run in the same process (full distance rows, full sort).
//!
//! For scikit-learn's time on the same shapes see `bench/knn_sklearn.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sgm_core::{knn_classify, retrieval_scores, Embeddings};

fn blobs(n: usize, d: usize, classes: u32, seed: u64) -> (Embeddings, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..classes as usize * d).map(|i| ((i * 7919) % 13) as f32 * 0.3).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..classes)).collect();
    let x = labels
        .iter()
        .flat_map(|&c| (0..d).map(|j| centres[c as usize * d + j] + rng.random_range(-2.0f32..2.0)).collect::<Vec<_>>())
        .collect();
    (Embeddings::new(x, n, d, "bench").unwrap(), labels)
}

/// The naive reference: every distance of a query, then a full sort.
fn naive_knn(train: &Embeddings, labels: &[u32], test: &Embeddings, k: usize) -> Vec<u32> {
    (0..test.rows())
        .map(|q| {
            let mut d: Vec<(f32, u32)> = (0..train.rows())
                .map(|i| (test.row(q).iter().zip(train.row(i)).map(|(a, b)| (a - b) * (a - b)).sum(), i as u32))
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut votes = [0usize; 8];
            for &(_, i) in &d[..k] {
                votes[labels[i as usize] as usize] += 1;
            }
            votes.iter().enumerate().rev().max_by_key(|&(_, &v)| v).unwrap().0 as u32
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (train, ytr) = blobs(28_000, 64, 8, 1);
    let (test, yte) = blobs(3_500, 64, 8, 2);
    let mut g = c.benchmark_group("eval-28k-3.5k-d64");
    g.sample_size(10);
    g.bench_function("knn_classify_k11", |b| b.iter(|| knn_classify(&train, &ytr, &test, 11).unwrap()));
    g.bench_function("knn_classify_k11_naive", |b| b.iter(|| naive_knn(&train, &ytr, &test, 11)));
    g.bench_function("retrieval_recall_at_1_2_4_8", |b| {
        b.iter(|| retrieval_scores(&test, &yte, &[1, 2, 4, 8], None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
