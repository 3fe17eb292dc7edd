//! The label audit finds planted label flips.

use sgm_cluster::audit_labels;
use sgm_core::Embeddings;

#[test]
fn planted_label_flips_rank_first() {
    // Four tight groups of 30 in 2-d; four points, one per group, get the label of the next group.
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..120 {
        let g = i % 4;
        let (cx, cy) = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)][g];
        x.extend([cx + (i as f32 * 0.77).sin(), cy + (i as f32 * 1.31).cos()]);
        labels.push(g as u32);
    }
    let flipped = [3usize, 17, 42, 80];
    for &i in &flipped {
        labels[i] = (labels[i] + 1) % 4;
    }
    let emb = Embeddings::new(x, 120, 2, "groups").unwrap();
    let audit = audit_labels(&emb, &labels, 11).unwrap();
    assert_eq!(audit.len(), 120);
    let mut top: Vec<usize> = audit[..4].iter().map(|s| s.index).collect();
    top.sort_unstable();
    assert_eq!(top, flipped);
    for s in &audit[..4] {
        assert_eq!(s.disagreement, 1.0);
        assert_eq!(s.neighbour_label, (s.label + 3) % 4, "the neighbours vote for the true label");
    }
    assert!(audit[4..].iter().all(|s| s.disagreement <= 1.0 / 11.0 + 1e-12), "clean points see at most one flip");
    assert!(audit_labels(&emb, &labels[..10], 11).is_err());
    assert!(audit_labels(&emb, &labels, 0).is_err());
}
