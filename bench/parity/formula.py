"""Formula-filled tensors, computed exactly as sgm's `sgm_models::pretrained::formula` (Rust) does.

Every value is a function of the tensor's name, its shape and the element's flat index:

    h   = FNV-1a-64(name as UTF-8)
    x_i = splitmix64(h XOR (i * 0x9E3779B97F4A7C15))        (wrapping u64 arithmetic)
    v_i = 2 * ((x_i >> 11) / 2**53) - 1                     in [-1, 1)
    value by role (f64, then rounded to f32):
      weight of rank >= 2    v * sqrt(6 / fan_in)   (fan_in = product of the dims after the first)
      weight of rank 1       1 + 0.2 v              (BatchNorm gamma)
      bias, running_mean     0.1 v
      running_var            1 + 0.25 (v + 1)
      num_batches_tracked    0 (int64)
      anything else          v

Both sides use integer arithmetic up to the final scaling, so the values agree bit for bit.
"""
import numpy as np

MASK = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN = 0x9E3779B97F4A7C15


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def unit_values(name: str, n: int) -> np.ndarray:
    """v_i in [-1, 1) for i in 0..n, as float64."""
    h = np.uint64(fnv1a64(name.encode("utf-8")))
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = _splitmix64(h ^ (i * np.uint64(GOLDEN)))
    return 2.0 * ((x >> np.uint64(11)).astype(np.float64) / float(1 << 53)) - 1.0


def formula_values(name: str, shape) -> np.ndarray:
    """The tensor `name` of `shape`, as float32 (int64 zeros for num_batches_tracked)."""
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape)) if shape else 1
    last = name.rsplit(".", 1)[-1]
    if last == "num_batches_tracked":
        return np.zeros(shape, dtype=np.int64)
    v = unit_values(name, n)
    if last == "weight" and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = v * np.sqrt(6.0 / max(fan_in, 1))
    elif last == "weight":
        v = 1.0 + 0.2 * v
    elif last in ("bias", "running_mean"):
        v = 0.1 * v
    elif last == "running_var":
        v = 1.0 + 0.25 * (v + 1.0)
    return v.astype(np.float32).reshape(shape)


def fill_state_dict(module, rename=None):
    """Fills every tensor of `module.state_dict()` by the formula, under `rename(name)` if given."""
    import torch

    sd = module.state_dict()
    new = {}
    for name, t in sd.items():
        key = rename(name) if rename else name
        new[name] = torch.from_numpy(formula_values(key, t.shape)).to(t.dtype)
    module.load_state_dict(new)
    return module


if __name__ == "__main__":
    # The Rust unit test's vectors.
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert int(_splitmix64(np.array([0], dtype=np.uint64))[0]) == 0xE220A8397B1DCDAF
    print(formula_values("bn1.weight", (4,)), formula_values("conv1.weight", (2, 1, 1, 2)).ravel())
