"""PyTorch twin of overfit_probe.rs: can FMPNet and CVGG13 (no BatchNorm) overfit 16 images with Adam-AMSGrad?

Run: /path/to/venv/bin/python crates/sgm-train/examples/overfit_probe_torch.py   (torch only)
Measured with torch 2.15 (loss every 5 steps of 40): neither network fits the batch in 40 steps at lr 1e-3, and
only CVGG13 starts to at 1e-4 -- the same behaviour as sgm's implementation, so slow early training of these two
backbones is a property of the architectures trained from scratch, not a bug in sgm.
"""
import torch, torch.nn as nn
import pathlib
src = (pathlib.Path(__file__).parents[2] / "sgm-models/tests/it/param_counts.py").read_text().split("def count(")[0]
ns = {}; exec(src, ns)
torch.manual_seed(0)
x = torch.randn(16, 1, 32, 32); y = torch.arange(16) % 8
for name in ("fmpnet", "cvgg13"):
    for lr in (1e-3, 1e-4):
        torch.manual_seed(1)
        body = ns[name](1, 32, 64)
        # authors-style init: kaiming fan_out for conv, N(0, .01) for CVGG13 FC
        for m in body.modules():
            if isinstance(m, nn.Conv2d): nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu"); nn.init.zeros_(m.bias) if m.bias is not None else None
            if name == "cvgg13" and isinstance(m, nn.Linear): nn.init.normal_(m.weight, 0, 0.01); nn.init.zeros_(m.bias)
        model = nn.Sequential(body, nn.Linear(64, 8))
        opt = torch.optim.Adam(model.parameters(), lr=lr, amsgrad=True)
        losses = []
        for step in range(40):
            model.train(); loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
        print(name, lr, [f"{l:.3f}" for l in losses[::5]])
