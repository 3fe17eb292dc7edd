"""Exact C x S batches, as sgm's `StratifiedBatchSampler` (crates/sgm-data/src/sampler/stratified.rs).

Every batch holds S images of each of C classes (C = all classes by default), class blocks in increasing label
order. Per epoch, each class's members are shuffled once and walked through in that order; a class that runs out
mid-epoch is reshuffled with the members already in the current batch moved to the end (so a batch never repeats
an image of a class that has at least S members). A class with fewer than S members contributes all of them plus
random members drawn with replacement. With C below the number of classes, the C classes of each batch are drawn
without replacement. `batches_per_epoch` defaults to ceil(N / (C * S)).

The random stream (numpy's PCG64 seeded by (seed, tag, epoch)) is not sgm's ChaCha8: the batches have the same
structure and statistics as sgm's, not the same members.
"""
import math

import numpy as np

TAG = 0x53545241  # "STRA", as sgm


class StratifiedBatchSampler:
    def __init__(self, labels, classes_per_batch=None, samples_per_class=30, seed=1, batches_per_epoch=None):
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError("stratified sampler: no labels")
        self.classes = [(int(c), np.flatnonzero(labels == c)) for c in np.unique(labels)]
        c = len(self.classes) if classes_per_batch is None else int(classes_per_batch)
        if c <= 0 or samples_per_class <= 0:
            raise ValueError("classes_per_batch and samples_per_class must be positive")
        if c > len(self.classes):
            raise ValueError(f"classes_per_batch {c} exceeds the {len(self.classes)} classes present")
        self.classes_per_batch, self.samples_per_class, self.seed = c, int(samples_per_class), int(seed)
        self.batches_per_epoch = (max(1, int(batches_per_epoch)) if batches_per_epoch
                                  else math.ceil(labels.size / self.batch_size))

    @property
    def batch_size(self):
        return self.classes_per_batch * self.samples_per_class

    def epoch(self, epoch: int):
        """The batches of 0-based `epoch`: a list of int64 index arrays."""
        rng = np.random.default_rng([self.seed, TAG, int(epoch)])
        s = self.samples_per_class
        orders = [rng.permutation(members) for _, members in self.classes]
        cursors = [0] * len(self.classes)
        every = np.arange(len(self.classes))
        batches = []
        for _ in range(self.batches_per_epoch):
            if self.classes_per_batch == len(self.classes):
                chosen = every
            else:
                chosen = np.sort(rng.choice(len(self.classes), self.classes_per_batch, replace=False))
            batch = []
            for c in chosen:
                members = self.classes[c][1]
                if members.size < s:
                    batch.extend(members.tolist())
                    batch.extend(rng.choice(members, s - members.size, replace=True).tolist())
                    continue
                order = orders[c]
                take = min(s, order.size - cursors[c])
                taken = order[cursors[c]:cursors[c] + take].tolist()
                batch.extend(taken)
                cursors[c] += take
                if take < s:
                    order = rng.permutation(order)
                    in_batch = np.isin(order, taken)
                    order = np.concatenate([order[~in_batch], order[in_batch]])  # stable: fresh ones first
                    orders[c] = order
                    batch.extend(order[:s - take].tolist())
                    cursors[c] = s - take
            batches.append(np.asarray(batch, dtype=np.int64))
        return batches
