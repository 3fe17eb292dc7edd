"""Embeddings in evaluation mode and the paper's kNN scores (sgm's `Trainer::validate` and test report).

kNN: K=11, uniform weights, Euclidean distance (scikit-learn's KNeighborsClassifier defaults); ties of the vote go
to the smallest label, as in sgm. Scores as sgm's `classification_report`: accuracy, macro precision and macro
recall over the labels present in the truth or the predictions (zero_division=0), paper-F1 = 2PR / (P + R) of
those macro values, and the ordinary macro-F1 for reference.
"""
import numpy as np
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.neighbors import KNeighborsClassifier

TAG = 0x7A1  # sgm's tag of the validation subset


@torch.no_grad()
def embed(model, builder, images, indices=None, batch_size=256):
    """(N, D) float32 embeddings of `images[indices]` in eval mode, no augmentation."""
    was_training = model.training
    model.eval()
    idx = np.arange(len(images)) if indices is None else np.asarray(indices)
    out = []
    for start in range(0, idx.size, batch_size):
        chunk = idx[start:start + batch_size]
        out.append(model(builder.build(images, chunk)).float().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def validation_subset(n_train, train_subset, seed):
    """A seeded subset of at most `train_subset` training indices, sorted (all of them when None or larger)."""
    idx = np.arange(n_train)
    if train_subset is not None and train_subset < n_train:
        rng = np.random.default_rng([int(seed), TAG])
        idx = np.sort(rng.permutation(n_train)[:train_subset])
    return idx


def knn_predict(train_emb, train_labels, test_emb, k=11):
    k = min(k, len(train_labels))
    clf = KNeighborsClassifier(n_neighbors=k, weights="uniform", metric="minkowski", p=2)
    clf.fit(train_emb, train_labels)
    return clf.predict(test_emb)


def classification_scores(y_true, y_pred):
    labels = np.union1d(y_true, y_pred)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    precision, recall, macro_f1 = float(p.mean()), float(r.mean()), float(f.mean())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": macro_f1,
        "labels": labels.tolist(),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def knn_scores(model, builder, train, test, k=11, train_indices=None, batch_size=256):
    """kNN fitted on `train` (or its `train_indices`) predicting `test`."""
    idx = np.arange(len(train)) if train_indices is None else np.asarray(train_indices)
    train_emb = embed(model, builder, train.images, idx, batch_size)
    test_emb = embed(model, builder, test.images, None, batch_size)
    if not (np.isfinite(train_emb).all() and np.isfinite(test_emb).all()):
        raise FloatingPointError("non-finite embedding")
    pred = knn_predict(train_emb, train.labels[idx], test_emb, k)
    return dict(k=min(k, idx.size), **classification_scores(test.labels, pred))
