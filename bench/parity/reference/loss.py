"""The SGM loss (the authors' `DGMMLoss`), in two numerical forms, with optional embedding-space mixup.

For embeddings z_i (rows of a (B, D) tensor) with labels y_i:
1. every class c present in the batch gets its in-batch mean mu_c (the sample itself included, gradients flow
   through the means);
2. p(c | z_i) is the posterior under isotropic Gaussians of fixed sigma and equal priors;
3. loss = mean_i sum_c (p(c | z_i) - onehot(y_i)_c)^2  (summed over classes, not divided by C).

`form` chooses how step 2 is computed:
- "authors": exp(-d^2 / 2 sigma^2) per class, divided by (row sum + 1e-15), clamped to [0, 1], with the class
  means formed one class at a time. This is what the authors' code computes. It departs from the true posterior
  well before float32 underflow: once a row's sum of exp falls near 1e-15, i.e. its nearest class mean lies
  further than about sqrt(2 * 34.5) sigma = 8.3 sigma, the epsilon dominates, the row shrinks towards zero (loss
  towards 1 for that row) and its gradient vanishes; beyond about 13 sigma the exp underflows outright.
- "logsumexp": log_softmax of -d^2 / 2 sigma^2 over the present classes, then exp, with the means formed as
  diag(1/n_c) onehot^T z. This is sgm's `SgmLoss` (crates/sgm-core/src/loss/sgm.rs). Equal to "authors" (to float
  rounding) while every row's nearest mean is within about 7 sigma.

`mixup` chooses the embedding-space mixup:
- "off": none (the paper, and both sgm's and the authors' first default).
- "authors": as in the authors' DGMMLoss from 2019-05-14 on (V4+): ONE lambda ~ Beta(alpha, alpha) per call,
  partners by a random permutation (a row may be its own partner), the B mixed rows appended to the batch with
  labels mixed linearly as float32 (y * lam + y[perm] * (1 - lam)). A mixed label matches class c only when it
  equals c exactly as a float (in practice: both partners of class c), so a mixed row of two classes enters no
  class mean and has an all-zero target row (it contributes sum_c p_c^2). Same-class mixed rows join their
  class's mean and target. The draws come from torch's global generator (as the authors' code), so they do not
  repeat from epoch to epoch.
- "soft": sgm's current `MixupConfig` behaviour, for comparison: one lambda per SAMPLE, partners drawn uniformly
  with replacement, soft targets lam * onehot_i + (1 - lam) * onehot_j, posteriors of the mixed rows against the
  means of the original rows only, loss = mean over the 2B rows.
"""
import torch

FORMS = ("logsumexp", "authors")
MIXUPS = ("off", "authors", "soft")


def _authors_loss(x: torch.Tensor, yf: torch.Tensor, num_classes: int, sigma: float) -> torch.Tensor:
    """The authors' computation: a loop over class indices, plain exp, +1e-15, clamp."""
    n = x.shape[0]
    columns, targets = [], []
    for c in range(num_classes):
        members = yf == int(c)
        if int(members.sum()) == 0:
            columns.append(x.new_zeros(n))
            targets.append(x.new_zeros(n))
            continue
        mu = x[members].mean(0)
        columns.append(torch.exp(-torch.sum((x - mu) ** 2, 1) / (2.0 * sigma**2)))
        targets.append(members.to(x.dtype))
    pi = torch.stack(columns, 1)
    target = torch.stack(targets, 1)
    pi = pi / (pi.sum(1, keepdim=True) + 1e-15)
    pi = pi.clamp(0.0, 1.0)
    return torch.mean(torch.sum((pi - target) ** 2, 1))


def _membership(yf: torch.Tensor, num_classes: int, dtype) -> torch.Tensor:
    """(B, K) 0/1 matrix of the present classes (columns of absent classes dropped); exact float match."""
    cols = [(yf == int(c)) for c in range(num_classes)]
    m = torch.stack(cols, 1).to(dtype)
    return m[:, m.sum(0) > 0]


def _log_posterior(rows: torch.Tensor, means: torch.Tensor, sigma: float) -> torch.Tensor:
    """(R, K) log softmax_c(-||row - mu_c||^2 / 2 sigma^2), distances formed from the differences (as sgm)."""
    d2 = (rows.unsqueeze(1) - means.unsqueeze(0)).pow(2).sum(-1)
    return torch.log_softmax(d2 * (-1.0 / (2.0 * sigma * sigma)), dim=1)


def _class_means(x: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    counts = member.sum(0)
    return (member.t() @ x) * (1.0 / counts).unsqueeze(1)


def _logsumexp_loss(x: torch.Tensor, yf: torch.Tensor, num_classes: int, sigma: float) -> torch.Tensor:
    member = _membership(yf, num_classes, x.dtype)
    means = _class_means(x, member)
    p = _log_posterior(x, means, sigma).exp()
    return (p - member).pow(2).sum(1).mean()


def _posterior_against(rows, means, sigma, form):
    if form == "logsumexp":
        return _log_posterior(rows, means, sigma).exp()
    d2 = (rows.unsqueeze(1) - means.unsqueeze(0)).pow(2).sum(-1)
    pi = torch.exp(-d2 / (2.0 * sigma**2))
    return (pi / (pi.sum(1, keepdim=True) + 1e-15)).clamp(0.0, 1.0)


class SgmLoss:
    """`loss(z, y)`: z (B, D) float, y (B,) integer labels in [0, num_classes)."""

    def __init__(self, num_classes: int, sigma: float = 1.0, form: str = "logsumexp", mixup: str = "off",
                 alpha: float = 2.0):
        if form not in FORMS:
            raise ValueError(f"loss form must be one of {FORMS}, got {form!r}")
        if mixup not in MIXUPS:
            raise ValueError(f"mixup must be one of {MIXUPS}, got {mixup!r}")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.num_classes, self.sigma, self.form, self.mixup, self.alpha = num_classes, sigma, form, mixup, alpha

    def _core(self, x, yf):
        if self.form == "authors":
            return _authors_loss(x, yf, self.num_classes, self.sigma)
        return _logsumexp_loss(x, yf, self.num_classes, self.sigma)

    def __call__(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        yf = y.to(torch.float32)  # the authors' callers pass float labels (meta[:, 0])
        if self.mixup == "authors":
            a = torch.tensor([self.alpha])
            lam = torch.distributions.Beta(a, a).sample().to(z.dtype)  # one scalar per call
            perm = torch.randperm(z.shape[0])
            z_mix = z * lam + z[perm] * (1 - lam)
            y_mix = yf * lam.to(torch.float32) + yf[perm] * (1 - lam.to(torch.float32))
            return self._core(torch.cat([z, z_mix], 0), torch.cat([yf, y_mix], 0))
        loss = self._core(z, yf)
        if self.mixup == "soft":
            b = z.shape[0]
            a = torch.full((b,), float(self.alpha))
            lam = torch.distributions.Beta(a, a).sample().to(z.dtype).unsqueeze(1)
            partner = torch.randint(0, b, (b,))
            member = _membership(yf, self.num_classes, z.dtype)
            means = _class_means(z, member)
            mixed = z * lam + z[partner] * (1 - lam)
            target = member * lam + member[partner] * (1 - lam)
            p = _posterior_against(mixed, means, self.sigma, self.form)
            loss = 0.5 * (loss + (p - target).pow(2).sum(1).mean())
        return loss

    def describe(self) -> dict:
        return {"sigma": self.sigma, "form": self.form, "mixup": self.mixup, "mixup_alpha": self.alpha,
                "num_classes": self.num_classes}
