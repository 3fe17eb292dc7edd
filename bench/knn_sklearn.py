"""scikit-learn's time for the shapes of crates/sgm-core/benches/knn.rs (28k x 64 train, 3.5k test, K = 11).

Run with the same thread count as the Rust bench:  OMP_NUM_THREADS=2 python3 bench/knn_sklearn.py
"""
import time
import numpy as np
from sklearn.neighbors import KNeighborsClassifier

rng = np.random.default_rng(1)
centres = rng.normal(size=(8, 64)) * 1.0
ytr, yte = rng.integers(0, 8, 28_000), rng.integers(0, 8, 3_500)
Xtr = (centres[ytr] + rng.uniform(-2, 2, (28_000, 64))).astype(np.float32)
Xte = (centres[yte] + rng.uniform(-2, 2, (3_500, 64))).astype(np.float32)
clf = KNeighborsClassifier(n_neighbors=11, algorithm="brute").fit(Xtr, ytr)
times = []
for _ in range(5):
    t = time.perf_counter(); clf.predict(Xte); times.append(time.perf_counter() - t)
print(f"sklearn KNeighborsClassifier(11, brute).predict: median {np.median(times) * 1000:.0f} ms")
