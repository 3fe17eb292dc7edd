"""PyTorch reference of the authors' SGM training, for `cargo xtask parity` (issue 12). See README.md.

    python bench/parity/train_reference.py --data synth --root DIR --epochs 3 --out OUT
    python bench/parity/train_reference.py --data ferplus --epochs 1 --batches-per-epoch 5 --out OUT
    python bench/parity/train_reference.py --smoke [--loss-form authors]

Training writes OUT/config.json, OUT/metrics.jsonl (sgm's EpochRecord fields, one line per epoch) and
OUT/test.json. `--smoke` prints {"loss": ..., "embedding_sum": ...} for one fixed, formula-filled batch (no
randomness): sgm's ResNet18 with 1 channel at 32x32, every tensor filled by formula.py under sgm's names, 16 images,
labels i % 8, one training-mode forward (BatchNorm on batch statistics), SGM loss with sigma 1 (or --sigma), no
mixup, float32. At sigma 1 this batch's classes are so far apart that the loss is ~1e-10; --sigma 8 gives a loss of
about 0.59 that a comparison can actually test (see README.md).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PRESETS = {
    # name: (sigma, mixup)
    "paper": (1.0, "off"),  # the paper / the authors' DGMMLoss until 2019-05-14 (V1-V3 defaults)
    "authors-v4": (1.0, "authors"),  # 2019-05-14: mixup on by default
    "authors-v5": (0.5, "authors"),  # 2019-07-02 onwards: sigma 0.5, mixup on
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="print the fixed-batch loss as JSON and exit")
    ap.add_argument("--data", choices=["synth", "ferplus"], default="synth")
    ap.add_argument("--root", help="data folder (ferplus: default $SGM_DATA_DIR/ferplus)")
    ap.add_argument("--out", help="output folder for config.json, metrics.jsonl, test.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--size", type=int, default=48, help="input side (48 -> size, bilinear)")
    ap.add_argument("--channels", type=int, choices=[1, 3], default=1)
    ap.add_argument("--dim", type=int, default=64, help="embedding dimension")
    ap.add_argument("--no-batch-norm", action="store_true", help="BatchNorm as the identity (authors' variant)")
    ap.add_argument("--samples-per-class", type=int, default=30, help="S")
    ap.add_argument("--classes-per-batch", type=int, default=None, help="C (default: all classes)")
    ap.add_argument("--batches-per-epoch", type=int, default=None, help="default ceil(N / (C*S))")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--schedule", choices=["constant", "cosine", "step", "onecycle"], default="constant")
    ap.add_argument("--min-lr", type=float, default=0.0, help="cosine: final rate")
    ap.add_argument("--step-every", type=int, default=100, help="step: epochs between decays")
    ap.add_argument("--step-gamma", type=float, default=0.1, help="step: decay factor")
    ap.add_argument("--preset", choices=sorted(PRESETS), default=None,
                    help="sigma and mixup of a DGMMLoss version (explicit --sigma / --mixup win)")
    ap.add_argument("--sigma", type=float, default=None, help="default 1.0 (or the preset's)")
    ap.add_argument("--mixup", nargs="?", const="authors", choices=["off", "authors", "soft"], default=None,
                    help="embedding mixup: off (default), authors (one lambda per batch; bare --mixup), "
                         "soft (sgm's current per-sample form)")
    ap.add_argument("--mixup-alpha", type=float, default=2.0)
    ap.add_argument("--loss-form", choices=["logsumexp", "authors"], default="logsumexp")
    ap.add_argument("--augment", choices=["paper", "sgm", "none"], default="paper")
    ap.add_argument("--normalization", choices=["cifar10", "imagenet", "unit"], default="cifar10")
    ap.add_argument("--train-subset", type=int, default=5000,
                    help="training images the validation kNN is fitted on (0: all)")
    ap.add_argument("--no-test", action="store_true", help="skip test.json")
    ap.add_argument("--no-prefetch", dest="prefetch", action="store_false",
                    help="build batches on the main thread")
    ap.add_argument("--log-every", type=int, default=0, help="print the loss every N steps")
    ap.add_argument("--save-weights", action="store_true",
                    help="OUT/weights.safetensors (the checkpoint test.json scored)")
    a = ap.parse_args(argv)
    sigma, mixup = PRESETS[a.preset or "paper"]
    a.sigma = sigma if a.sigma is None else a.sigma
    a.mixup = mixup if a.mixup is None else a.mixup
    if a.train_subset == 0:
        a.train_subset = None
    return a


def smoke(loss_form, sigma=1.0):
    import torch

    from formula import fill_state_dict, formula_values
    from reference.loss import SgmLoss
    from reference.model import build

    t = time.perf_counter()
    torch.manual_seed(0)
    model = build(channels=1, dim=64, batch_norm=True)
    fill_state_dict(model)  # sgm's names are this model's state-dict names (embedding.*)
    x = torch.from_numpy(formula_values("input.1x32", (16, 1, 32, 32)))
    y = torch.tensor([i % 8 for i in range(16)], dtype=torch.int64)
    model.train()
    z = model(x)
    loss = SgmLoss(8, sigma=sigma, form=loss_form, mixup="off")(z, y)
    out = {"loss": float(loss.detach()), "embedding_sum": float(z.detach().double().sum())}
    print(f"smoke: {time.perf_counter() - t:.2f} s after imports (sigma {sigma}, {loss_form})", file=sys.stderr)
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.smoke:
        print(json.dumps(smoke(args.loss_form, args.sigma)))
        return 0
    if not args.out:
        sys.exit("--out is required for training")
    root = args.root
    if root is None:
        if args.data != "ferplus" or not os.environ.get("SGM_DATA_DIR"):
            sys.exit("--root is required (or SGM_DATA_DIR for --data ferplus)")
        root = os.path.join(os.environ["SGM_DATA_DIR"], "ferplus")
    args.root = root

    from reference.data import load
    from reference.train import run

    t = time.perf_counter()
    report = {}
    data = load(args.data, root, report=report)
    print(f"loaded {args.data} from {root} in {time.perf_counter() - t:.1f} s: "
          + ", ".join(f"{k} {len(v)} {v.counts()}" for k, v in data.items()), file=sys.stderr)
    run(args, data, args.out, data_report=report, log=lambda s: print(s, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
