//! Metrics against scikit-learn 1.9.1 (and a brute-force numpy reference for retrieval, which scikit-learn lacks).
//!
//! The Python that produced every expected number:
//! ```python
//! import numpy as np
//! from sklearn.metrics import precision_recall_fscore_support, accuracy_score, f1_score
//! from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_mutual_info_score as ami
//! from sklearn.neighbors import KNeighborsClassifier
//! yt = [0,0,0,1,1,2,2,2,2,3,3,0,1,2,3,3]
//! yp = [0,1,0,1,2,2,2,0,2,3,1,0,1,2,3,4]
//! p,r,_,_ = precision_recall_fscore_support(yt, yp, average="macro", zero_division=0)
//! print(accuracy_score(yt,yp), p, r, 2*p*r/(p+r), f1_score(yt,yp,average="macro",zero_division=0))
//! a = [0,0,0,1,1,1,2,2,2,2,5,5]; b = [1,1,0,0,2,2,2,2,3,3,3,3]
//! print(nmi(a,b), ami(a,b))
//! from sklearn.metrics import confusion_matrix; print(confusion_matrix(yt, yp)[3])
//! def data(n, d, phase, nclass):
//!     i = np.arange(n)[:,None]; j = np.arange(d)[None,:]
//!     lab = (np.arange(n) * 7 % nclass)
//!     off = np.cos(lab[:,None] * 1.7 + j * 0.9) * 0.6
//!     x = (off + np.sin(1.3*i*(j+1) + 0.7*j + phase)).astype(np.float32)
//!     return x, lab
//! Xtr, ytr = data(300, 6, 0.0, 5); Xte, yte = data(80, 6, 0.5, 5)
//! pred = KNeighborsClassifier(n_neighbors=11).fit(Xtr.astype(np.float64), ytr).predict(Xte.astype(np.float64))
//! p,r,_,_ = precision_recall_fscore_support(yte, pred, average="macro", zero_division=0)
//! print(accuracy_score(yte,pred), p, r, 2*p*r/(p+r), f1_score(yte,pred,average="macro",zero_division=0))
//! def retrieval(X, y, groups):          # Recall@K, Acc@K; query excluded; ties by index
//!     D = ((X[:,None,:]-X[None,:,:])**2).sum(-1); out = {}
//!     for K in (1,2,4,8):
//!         rec = acc = 0.0
//!         for q in range(len(X)):
//!             mask = np.ones(len(X), bool); mask[q] = False
//!             if groups is not None: mask &= groups != groups[q]
//!             idx = np.where(mask)[0]; order = idx[np.lexsort((idx, D[q, idx]))][:K]
//!             same = (y[order] == y[q]).sum(); rec += same > 0; acc += same / K
//!         out[K] = (rec/len(X), acc/len(X))
//!     return out
//! print(retrieval(Xte.astype(np.float64), yte, None))
//! X = np.concatenate([Xte, Xte[:20]]).astype(np.float64); y = np.concatenate([yte, yte[:20]])
//! print(retrieval(X, y, None)); print(retrieval(X, y, np.concatenate([np.arange(80), np.arange(20)])))
//! ```

use sgm_core::{ami, classification_report, knn_classify, nmi, retrieval_scores, Embeddings};

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

/// The formula data of the Python above ([`sgm_core::testing::formula_data`]).
fn data(n: usize, d: usize, phase: f64, nclass: usize) -> (Embeddings, Vec<u32>) {
    let (x, labels) = sgm_core::testing::formula_data(n, d, phase, nclass);
    (Embeddings::new(x, n, d, "formula data").unwrap(), labels)
}

#[test]
fn classification_report_matches_sklearn() {
    let yt = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 0, 1, 2, 3, 3];
    let yp = [0, 1, 0, 1, 2, 2, 2, 0, 2, 3, 1, 0, 1, 2, 3, 4];
    let r = classification_report(&yt, &yp).unwrap();
    close(r.accuracy, 0.6875);
    close(r.precision, 0.61);
    close(r.recall, 0.5433333333333333);
    close(r.f1, 0.5747398843930636);
    close(r.macro_f1, 0.5576190476190476);
    // Class 4 is predicted but never true: it is scored (recall 0), as scikit-learn does.
    assert_eq!(r.per_class.len(), 5);
    assert_eq!(r.confusion[3], vec![0, 1, 0, 2, 1]); // confusion_matrix(yt, yp)[3]
}

#[test]
fn nmi_and_ami_match_sklearn() {
    let a = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 5, 5];
    let b = [1, 1, 0, 0, 2, 2, 2, 2, 3, 3, 3, 3];
    close(nmi(&a, &b).unwrap(), 0.5806993761701019);
    close(ami(&a, &b).unwrap(), 0.32759394211426185);
}

#[test]
fn knn_classification_matches_sklearn() {
    let (train, ytr) = data(300, 6, 0.0, 5);
    let (test, yte) = data(80, 6, 0.5, 5);
    let pred = knn_classify(&train, &ytr, &test, 11).unwrap();
    let want: [u32; 80] = [
        0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 0, 1, 4, 0, 2, 0, 2, 3, 4, 1, 0, 1, 0, 0, 2, 0, 1, 0, 0, 2, 1, 1, 0, 0, 2,
        0, 1, 3, 4, 2, 4, 4, 0, 0, 2, 4, 1, 0, 0, 2, 1, 1, 3, 0, 1, 4, 1, 3, 4, 1, 4, 1, 3, 4, 2, 0, 4, 3, 0, 2, 4, 1,
        3, 0, 2, 0, 1, 0,
    ];
    assert_eq!(pred, want);
    let r = classification_report(&yte, &pred).unwrap();
    close(r.accuracy, 0.675);
    close(r.precision, 0.7261587301587301);
    close(r.recall, 0.675);
    close(r.f1, 0.699645418191293);
    close(r.macro_f1, 0.6806810138689622);
}

fn check_retrieval(emb: &Embeddings, y: &[u32], groups: Option<&[u32]>, want: [(f64, f64); 4]) {
    let r = retrieval_scores(emb, y, &[1, 2, 4, 8], groups).unwrap();
    assert_eq!(r.ks, vec![1, 2, 4, 8]);
    for (i, (rec, acc)) in want.into_iter().enumerate() {
        close(r.recall_at_k[i], rec);
        close(r.acc_at_k[i], acc);
    }
}

#[test]
fn retrieval_matches_numpy_reference() {
    let (test, yte) = data(80, 6, 0.5, 5);
    check_retrieval(&test, &yte, None, [(0.375, 0.375), (0.6625, 0.39375), (0.9, 0.403125), (0.9875, 0.3421875)]);
}

#[test]
fn retrieval_with_duplicate_groups_matches_numpy_reference() {
    let (test, yte) = data(80, 6, 0.5, 5);
    let mut x = test.as_slice().to_vec();
    x.extend_from_slice(&test.as_slice()[..20 * 6]);
    let emb = Embeddings::new(x, 100, 6, "with duplicates").unwrap();
    let y: Vec<u32> = yte.iter().chain(&yte[..20]).copied().collect();
    check_retrieval(&emb, &y, None, [(0.63, 0.63), (0.77, 0.5), (0.89, 0.475), (1.0, 0.41125)]);
    let groups: Vec<u32> = (0..80).chain(0..20).collect();
    check_retrieval(&emb, &y, Some(&groups), [(0.37, 0.37), (0.59, 0.4), (0.87, 0.445), (0.98, 0.37625)]);
}
