"""sgm's ResNet18 and AlexNet against torchvision's, under identical formula-filled weights.

Builds torchvision's resnet18 and alexnet with an 8-wide last layer (standing in for sgm's embedding layer), fills
every tensor by the formula of `formula.py` (the same values sgm computes in Rust), feeds a formula-filled batch of
4 images and prints the outputs as JSON: evaluation mode at 224 and 48, one training-mode forward (BatchNorm on
batch statistics; AlexNet's dropout set to 0) and the running statistics it leaves, and a grey case where sgm's
1-channel model (conv1 summed over RGB) meets torchvision's 3-channel one on a replicated grey batch.

AlexNet cannot run at 48 in torchvision's layout (its third max-pool would get a 0×0 map), so at sizes below 128
the parity model has sgm's small-input stem, Conv2d(3, 64, 5, stride 2, padding 2), in place of the 11×11/4 one.

    python bench/parity/torchvision_parity.py                 # JSON on stdout
    python bench/parity/torchvision_parity.py --rust          # the same values as Rust constants
    python bench/parity/torchvision_parity.py --from-file r18.safetensors --backbone resnet18
                                                              # logits of a converted model (see below)

`--from-file` loads a file written by `convert_torchvision.py` (torchvision's own tensor names, 1000 classes) into
torchvision's model and prints its logits on the formula batch at 224 and at 64 (AlexNet: 224 and 128), in
evaluation mode: sgm loading the same file through its name mapping must give the same logits.

`cargo xtask parity --init` runs this and compares sgm's outputs with it (see docs/fidelity.md).
"""
import argparse
import json
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from formula import fill_state_dict, formula_values  # noqa: E402

EMB = 8
BATCH = 4
TRACKED = {
    "resnet18": ["bn1.running_mean", "bn1.running_var", "layer4.1.bn2.running_var"],
    "alexnet": [],
}


def build(kind: str, size: int) -> torch.nn.Module:
    if kind == "resnet18":
        m = torchvision.models.resnet18(num_classes=EMB)
    else:
        m = torchvision.models.alexnet(num_classes=EMB, dropout=0.0)
        if size < 128:
            m.features[0] = torch.nn.Conv2d(3, 64, kernel_size=5, stride=2, padding=2)
    return fill_state_dict(m)


def cases():
    for kind in ("resnet18", "alexnet"):
        for size in (224, 48):
            yield {"backbone": kind, "size": size, "channels": 3, "mode": "eval"}
        yield {"backbone": kind, "size": 48, "channels": 3, "mode": "train"}
    yield {"backbone": "resnet18", "size": 224, "channels": 1, "mode": "eval"}
    yield {"backbone": "alexnet", "size": 224, "channels": 1, "mode": "eval"}


def run(case):
    torch.manual_seed(0)
    m = build(case["backbone"], case["size"])
    s, c = case["size"], case["channels"]
    x = torch.from_numpy(formula_values(f"input.{c}x{s}", (BATCH, c, s, s)))
    if c == 1:
        x = x.expand(BATCH, 3, s, s).contiguous()  # grey replicated: sgm folds conv1 instead
    m.train(case["mode"] == "train")
    with torch.no_grad():
        y = m(x)
    out = dict(case, embedding=y.double().numpy().ravel().tolist())
    if case["mode"] == "train":
        sd = m.state_dict()
        out["running"] = {k: sd[k].double().numpy()[:4].tolist() for k in TRACKED[case["backbone"]]}
    return out


def state_dict_layout():
    """Names and shapes of torchvision's own state dicts (with 1000 classes), which sgm's layout must equal."""
    return {
        "resnet18": [[k, list(v.shape)] for k, v in torchvision.models.resnet18().state_dict().items()],
        "alexnet": [[k, list(v.shape)] for k, v in torchvision.models.alexnet().state_dict().items()],
    }


def from_file(path: str, kind: str):
    from safetensors.torch import load_file

    m = torchvision.models.resnet18() if kind == "resnet18" else torchvision.models.alexnet()
    m.load_state_dict(load_file(path))
    m.eval()
    out = []
    for size in (224, 64) if kind == "resnet18" else (224, 128):
        x = torch.from_numpy(formula_values(f"input.3x{size}", (BATCH, 3, size, size)))
        with torch.no_grad():
            y = m(x)
        out.append({"backbone": kind, "size": size, "channels": 3, "mode": "eval", "logits": y.double().numpy().ravel().tolist()})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rust", action="store_true", help="print Rust constants instead of JSON")
    ap.add_argument("--from-file", help="a torchvision state dict as safetensors (convert_torchvision.py)")
    ap.add_argument("--backbone", choices=["resnet18", "alexnet"], default="resnet18")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if args.from_file:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "cases": from_file(args.from_file, args.backbone)}, sys.stdout)
        return
    results = [run(c) for c in cases()]
    if args.rust:
        for r in results:
            vals = ", ".join(f"{v:.9e}" for v in r["embedding"])
            print(f'// {r["backbone"]} {r["size"]} {r["channels"]}ch {r["mode"]}')
            print(f"&[{vals}],")
            for k, v in r.get("running", {}).items():
                print(f'// {k}: [{", ".join(f"{x:.9e}" for x in v)}]')
        return
    json.dump(
        {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "cases": results,
            "layout": state_dict_layout(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
