"""Training augmentation and normalisation, with OpenCV on 8-bit grey images.

`paper` follows the authors' pytvision pipeline (`get_transforms_aug(size)`, PV c58f632, described in
/work/notes/authors-code.md section 4), in its order, at the network's input size `size` instead of 224:

  resize 48 -> (size+5)^2 (INTER_LINEAR)
  random scale f = 1 + 0.2 U(-1, 1), always: resize by f, then pad back (f < 1, replicate) or centre-crop (f >= 1)
  p=0.5: rotation theta ~ U(-30, 30) deg about (w//2, h//2), then a translation of 0.2 * side * U(-1, 1) per axis,
         then an affine warp moving the corners (0,0), (0,h), (w,0) by 0.02 * side * U(-1, 1) each:
         three successive warpAffine, INTER_LINEAR, BORDER_REPLICATE
  p=0.5: left-right mirror
  p=0.5: brightness a = 1 + 0.25 U(-1,1): clip(a * img, 0, max(img)), truncated to uint8
  p=0.5: contrast a = 1 + 0.25 U(-1,1): clip(a * img + 3 (1 - a) mean(img), 0, max(img)), truncated
  p=0.5: gamma g = 1 + 0.25 U(-1,1): lookup table 255 (v / 255)^(1/g), truncated
  (p=0.5: RGB permutation: the identity on replicated grey, left out)
  p=0.25: CLAHE clipLimit 2, 8x8 tiles (on Y of YUV = the grey level itself for replicated grey)
  p=0.25: noise N(0, 0.05) per pixel on L/255 of Lab (clipped to [0, 1]), back to RGB, GaussianBlur with a
          kernel of 3, 5 or 7 (sigma from the kernel size), then back to grey
  random crop size x size at x, y ~ U{-2 .. w - size + 2} (out-of-image pixels replicated)

The authors' pipeline runs on 3 identical channels; every step above except the Lab noise is channel-wise or
exact on replicated grey, so it runs on one channel here, and the Lab step converts to RGB and back.

`sgm` approximates sgm's own pipeline (crates/sgm-data/src/augment/pipeline.rs) with OpenCV, to isolate the
effect of the augmentation in a parity run. Not pixel-exact (imageproc's warp, CLAHE and blur differ in details):
  scale s = U(0.8, 1.2) always; p=0.5: rotation U(-30, 30) deg and translation U(-0.2, 0.2) * side per axis;
  one warp about the centre at the ORIGINAL 48 px resolution, uncovered pixels black (0)
  p=0.5 mirror; p=0.5 brightness v * a (rounded, saturating at 255); p=0.5 contrast mean + (v - mean) a;
  p=0.5 gamma 255 (v / 255)^g with g = U(0.75, 1.25); p=0.25 CLAHE clip 2, 4x4 tiles;
  p=0.25 Gaussian blur sigma U(0.3, 1.0); resize to round(1.125 size), crop size x size at U{0 .. big - size}.

`none` resizes straight to the input size (INTER_LINEAR; the identity at 48), as evaluation does.

Each image gets its own generator seeded by (seed, "AUGM", epoch, batch, position, image index), as sgm's
BatchBuilder, so a batch is reproducible on its own and the result does not depend on threads.
"""
import cv2
import numpy as np
import torch

AUGMENTS = ("paper", "sgm", "none")
TAG = 0x4155474D  # "AUGM", as sgm

NORMALIZATIONS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}

LINEAR = cv2.INTER_LINEAR
REPLICATE = cv2.BORDER_REPLICATE


def resize_square(img, size):
    if img.shape[0] == size and img.shape[1] == size:
        return img.copy()
    return cv2.resize(img, (size, size), interpolation=LINEAR)


# ----------------------------------------------------------------------------------------------------------------
# The authors' pipeline


def _uniform(rng):
    """U(-1, 1)."""
    return rng.uniform(-1.0, 1.0)


def random_scale(img, rng, factor=0.2):
    h, w = img.shape
    f = 1.0 + factor * _uniform(rng)
    out = cv2.resize(img, None, fx=f, fy=f, interpolation=LINEAR)
    oh, ow = out.shape
    if f < 1.0:
        dh, dw = h - oh, w - ow
        top, left = dh // 2, dw // 2
        return cv2.copyMakeBorder(out, top, dh - top, left, dw - left, REPLICATE)
    y, x = (oh - h) // 2, (ow - w) // 2
    return out[y:y + h, x:x + w].copy()


def random_geometry(img, rng, angle=30.0, translation=0.2, warp=0.02):
    h, w = img.shape
    theta = angle * _uniform(rng)
    rotation = cv2.getRotationMatrix2D((w // 2, h // 2), -theta, 1.0)
    shift = np.float32([[1, 0, translation * w * _uniform(rng)], [0, 1, translation * h * _uniform(rng)]])
    src = np.float32([[0, 0], [0, h], [w, 0]])
    dst = src + np.float32([[warp * w * _uniform(rng), warp * h * _uniform(rng)] for _ in range(3)])
    skew = cv2.getAffineTransform(src, dst)
    for m in (rotation, shift, skew):
        img = cv2.warpAffine(img, m, (w, h), flags=LINEAR, borderMode=REPLICATE)
    return img


def authors_brightness(img, rng, factor=0.25):
    a = 1.0 + factor * _uniform(rng)
    return np.clip(a * img.astype(np.float64), 0, img.max()).astype(np.uint8)


def authors_contrast(img, rng, factor=0.25):
    a = 1.0 + factor * _uniform(rng)
    offset = 3.0 * (1.0 - a) / img.size * float(img.sum(dtype=np.float64))
    return np.clip(a * img.astype(np.float64) + offset, 0, img.max()).astype(np.uint8)


def authors_gamma(img, rng, factor=0.25):
    g = 1.0 + factor * _uniform(rng)
    lut = (((np.arange(256) / 255.0) ** (1.0 / g)) * 255.0).astype(np.uint8)
    return cv2.LUT(img, lut)


_CLAHE = {}


def clahe(img, clip, tiles):
    key = (clip, tiles)
    if key not in _CLAHE:
        _CLAHE[key] = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles))
    return _CLAHE[key].apply(img)


