"""PyTorch equivalents of sgm-models' backbones, to count their parameters.

Run: /work/pyref/bin/python crates/sgm-models/tests/it/param_counts.py
(torch only; torchvision's layouts are written by hand). The counts are asserted in param_counts.rs.
Each model = backbone + Linear(features, D) embedding (+ Linear(D, C) class head when C is given).
"""
import torch.nn as nn


def fmpnet(cin, size, d):
    f = size // 2 // 2 // 2
    return nn.Sequential(
        nn.Conv2d(cin, 64, 5, padding=2), nn.ReLU(), nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5)),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5)),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(),
        nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5)), nn.Flatten(),
        nn.Dropout(), nn.Linear(128 * f * f, 1024), nn.ReLU(), nn.Dropout(), nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, d))


def cvgg13(cin, size, d):
    layers, c = [], cin
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 256, 256, 256, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    s = size // 16
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(256 * s * s, 1024), nn.ReLU(), nn.Dropout(), nn.Linear(1024, d))


def alexnet(cin, size, d):
    stem = nn.Conv2d(cin, 64, 11, 4, 2) if size >= 128 else nn.Conv2d(cin, 64, 5, 2, 2)
    return nn.Sequential(
        stem, nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2), nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, d))


def norm(c, bn):
    return nn.BatchNorm2d(c) if bn else nn.Identity()


class BasicBlock(nn.Module):  # torchvision
    def __init__(self, inp, out, stride, bn):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = norm(out, bn)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = norm(out, bn)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), norm(out, bn))


def resnet18(cin, size, d, bn=True):
    m = nn.Module()
    m.conv1 = nn.Conv2d(cin, 64, 7, 2, 3, bias=False)
    m.bn1 = norm(64, bn)
    inp = 64
    for i, (out, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
        setattr(m, f"layer{i + 1}", nn.Sequential(BasicBlock(inp, out, stride, bn), BasicBlock(out, out, 1, bn)))
        inp = out
    m.fc = nn.Linear(512, d)
    return m


class PreActBlock(nn.Module):  # kuangliu/pytorch-cifar
    def __init__(self, inp, out, stride, bn):
        super().__init__()
        self.bn1 = norm(inp, bn)
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn2 = norm(out, bn)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False))


def preact_resnet18(cin, size, d, bn=True):
    m = nn.Module()
    m.conv1 = nn.Conv2d(cin, 64, 3, 1, 1, bias=False)
    inp = 64
    for i, (out, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
        setattr(m, f"layer{i + 1}", nn.Sequential(PreActBlock(inp, out, stride, bn), PreActBlock(out, out, 1, bn)))
        inp = out
    m.linear = nn.Linear(512, d)
    return m


def count(model, d, classes):
    n = sum(p.numel() for p in model.parameters())  # parameters only: BatchNorm running statistics are buffers
    if classes:
        n += sum(p.numel() for p in nn.Linear(d, classes).parameters())
    return n


CASES = [
    # (name, builder, in_channels, size, D, classes, batch_norm)
    ("fmpnet", fmpnet, 1, 48, 64, None, True),
    ("fmpnet", fmpnet, 3, 64, 64, 8, True),
    ("cvgg13", cvgg13, 1, 48, 64, None, True),
    ("cvgg13", cvgg13, 3, 64, 64, 8, True),
    ("alexnet", alexnet, 1, 48, 64, None, True),
    ("alexnet", alexnet, 3, 64, 64, 8, True),
    ("alexnet", alexnet, 3, 224, 64, None, True),
    ("resnet18", resnet18, 1, 48, 64, None, True),
    ("resnet18", resnet18, 3, 224, 64, 8, True),
    ("resnet18", resnet18, 3, 64, 64, None, False),
    ("preact-resnet18", preact_resnet18, 1, 48, 64, None, True),
    ("preact-resnet18", preact_resnet18, 3, 32, 64, 8, True),
    ("preact-resnet18", preact_resnet18, 3, 64, 128, None, False),
]

for name, build, cin, size, d, classes, bn in CASES:
    model = build(cin, size, d, bn) if build in (resnet18, preact_resnet18) else build(cin, size, d)
    print(f'("{name}", {cin}, {size}, {d}, {classes if classes else "None"}, {str(bn).lower()}, {count(model, d, classes)}),')
