"""The training loop: C x S batches, SGM loss, Adam(amsgrad), kNN validation every epoch, sgm's metrics.jsonl.

Per epoch (0-based e): the sampler's batches of epoch e, each augmented with the per-image seeds of (seed, e, batch,
position, index); training mode; loss; Adam step. Then validation: kNN (K=11) fitted on the eval-mode embeddings
of a seeded subset of at most `train_subset` training images, predicting the validation split. One JSON line per
epoch with sgm's `EpochRecord` fields (crates/sgm-train/src/train/run_dir.rs). The best epoch (highest validation
kNN accuracy, first on ties, as sgm's `best.safetensors`) is kept in memory; at the end `test.json` scores it on
the test split with kNN fitted on the whole training set (sgm's test report), next to the last epoch.
"""
import copy
import json
import math
import os
import queue
import threading
import time

import numpy as np
import torch

from .augment import BatchBuilder
from .evaluate import knn_scores, validation_subset
from .loss import SgmLoss
from .model import build
from .sampler import StratifiedBatchSampler

SCHEDULES = ("constant", "cosine", "step", "onecycle")


class Schedule:
    """sgm's per-epoch schedules (constant, cosine to min_lr, step) and a per-step one-cycle (torch OneCycleLR
    shape: cosine warm-up over `pct` of the steps from lr/25 to lr, cosine down to lr/25e4)."""

    def __init__(self, kind, lr, epochs, steps_per_epoch, min_lr=0.0, step_every=100, step_gamma=0.1, pct=0.3):
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}")
        self.kind, self.lr, self.epochs, self.spe = kind, lr, epochs, steps_per_epoch
        self.min_lr, self.every, self.gamma, self.pct = min_lr, step_every, step_gamma, pct

    def at(self, epoch, step):
        if self.kind == "constant":
            return self.lr
        if self.kind == "cosine":
            t = epoch / (self.epochs - 1) if self.epochs > 1 else 1.0
            return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * t))
        if self.kind == "step":
            return self.lr * self.gamma ** (epoch // self.every)
        total = max(1, self.epochs * self.spe)
        i = epoch * self.spe + step
        up = max(1, int(self.pct * total) - 1)
        lo, hi, end = self.lr / 25.0, self.lr, self.lr / 25.0 / 1e4
        if i <= up:
            return hi + (lo - hi) * (1 + math.cos(math.pi * i / up)) / 2
        t = (i - up) / max(1, total - 1 - up)
        return end + (hi - end) * (1 + math.cos(math.pi * min(t, 1.0))) / 2


def _batches(builder, images, labels, batches, epoch, prefetch):
    """Yields (index array, x, y); with `prefetch`, the next batch is built on a background thread."""
    def make(b, idx):
        return idx, builder.build(images, idx, epoch, b), torch.from_numpy(labels[idx])

    if not prefetch:
        for b, idx in enumerate(batches):
            yield make(b, idx)
        return
    q = queue.Queue(maxsize=2)
    stop = threading.Event()

    def worker():
        try:
            for b, idx in enumerate(batches):
                if stop.is_set():
                    return
                q.put(make(b, idx))
        except BaseException as e:  # surfaced in the consumer
            q.put(e)
        q.put(None)

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def run(args, data, out_dir, data_report=None, log=print):
    torch.manual_seed(args.seed)
    import random

    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    train, valid, test = data["train"], data.get("valid"), data.get("test")
    num_classes = 8

    model = build(args.channels, args.dim, not args.no_batch_norm)
    sampler = StratifiedBatchSampler(train.labels, args.classes_per_batch, args.samples_per_class,
                                     seed=args.seed, batches_per_epoch=args.batches_per_epoch)
    builder = BatchBuilder(args.size, args.channels, args.normalization, args.augment, seed=args.seed)
    eval_builder = BatchBuilder(args.size, args.channels, args.normalization, "none")
    loss_fn = SgmLoss(num_classes, args.sigma, args.loss_form, args.mixup, args.mixup_alpha)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                           amsgrad=True)
    schedule = Schedule(args.schedule, args.lr, args.epochs, sampler.batches_per_epoch, args.min_lr,
                        args.step_every, args.step_gamma)
    subset = validation_subset(len(train), args.train_subset, args.seed) if valid is not None else None

    os.makedirs(out_dir, exist_ok=True)
    config = {k: v for k, v in sorted(vars(args).items()) if k not in ("smoke",)}
    config.update({
        "batch_size": sampler.batch_size,
        "batches_per_epoch_resolved": sampler.batches_per_epoch,
        "classes_per_batch_resolved": sampler.classes_per_batch,
        "input": builder.describe(),
        "loss": loss_fn.describe(),
        "optimizer": {"kind": "adam", "amsgrad": True, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
        "model": {"backbone": "resnet18", "channels": args.channels, "embedding_dim": args.dim,
                  "batch_norm": not args.no_batch_norm,
                  "parameters": sum(p.numel() for p in model.parameters())},
        "validation": {"k": 11, "train_subset": args.train_subset,
                       "subset_size": None if subset is None else int(subset.size)},
        "data_counts": data_report,
        "splits": {k: len(v) for k, v in data.items()},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "reference": "bench/parity/train_reference.py",
    })
    with open(os.path.join(out_dir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
    metrics_path = os.path.join(out_dir, "metrics.jsonl")
    open(metrics_path, "w").close()

    best = None  # (epoch, score, state_dict)
    records = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        batches = sampler.epoch(epoch)
        total, steps, images = 0.0, 0, 0
        epoch_lr = schedule.at(epoch, 0)
        t_train = time.perf_counter()
        for b, (idx, x, y) in enumerate(_batches(builder, train.images, train.labels, batches, epoch,
                                                 args.prefetch)):
            lr = schedule.at(epoch, b)
            for g in opt.param_groups:
                g["lr"] = lr
            z = model(x)
            loss = loss_fn(z, y)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(f"epoch {epoch + 1}, step {b + 1}: non-finite loss {value}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value
            steps += 1
            images += len(idx)
            if args.log_every and (b + 1) % args.log_every == 0:
                el = time.perf_counter() - t_train
                log(f"epoch {epoch + 1} step {b + 1}/{len(batches)}: loss {value:.4f}, "
                    f"{images / el:.1f} img/s")
        train_seconds = time.perf_counter() - t_train
        val = knn_scores(model, eval_builder, train, valid, 11, subset) if valid is not None else None
        record = {
            "epoch": epoch + 1,
            "train_loss": total / steps if steps else float("nan"),
            "lr": epoch_lr,
            "val_knn_accuracy": None if val is None else val["accuracy"],
            "val_knn_f1": None if val is None else val["f1"],
            "val_top1": None,
            "images_per_second": images / max(train_seconds, 1e-9),
            "seconds": time.perf_counter() - t0,
        }
        with open(metrics_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        records.append(record)
        log(f"epoch {epoch + 1}/{args.epochs}: loss {record['train_loss']:.4f}, "
            f"{record['images_per_second']:.1f} img/s"
            + ("" if val is None else f", val kNN acc {val['accuracy']:.4f} F1 {val['f1']:.4f}")
            + f", {record['seconds']:.1f} s")
        score = None if val is None else val["accuracy"]
        if score is not None and (best is None or score > best[1]):
            best = (epoch + 1, score, copy.deepcopy(model.state_dict()))

    if test is not None and not args.no_test:
        report = {"k": 11, "fit_on": "the whole training set", "train_images": len(train),
                  "test_images": len(test)}
        last = knn_scores(model, eval_builder, train, test, 11)
        report["last"] = dict(epoch=args.epochs, **last)
        if best is not None:
            if best[0] != args.epochs:  # else the last epoch is the best: same weights, same scores
                model.load_state_dict(best[2])
                last = knn_scores(model, eval_builder, train, test, 11)
            report["best"] = dict(epoch=best[0], val_knn_accuracy=best[1], **last)
        chosen = report.get("best", report["last"])
        report.update({"checkpoint": "best" if "best" in report else "last", "epoch": chosen["epoch"],
                       "accuracy": chosen["accuracy"], "f1": chosen["f1"], "precision": chosen["precision"],
                       "recall": chosen["recall"], "macro_f1": chosen["macro_f1"]})
        with open(os.path.join(out_dir, "test.json"), "w") as fh:
            json.dump(report, fh, indent=2)
        log(f"test ({report['checkpoint']} epoch {report['epoch']}): kNN acc {report['accuracy']:.4f} "
            f"F1 {report['f1']:.4f}")
    if args.save_weights:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(out_dir, "weights.safetensors"))
    return records
