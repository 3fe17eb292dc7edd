"""scikit-learn reference for `cargo xtask bench`: the twin of `crates/sgm-cli/examples/bench.rs cluster ...`.

    python3 bench/cluster_sklearn.py knn|kmeans|gmm-diag|gmm-full|tsne REPS [WARMUP]

Data: 25,000 x 64 float32 formula blobs around 40 centres, the same numbers as the Rust side (and as
crates/sgm-cluster/examples/speed.rs). kNN: KNeighborsClassifier(11, algorithm="brute") fitted on the 20,000 rows
outside every 5th block of 40, predicting the other 5,000. k-means: KMeans(40, n_init=3) (sgm: k-means++ with
3 runs). GMM: GaussianMixture(40, diag/full). t-SNE: TSNE(perplexity 30, PCA init, Barnes-Hut) on the first 4,000
rows (sgm's default subset). Prints one JSON line. Threads: OMP_NUM_THREADS (xtask sets it).
"""
import json
import resource
import sys
import time

import numpy as np


def blobs():
    n, d, k = 25_000, 64, 40
    i = np.arange(n)[:, None]
    j = np.arange(d)[None, :]
    g = (np.arange(n) * 7) % k
    x = 4.0 * np.cos(g[:, None] * 1.3 + j * 0.7 + g[:, None] * j * 0.11) + np.sin(2.3 * i * (j + 1) + 0.5 * j)
    return x.astype(np.float32), g


def main():
    what, reps = sys.argv[1], int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    x, labels = blobs()
    detail = {}
    if what == "knn":
        from sklearn.neighbors import KNeighborsClassifier
        q = (np.arange(len(x)) // 40) % 5 == 0
        clf = KNeighborsClassifier(n_neighbors=11, algorithm="brute").fit(x[~q], labels[~q])

        def run():
            detail["accuracy"] = float((clf.predict(x[q]) == labels[q]).mean())
    elif what == "kmeans":
        from sklearn.cluster import KMeans

        def run():
            detail["inertia"] = float(KMeans(40, n_init=3, random_state=0).fit(x).inertia_)
    elif what in ("gmm-diag", "gmm-full"):
        from sklearn.mixture import GaussianMixture

        def run():
            gm = GaussianMixture(40, covariance_type=what[4:], random_state=0).fit(x)
            detail["lower_bound"] = float(gm.lower_bound_)
            detail["n_iter"] = int(gm.n_iter_)
    elif what == "tsne":
        from sklearn.manifold import TSNE

        def run():
            TSNE(2, perplexity=30, init="pca", random_state=0).fit_transform(x[:4000])
    else:
        sys.exit(f"unknown workload {what!r}")
    for _ in range(warmup):
        run()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    s = sorted(times)
    n = len(s)
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    import sklearn
    print(json.dumps({"impl": "sklearn", "version": sklearn.__version__, "what": what, "times_s": times,
                      "median_s": med, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      **detail}))


if __name__ == "__main__":
    main()
