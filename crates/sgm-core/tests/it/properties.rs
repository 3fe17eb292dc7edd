//! Property tests of the metrics and the kNN search.

use proptest::prelude::*;
use sgm_core::{knn_search, nmi, retrieval_scores, Embeddings, Exclusion};

fn labelings() -> impl Strategy<Value = (Vec<u32>, Vec<u32>)> {
    (2usize..60).prop_flat_map(|n| (prop::collection::vec(0u32..6, n), prop::collection::vec(0u32..6, n)))
}

proptest! {
    #[test]
    fn nmi_is_symmetric_and_in_unit_interval((a, b) in labelings()) {
        let ab = nmi(&a, &b).unwrap();
        let ba = nmi(&b, &a).unwrap();
        prop_assert!((ab - ba).abs() < 1e-12);
        prop_assert!((-1e-12..=1.0 + 1e-12).contains(&ab));
    }

    #[test]
    fn nmi_of_a_relabelled_copy_is_one((a, _) in labelings()) {
        // A permutation of the label names is a perfect clustering.
        let b: Vec<u32> = a.iter().map(|&x| (x * 5 + 3) % 7 + 10).collect();
        prop_assert!((nmi(&a, &b).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn recall_at_k_is_monotone_and_bounded(
        x in prop::collection::vec(-3.0f32..3.0, 40 * 3),
        y in prop::collection::vec(0u32..4, 40),
    ) {
        let emb = Embeddings::new(x, 40, 3, "random").unwrap();
        let r = retrieval_scores(&emb, &y, &[1, 2, 4, 8, 16], None).unwrap();
        for w in r.recall_at_k.windows(2) {
            prop_assert!(w[0] <= w[1] + 1e-12);
        }
        prop_assert!(r.recall_at_k.iter().chain(&r.acc_at_k).all(|v| (0.0..=1.0).contains(v)));
        prop_assert!((r.recall_at_k[0] - r.acc_at_k[0]).abs() < 1e-12); // the two agree at K = 1
    }

    #[test]
    fn knn_search_equals_a_full_sort(
        x in prop::collection::vec(-2.0f32..2.0, 50 * 4),
        k in 1usize..12,
    ) {
        let emb = Embeddings::new(x.clone(), 50, 4, "random").unwrap();
        let nn = knn_search(&emb, &emb, k, Exclusion::SelfMatch).unwrap();
        for q in 0..50 {
            let mut all: Vec<(f64, u32)> = (0..50u32)
                .filter(|&j| j as usize != q)
                .map(|j| {
                    let d: f64 = (0..4).map(|c| (x[q * 4 + c] as f64 - x[j as usize * 4 + c] as f64).powi(2)).sum();
                    (d, j)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let want: Vec<u32> = all.iter().take(k).map(|p| p.1).collect();
            prop_assert_eq!(nn.indices(q), &want[..]);
        }
    }
}

#[test]
fn ties_go_to_the_lower_index() {
    // Four identical points: every neighbour list is in index order.
    let emb = Embeddings::new(vec![1.0; 8], 4, 2, "ties").unwrap();
    let nn = knn_search(&emb, &emb, 2, Exclusion::SelfMatch).unwrap();
    assert_eq!(nn.indices(0), &[1, 2]);
    assert_eq!(nn.indices(3), &[0, 1]);
    assert_eq!(nn.distances(3), &[0.0, 0.0]);
}

#[test]
fn embeddings_reject_nan_with_its_row() {
    let err = Embeddings::new(vec![0.0, 1.0, f32::NAN, 2.0], 2, 2, "x.npy").unwrap_err().to_string();
    assert_eq!(err, "non-finite value (NaN or inf) in x.npy at row 1");
}

#[test]
fn search_spans_several_database_blocks() {
    // 9000 rows > one 4096-row block: the nearest neighbour of a copy of row 8500 is row 8500.
    let n = 9000;
    let x: Vec<f32> = (0..n * 2).map(|i| ((i as f32) * 0.618).sin() * 100.0).collect();
    let db = Embeddings::new(x.clone(), n, 2, "db").unwrap();
    let q = Embeddings::new(x[8500 * 2..8501 * 2].to_vec(), 1, 2, "q").unwrap();
    let nn = knn_search(&q, &db, 1, Exclusion::None).unwrap();
    assert_eq!(nn.indices(0), &[8500]);
}
