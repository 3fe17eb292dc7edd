//! Sub-class splitting (Algorithm 2) on formula data with planted sub-classes.

use sgm_cluster::{
    cluster_within_classes, relabel_contiguous, split_subclasses, subclasses_per_class, within_class_nmi,
    CovarianceType, SplitMethod,
};
use sgm_core::Embeddings;

/// Two classes of 90 points (class 1 has 60), each made of 3 planted sub-blobs in 3-d.
fn planted() -> (Embeddings, Vec<u32>, Vec<u32>) {
    let (mut x, mut classes, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..150usize {
        let class = u32::from(i >= 90);
        let sub = (i % 3) as u32;
        let (cx, cy) = [(0.0, 0.0), (6.0, 0.0), (0.0, 6.0)][sub as usize];
        let shift = 30.0 * class as f32;
        x.extend([cx + shift + (i as f32 * 0.91).sin(), cy + (i as f32 * 1.77).cos(), (i as f32 * 0.3).sin()]);
        classes.push(class);
        truth.push(class * 3 + sub);
    }
    (Embeddings::new(x, 150, 3, "planted").unwrap(), classes, truth)
}

fn is_contiguous_by_class(classes: &[u32], sub: &[u32]) {
    let k = *sub.iter().max().unwrap() as usize + 1;
    let mut class_of = vec![None; k];
    for (&c, &s) in classes.iter().zip(sub) {
        assert!(class_of[s as usize].is_none_or(|x| x == c), "sub-class {s} spans two classes");
        class_of[s as usize] = Some(c);
    }
    let order: Vec<u32> = class_of.iter().map(|c| c.expect("every id in 0..K is used")).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "ids are ordered by class: {order:?}");
}

#[test]
fn gmm_split_recovers_planted_subclasses() {
    let (emb, classes, truth) = planted();
    let method = SplitMethod::Gmm { components: 3, covariance: CovarianceType::Full };
    let sub = split_subclasses(&emb, &classes, &classes, &method, 1).unwrap();
    is_contiguous_by_class(&classes, &sub);
    assert_eq!(subclasses_per_class(&classes, &sub).into_values().collect::<Vec<_>>(), [3, 3]);
    for (c, n, nmi) in within_class_nmi(&classes, &truth, &sub).unwrap() {
        assert!(nmi > 0.99, "class {c} ({n} points): NMI {nmi}");
    }
    // min(n_c / 10, k): with a cap of 20 the 60-point class gets 6 components and the 90-point one 9.
    let many = SplitMethod::Gmm { components: 20, covariance: CovarianceType::Diagonal };
    let sub = split_subclasses(&emb, &classes, &classes, &many, 1).unwrap();
    assert_eq!(subclasses_per_class(&classes, &sub).into_values().collect::<Vec<_>>(), [9, 6]);
}

#[test]
fn binary_kmeans_doubles_large_subclasses_and_skips_small_ones() {
    let (emb, classes, _) = planted();
    let method = SplitMethod::BinaryKMeans { min_size: 61 };
    let level1 = split_subclasses(&emb, &classes, &classes, &method, 3).unwrap();
    // Class 0 (90 points) is split, class 1 (60 points) is under min_size.
    assert_eq!(subclasses_per_class(&classes, &level1).into_values().collect::<Vec<_>>(), [2, 1]);
    is_contiguous_by_class(&classes, &level1);
    let level2 = split_subclasses(&emb, &classes, &level1, &SplitMethod::BinaryKMeans { min_size: 2 }, 3).unwrap();
    assert_eq!(subclasses_per_class(&classes, &level2).into_values().collect::<Vec<_>>(), [4, 2]);
    is_contiguous_by_class(&classes, &level2);
    // Nested: every level-2 sub-class lies inside one level-1 sub-class.
    for s in 0..6 {
        let parents: std::collections::BTreeSet<u32> =
            (0..150).filter(|&i| level2[i] == s).map(|i| level1[i]).collect();
        assert_eq!(parents.len(), 1);
    }
    assert!(split_subclasses(&emb, &classes, &classes, &SplitMethod::BinaryKMeans { min_size: 1 }, 3).is_err());
}

#[test]
fn relabelling_and_baseline() {
    assert_eq!(relabel_contiguous(&[1, 0, 1, 0], &[5, 9, 5, 9], &[1, 0, 0, 0]), [2, 0, 1, 0]);
    let (emb, classes, truth) = planted();
    let parts = subclasses_per_class(&classes, &truth);
    let base = cluster_within_classes(&emb, &classes, &parts, 2).unwrap();
    assert!(within_class_nmi(&classes, &truth, &base).unwrap().iter().all(|&(_, _, v)| v > 0.99));
    assert!(within_class_nmi(&classes, &truth[..3], &base).is_err());
}
