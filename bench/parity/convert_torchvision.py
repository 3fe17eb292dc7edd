"""Writes a torchvision model's state dict as a safetensors file that `sgm train --init FILE` reads.

    # torchvision's ImageNet weights (downloaded by torchvision, or read from its cache, ~/.cache/torch/hub)
    python bench/parity/convert_torchvision.py alexnet alexnet-imagenet.safetensors
    # a checkpoint saved with torch.save(model.state_dict(), ...)
    python bench/parity/convert_torchvision.py resnet18 r18.safetensors --from resnet18-f37072fd.pth
    # no download: torchvision's random initialisation (seeded), or the formula of formula.py
    python bench/parity/convert_torchvision.py resnet18 r18-random.safetensors --random 1
    python bench/parity/convert_torchvision.py resnet18 r18-formula.safetensors --formula

The tensor names are torchvision's (`conv1.weight`, `layer1.0.bn1.running_mean`, `features.0.weight`, ...), which
sgm maps onto its ResNet18 and AlexNet; the class layer (`fc`, `classifier.6`) and BatchNorm step counters are
kept in the file and reported unused by sgm. Prints the file's SHA-256, which `--init FILE#sha256=HEX` can pin.
"""
import argparse
import hashlib
import sys

import torch
import torchvision
from safetensors.torch import save_file

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from formula import fill_state_dict  # noqa: E402

BUILDERS = {"resnet18": torchvision.models.resnet18, "alexnet": torchvision.models.alexnet}
WEIGHTS = {
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
    "alexnet": "AlexNet_Weights.IMAGENET1K_V1",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arch", choices=sorted(BUILDERS))
    ap.add_argument("out", help="the .safetensors file to write")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--from", dest="path", help="a state dict saved by torch.save (.pth)")
    src.add_argument("--random", type=int, metavar="SEED", help="torchvision's random initialisation, seeded")
    src.add_argument("--formula", action="store_true", help="formula-filled (formula.py), as sgm's tests")
    args = ap.parse_args()

    build = BUILDERS[args.arch]
    if args.path:
        model = build()
        state = torch.load(args.path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    elif args.random is not None:
        torch.manual_seed(args.random)
        model = build()
    elif args.formula:
        model = fill_state_dict(build())
    else:
        model = build(weights=WEIGHTS[args.arch])
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, args.out, metadata={"source": f"torchvision {torchvision.__version__} {args.arch}"})
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print(f"{args.out}: {len(tensors)} tensors, SHA-256 {digest}")


if __name__ == "__main__":
    main()