def authors_noise_blur(img, rng, sigma=0.05):
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    light = lab[..., 0] / 255.0 + rng.normal(0.0, sigma, size=img.shape)
    lab[..., 0] = (np.clip(light, 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    k = 2 * int(rng.integers(1, 4)) + 1  # 3, 5 or 7
    rgb = cv2.GaussianBlur(rgb, (k, k), 0)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def random_crop_replicate(img, size, rng, limit=2):
    h, w = img.shape
    x = int(rng.integers(-limit, w - size + limit + 1))
    y = int(rng.integers(-limit, h - size + limit + 1))
    padded = cv2.copyMakeBorder(img, limit, limit, limit, limit, REPLICATE)
    return padded[y + limit:y + limit + size, x + limit:x + limit + size].copy()


def paper_augment(img, size, rng):
    """The authors' training transform (see the module docs); `img` 2-d uint8, returns size x size uint8."""
    out = resize_square(img, size + 5)
    out = random_scale(out, rng)
    if rng.random() < 0.5:
        out = random_geometry(out, rng)
    if rng.random() < 0.5:
        out = cv2.flip(out, 1)
    if rng.random() < 0.5:
        out = authors_brightness(out, rng)
    if rng.random() < 0.5:
        out = authors_contrast(out, rng)
    if rng.random() < 0.5:
        out = authors_gamma(out, rng)
    if rng.random() < 0.25:
        out = clahe(out, 2.0, 8)
    if rng.random() < 0.25:
        out = authors_noise_blur(out, rng)
    return random_crop_replicate(out, size, rng)


# ----------------------------------------------------------------------------------------------------------------
# An OpenCV approximation of sgm's pipeline


def _lut(img, f):
    table = np.clip(np.round(f(np.arange(256, dtype=np.float64))), 0, 255).astype(np.uint8)
    return cv2.LUT(img, table)


def sgm_augment(img, size, rng):
    h, w = img.shape
    side = min(h, w)
    s = rng.uniform(0.8, 1.2)
    deg = tx = ty = 0.0
    if rng.random() < 0.5:
        deg, tx, ty = rng.uniform(-30, 30), rng.uniform(-0.2, 0.2) * side, rng.uniform(-0.2, 0.2) * side
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), -deg, s)
    m[:, 2] += (tx, ty)
    out = cv2.warpAffine(img, m, (w, h), flags=LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if rng.random() < 0.5:
        out = cv2.flip(out, 1)
    if rng.random() < 0.5:
        a = rng.uniform(0.75, 1.25)
        out = _lut(out, lambda v: v * a)
    if rng.random() < 0.5:
        a = rng.uniform(0.75, 1.25)
        mean = float(out.mean())
        out = _lut(out, lambda v: mean + (v - mean) * a)
    if rng.random() < 0.5:
        g = rng.uniform(0.75, 1.25)
        out = _lut(out, lambda v: 255.0 * (v / 255.0) ** g)
    if rng.random() < 0.25:
        out = clahe(out, 2.0, 4)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.0))
    big = max(size, int(round(size * 1.125)))
    out = resize_square(out, big)
    if big == size:
        return out
    x, y = int(rng.integers(0, big - size + 1)), int(rng.integers(0, big - size + 1))
    return out[y:y + size, x:x + size].copy()


# ----------------------------------------------------------------------------------------------------------------
# Batches


class BatchBuilder:
    """uint8 images (N, H, W) -> normalised float32 (B, C, size, size) tensors."""

    def __init__(self, size, channels=1, normalization="cifar10", augment="none", seed=1):
        if augment not in AUGMENTS:
            raise ValueError(f"augment must be one of {AUGMENTS}, got {augment!r}")
        if channels not in (1, 3):
            raise ValueError("channels must be 1 or 3")
        mean, std = NORMALIZATIONS[normalization]
        if channels == 1:  # a grey image is the average of identical R, G, B planes (as sgm)
            mean, std = (sum(mean) / 3.0,), (sum(std) / 3.0,)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
        self.size, self.channels, self.augment, self.seed = size, channels, augment, seed
        self.normalization = normalization

    def image(self, img, epoch, batch_index, position, index):
        if self.augment == "none":
            return resize_square(img, self.size)
        rng = np.random.default_rng([self.seed, TAG, epoch, batch_index, position, index])
        if self.augment == "paper":
            return paper_augment(img, self.size, rng)
        return sgm_augment(img, self.size, rng)

    def normalise(self, grey):
        """(B, size, size) uint8 -> (B, C, size, size) float32 tensor."""
        x = grey.astype(np.float32)[:, None] / np.float32(255.0)
        x = np.repeat(x, self.channels, axis=1) if self.channels == 3 else x
        return torch.from_numpy(np.ascontiguousarray((x - self.mean) / self.std))

    def build(self, images, indices, epoch=0, batch_index=0):
        grey = np.stack([self.image(images[i], epoch, batch_index, p, int(i)) for p, i in enumerate(indices)])
        return self.normalise(grey)

    def describe(self):
        return {"size": self.size, "channels": self.channels, "augment": self.augment,
                "normalization": self.normalization, "mean": self.mean.ravel().tolist(),
                "std": self.std.ravel().tolist()}
