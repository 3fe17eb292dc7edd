"""PyTorch side of the prepared GPU check (scripts/gpu-check.sh): the twin of `gpu_check step|embed`.

    python3 bench/gpu_torch.py step  --device cuda [--sizes 48,64,224] [--batches 64,256] [--reps 3] [--warmup 1]
    python3 bench/gpu_torch.py embed --device cuda [--size 48] [--batch 256] [--reps 3] [--warmup 1]
    python3 bench/gpu_torch.py info  --device cuda

One process runs the whole grid (CUDA is initialised once) and prints one JSON line per case as soon as it is
done. The networks, the SGM loss and the Adam (AMSGrad) step are those of bench/train_step_torch.py (the CPU
reference of `cargo xtask bench`); on CUDA the device is synchronised after every step, and `embed` copies each
batch's embeddings back to the host, as sgm does. Default precision: f32 with TF32 off, as candle's f32 matmuls.
"""
import argparse
import json
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import train_step_torch as ref  # noqa: E402

BACKBONES = ["fmpnet", "cvgg13", "alexnet", "resnet18", "preact-resnet18"]
RANGES = {"fmpnet": (16, 128), "cvgg13": (16, 256), "alexnet": (32, 512), "resnet18": (32, 512),
          "preact-resnet18": (16, 256)}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def emit(v):
    print(json.dumps(v), flush=True)


def median(t):
    return ref.median(t)


def run_step(name, size, batch, device, reps, warmup):
    torch.manual_seed(0)
    model = ref.build(name, size).to(device)
    model.train()
    x = ref.images(batch, size).to(device)
    labels = (torch.arange(batch) % 8).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)

    def one():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = ref.sgm_loss(model(x), labels)
        loss.backward()
        opt.step()
        sync(device)
        return time.perf_counter() - t0

    for _ in range(warmup):
        one()
    return [one() for _ in range(reps)]


def run_embed(name, size, batch, device, reps, warmup):
    torch.manual_seed(0)
    model = ref.build(name, size).to(device)
    model.eval()
    xs = [ref.images(batch, size).to(device) for _ in range(4)]

    def one():
        t0 = time.perf_counter()
        with torch.inference_mode():
            for x in xs:
                model(x).cpu().numpy()
        return time.perf_counter() - t0

    for _ in range(warmup):
        one()
    return [one() for _ in range(reps)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["step", "embed", "info"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", default="48,64,224")
    p.add_argument("--batches", default="64,256")
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--backbones", default="all")
    a = p.parse_args()
    device = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if device.type == "cpu":
        torch.set_num_threads(int(__import__("os").environ.get("SGM_BENCH_THREADS", "2")))
    backbones = BACKBONES if a.backbones == "all" else a.backbones.split(",")
    if a.what == "info":
        emit({"what": "info", "impl": "torch", "version": torch.__version__, "cuda": torch.version.cuda,
              "device": a.device, "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None})
        return
    if a.what == "step":
        cases = [(n, s, b) for n in backbones for s in map(int, a.sizes.split(",")) for b in map(int, a.batches.split(","))]
    else:
        cases = [(n, a.size, a.batch) for n in backbones]
    for name, size, batch in cases:
        v = {"what": a.what, "impl": "torch", "backbone": name, "size": size, "batch": batch, "device": a.device}
        lo, hi = RANGES[name]
        if not lo <= size <= hi:
            v["skipped"] = f"input {size} outside ({lo}, {hi})"
            emit(v)
            continue
        try:
            f = run_step if a.what == "step" else run_embed
            times = f(name, size, batch, device, a.reps, a.warmup)
            med = median(times)
            per = batch if a.what == "step" else 4 * batch
            v.update({"times_s": times, "median_s": med, "images_per_s": per / med})
        except Exception as e:  # noqa: BLE001 - one failing case must not stop the grid
            v["error"] = f"{type(e).__name__}: {e}"
        emit(v)
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
