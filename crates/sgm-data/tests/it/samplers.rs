//! Properties of the training samplers: balance, validity, determinism per (seed, epoch).

use sgm_data::sampler::{BalancedSampler, StratifiedBatchSampler, TripletSampler};

/// An imbalanced label vector like FER+: class sizes 500, 300, 120, 40, 7, 3 (labels 0..6 with a gap at 4).
fn imbalanced() -> Vec<u32> {
    let sizes = [(0u32, 500usize), (1, 300), (2, 120), (3, 40), (5, 7), (6, 3)];
    let mut v: Vec<u32> = sizes.iter().flat_map(|&(l, n)| std::iter::repeat_n(l, n)).collect();
    // Interleave so that class members are not contiguous.
    v.reverse();
    v.rotate_left(17);
    v
}

fn count(labels: &[u32], idx: &[usize], label: u32) -> usize {
    idx.iter().filter(|&&i| labels[i] == label).count()
}

#[test]
fn stratified_batches_have_exactly_s_of_each_class() {
    let labels = imbalanced();
    let s = StratifiedBatchSampler::all_classes(&labels, 30, 1).unwrap();
    assert_eq!(s.num_classes(), 6);
    assert_eq!(s.batch_size(), 180);
    assert_eq!(s.batches_per_epoch(), labels.len().div_ceil(180));
    for batch in s.epoch(0) {
        assert_eq!(batch.len(), 180);
        for l in [0, 1, 2, 3, 5, 6] {
            assert_eq!(count(&labels, &batch, l), 30, "label {l}");
        }
        // Classes with at least S images never repeat an image within a batch.
        for l in [0u32, 1, 2, 3] {
            let mut m: Vec<usize> = batch.iter().copied().filter(|&i| labels[i] == l).collect();
            m.sort_unstable();
            m.dedup();
            assert_eq!(m.len(), 30, "label {l} repeats an image");
        }
        // A 7-image class contributes all 7 images, the rest drawn with replacement.
        let small: std::collections::HashSet<usize> = batch.iter().copied().filter(|&i| labels[i] == 5).collect();
        assert_eq!(small.len(), 7);
    }
}

#[test]
fn stratified_uses_large_classes_evenly_within_an_epoch() {
    let labels: Vec<u32> = (0..400).map(|i| (i % 2) as u32).collect();
    let s = StratifiedBatchSampler::new(&labels, 2, 20, 5).unwrap().with_batches_per_epoch(10);
    let mut seen = vec![0usize; 400];
    for b in s.epoch(0) {
        for i in b {
            seen[i] += 1;
        }
    }
    // 10 batches × 20 per class = 200 = the class size: each image exactly once.
    assert!(seen.iter().all(|&c| c == 1), "{:?}", &seen[..20]);
}

#[test]
fn stratified_with_fewer_classes_per_batch_and_subclass_labels() {
    // Sub-class labels: 8 classes × 3 sub-classes, sparse label values.
    let labels: Vec<u32> = (0..24 * 50).map(|i| ((i % 24) * 10) as u32).collect();
    let s = StratifiedBatchSampler::new(&labels, 8, 4, 2).unwrap();
    let mut class_hits = std::collections::HashMap::new();
    for batch in s.epoch(1) {
        assert_eq!(batch.len(), 32);
        let mut present: Vec<u32> = batch.iter().map(|&i| labels[i]).collect();
        present.dedup();
        assert_eq!(present.len(), 8, "8 distinct classes, listed class by class");
        for l in &present {
            assert_eq!(count(&labels, &batch, *l), 4);
            *class_hits.entry(*l).or_insert(0usize) += 1;
        }
    }
    assert_eq!(class_hits.len(), 24, "every sub-class is drawn at some point");
}

#[test]
fn samplers_are_deterministic_per_seed_and_epoch() {
    let labels = imbalanced();
    let a = StratifiedBatchSampler::all_classes(&labels, 8, 7).unwrap();
    let b = StratifiedBatchSampler::all_classes(&labels, 8, 7).unwrap();
    let c = StratifiedBatchSampler::all_classes(&labels, 8, 8).unwrap();
    assert_eq!(a.epoch(3), b.epoch(3));
    assert_ne!(a.epoch(3), a.epoch(4));
    assert_ne!(a.epoch(3), c.epoch(3));

    let a = BalancedSampler::new(&labels, 7).unwrap();
    assert_eq!(a.epoch(2), BalancedSampler::new(&labels, 7).unwrap().epoch(2));
    assert_ne!(a.epoch(2), a.epoch(3));
    assert_ne!(a.epoch(2), BalancedSampler::new(&labels, 9).unwrap().epoch(2));

    let a = TripletSampler::new(&labels, 500, 7).unwrap();
    assert_eq!(a.epoch(0), TripletSampler::new(&labels, 500, 7).unwrap().epoch(0));
    assert_ne!(a.epoch(0), a.epoch(1));
    assert_ne!(a.epoch(0), TripletSampler::new(&labels, 500, 8).unwrap().epoch(0));
}

