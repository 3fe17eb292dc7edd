"""PyTorch reference for `cargo xtask bench`: the twin of `crates/sgm-cli/examples/bench.rs model ...`.

    python3 bench/train_step_torch.py BACKBONE SIZE BATCH train|eval|embed REPS [WARMUP]

Prints one JSON line (times in seconds, peak RSS in KiB). The networks are the PyTorch twins of sgm's backbones
from crates/sgm-models/tests/it/param_counts.py (same layers, shapes and parameter counts; xtask checks the counts
against sgm's), with the forward passes sgm's backbones run. `train` = forward (training mode) + SGM loss +
backward + Adam(amsgrad=True) step; `eval` = one forward in eval mode under no_grad; `embed` = 4 batches in eval
mode under inference_mode. Threads: OMP_NUM_THREADS / SGM_BENCH_THREADS (default 2), set with
torch.set_num_threads.
"""
import contextlib
import importlib.util
import io
import json
import os
import pathlib
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_twins():
    spec = importlib.util.spec_from_file_location("param_counts", ROOT / "crates/sgm-models/tests/it/param_counts.py")
    mod = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):  # the file prints its parameter table when run
        spec.loader.exec_module(mod)
    return mod


pc = load_twins()


def basic_block_forward(self, x):  # torchvision's BasicBlock
    out = F.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    identity = self.downsample(x) if self.downsample is not None else x
    return F.relu(out + identity)


def preact_block_forward(self, x):  # kuangliu's PreActBlock
    out = F.relu(self.bn1(x))
    shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
    out = self.conv1(out)
    out = self.conv2(F.relu(self.bn2(out)))
    return out + shortcut


pc.BasicBlock.forward = basic_block_forward
pc.PreActBlock.forward = preact_block_forward


class ResNet18(nn.Module):
    """sgm's ResNet18: conv7/2, BN, ReLU, max-pool 3/2 (pad 1), 4 stages, global average pool, Linear(512, D)."""

    def __init__(self, cin, size, d):
        super().__init__()
        self.m = pc.resnet18(cin, size, d, True)

    def forward(self, x):
        m = self.m
        x = F.max_pool2d(F.relu(m.bn1(m.conv1(x))), 3, 2, 1)
        x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        return m.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class PreActResNet18(nn.Module):
    """sgm's PreActResNet18: conv3 stem (stride 1), 4 stages of pre-activation blocks, average pool, Linear."""

    def __init__(self, cin, size, d):
        super().__init__()
        self.m = pc.preact_resnet18(cin, size, d, True)

    def forward(self, x):
        m = self.m
        x = m.layer4(m.layer3(m.layer2(m.layer1(m.conv1(x)))))
        return m.linear(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build(name, size):
    if name == "resnet18":
        return ResNet18(1, size, 64)
    if name == "preact-resnet18":
        return PreActResNet18(1, size, 64)
    return {"fmpnet": pc.fmpnet, "cvgg13": pc.cvgg13, "alexnet": pc.alexnet}[name](1, size, 64)


def sgm_loss(z, labels, sigma=1.0):
    """sgm_core::SgmLoss: mean_i sum_c (softmax_c(-|z_i - mu_c|^2 / 2 sigma^2) - onehot_ic)^2."""
    classes, inv = torch.unique(labels, return_inverse=True)
    onehot = F.one_hot(inv, len(classes)).to(z.dtype)
    means = onehot.t() @ z / onehot.sum(0)[:, None]
    d2 = (z[:, None, :] - means[None, :, :]).pow(2).sum(-1)
    probs = torch.log_softmax(-d2 / (2 * sigma * sigma), -1).exp()
    return (probs - onehot).pow(2).sum(-1).mean()


def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def images(batch, size):
    g = torch.Generator().manual_seed(0)
    return torch.rand(batch, 1, size, size, generator=g) * 2 - 1


def time_reps(reps, warmup, f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return times


def median(t):
    t = sorted(t)
    n = len(t)
    return t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])


def main():
    name, size, batch, what, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    warmup = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    threads = int(os.environ.get("SGM_BENCH_THREADS", os.environ.get("OMP_NUM_THREADS", "2")))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(name, size)
    params = sum(p.numel() for p in model.parameters())
    if what == "train":
        model.train()
        x = images(batch, size)
        labels = torch.arange(batch) % 8
        opt = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = sgm_loss(model(x), labels)
            loss.backward()
            opt.step()

        rss_before = rss_kib()
        times = time_reps(reps, warmup, step)
        per_rep = batch
    elif what == "eval":
        model.eval()
        x = images(batch, size)

        def fwd():
            with torch.no_grad():
                model(x).numpy()

        rss_before = rss_kib()
        times = time_reps(reps, warmup, fwd)
        per_rep = batch
    elif what == "embed":
        model.eval()
        xs = [images(batch, size) for _ in range(4)]

        def embed():
            with torch.inference_mode():
                for x in xs:
                    model(x).numpy()

        rss_before = rss_kib()
        times = time_reps(reps, warmup, embed)
        per_rep = 4 * batch
    else:
        sys.exit(f"unknown workload {what!r}: train, eval or embed")
    med = median(times)
    print(json.dumps({
        "impl": "torch", "version": torch.__version__, "backbone": name, "size": size, "batch": batch, "what": what,
        "params": params, "threads": torch.get_num_threads(), "times_s": times, "median_s": med,
        "images_per_s": per_rep / med, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_before_kib": rss_before,
    }))


if __name__ == "__main__":
    main()