#[test]
fn balanced_sampler_draws_classes_uniformly() {
    let labels = imbalanced();
    let s = BalancedSampler::new(&labels, 11).unwrap().with_num_samples(60_000);
    let draws = s.epoch(0);
    assert_eq!(draws.len(), 60_000);
    let expected = 60_000.0 / 6.0;
    for l in [0u32, 1, 2, 3, 5, 6] {
        let n = count(&labels, &draws, l) as f64;
        assert!((n - expected).abs() < 0.05 * expected, "label {l}: {n} draws, expected about {expected}");
    }
    // Default epoch length is the data set size, and weights are 1/frequency.
    let d = BalancedSampler::new(&labels, 11).unwrap();
    assert_eq!(d.epoch(0).len(), labels.len());
    let i3 = labels.iter().position(|&l| l == 6).unwrap();
    assert!((d.weights()[i3] - 1.0 / 3.0).abs() < 1e-12);
    let batches = d.batches(0, 128);
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), labels.len());
    assert!(batches[..batches.len() - 1].iter().all(|b| b.len() == 128));
}

#[test]
fn triplets_are_valid_and_spread_over_classes() {
    let labels = imbalanced();
    let s = TripletSampler::new(&labels, 6000, 3).unwrap();
    let ts = s.epoch(0);
    assert_eq!(ts.len(), 6000);
    let mut per_class = std::collections::HashMap::new();
    for t in &ts {
        assert_eq!(labels[t.anchor], labels[t.positive]);
        assert_ne!(t.anchor, t.positive);
        assert_ne!(labels[t.anchor], labels[t.negative]);
        *per_class.entry(labels[t.anchor]).or_insert(0usize) += 1;
    }
    assert_eq!(per_class.len(), 6);
    assert!(per_class.values().all(|&n| n == 1000), "{per_class:?}");
    let b = s.batches(0, 240);
    assert_eq!(b.len(), 6000usize.div_ceil(240));
    assert_eq!(b.concat(), ts);
}

#[test]
fn triplet_sampler_rejects_degenerate_labels() {
    assert!(TripletSampler::new(&[0, 0, 0], 10, 0).is_err(), "one class");
    assert!(TripletSampler::new(&[0, 1, 2], 10, 0).is_err(), "no class with two images");
    assert!(TripletSampler::new(&[0, 0, 1], 0, 0).is_err(), "zero triplets");
    // A singleton class can still serve as a negative.
    let s = TripletSampler::new(&[0, 0, 1], 20, 0).unwrap();
    assert!(s.epoch(0).iter().all(|t| t.negative == 2));
}

mod properties {
    use super::count;
    use proptest::prelude::*;
    use sgm_data::sampler::{StratifiedBatchSampler, TripletSampler};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any label vector: every stratified batch has exactly S images of each of its C distinct classes, and
        /// every index is in range.
        #[test]
        fn stratified_invariants(labels in prop::collection::vec(0u32..12, 1..300), s in 1usize..9, seed in any::<u64>(), c_frac in 0.0f64..1.0) {
            let k = { let mut u = labels.clone(); u.sort_unstable(); u.dedup(); u.len() };
            let c = 1 + ((k - 1) as f64 * c_frac) as usize;
            let sampler = StratifiedBatchSampler::new(&labels, c, s, seed).unwrap();
            for batch in sampler.epoch(seed % 5) {
                prop_assert_eq!(batch.len(), c * s);
                prop_assert!(batch.iter().all(|&i| i < labels.len()));
                let mut present: Vec<u32> = batch.iter().map(|&i| labels[i]).collect();
                present.sort_unstable();
                present.dedup();
                prop_assert_eq!(present.len(), c);
                for l in present {
                    prop_assert_eq!(count(&labels, &batch, l), s);
                }
            }
        }

        /// Any label vector with a usable class: every triplet is valid.
        #[test]
        fn triplet_invariants(labels in prop::collection::vec(0u32..6, 3..200), seed in any::<u64>()) {
            match TripletSampler::new(&labels, 300, seed) {
                Ok(sampler) => {
                    for t in sampler.epoch(1) {
                        prop_assert_eq!(labels[t.anchor], labels[t.positive]);
                        prop_assert_ne!(t.anchor, t.positive);
                        prop_assert_ne!(labels[t.anchor], labels[t.negative]);
                    }
                }
                Err(_) => {
                    let mut u = labels.clone();
                    u.sort_unstable();
                    let classes = { let mut d = u.clone(); d.dedup(); d.len() };
                    let has_pair = u.windows(2).any(|w| w[0] == w[1]);
                    prop_assert!(classes < 2 || !has_pair);
                }
            }
        }
    }
}
