"""The images sgm reads: FER+ (its default label source and rule) and the `sgm data synth` ImageFolder.

Both loaders return {"train": Split, "valid": Split, "test": Split} with images in sgm's order, so that index i
here is image i of sgm's ImageSet.

FER+ (crates/sgm-data/src/loaders/ferplus.rs, defaults): `<root>/data/FER2013{Train,Valid,Test}/*.png` (or the
split folders directly in root), PNGs sorted by name, labels from `<root>/fer2013new.csv` matched by its `Image
name` column within the split given by `Usage` (Training / PublicTest / PrivateTest; the first row of a repeated
name wins; the 173 nameless rows are skipped), majority rule: votes <= 1 zeroed, the top class (first on ties) is
kept if it has more than half of the remaining votes, unknown / NF dropped. `FER2013Test/fer0033120.png` (a
non-face) is excluded.

Synthetic (crates/sgm-data/src/synth/write.rs + loaders/image_folder.rs): `<root>/{train,valid,test}/<class>/*.png`
with FER+ expression names as class folders; class folders in sorted name order, images in sorted name order,
labels are FER+ indices.
"""
import csv
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

CLASS_NAMES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]
VOTE_COLUMNS = CLASS_NAMES + ["unknown", "NF"]
SYNONYMS = {
    "neutrality": "neutral", "happy": "happiness", "joy": "happiness", "surprised": "surprise", "sad": "sadness",
    "angry": "anger", "disgusted": "disgust", "fearful": "fear", "afraid": "fear", "contemptuous": "contempt",
}
FERPLUS_SPLITS = [("train", "FER2013Train", "Training"), ("valid", "FER2013Valid", "PublicTest"),
                  ("test", "FER2013Test", "PrivateTest")]
KNOWN_BAD = {("FER2013Test", "fer0033120.png")}
SYNTH_SPLITS = {"train": ("train", "training"), "valid": ("valid", "val", "validation"), "test": ("test",)}


@dataclass
class Split:
    name: str
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N,) int64
    files: list = field(default_factory=list)

    def __len__(self):
        return int(self.labels.size)

    def counts(self):
        return np.bincount(self.labels, minlength=len(CLASS_NAMES)).tolist()


def read_grey(path):
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise IOError(f"cannot read image {path}")
    return img


def _stack(split, files, labels):
    images = [read_grey(f) for f in files]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:  # sgm brings every image of a set to one size; FER+ and synth are all 48x48 already
        h, w = images[0].shape
        images = [cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR) for im in images]
    arr = np.stack(images) if images else np.zeros((0, 48, 48), np.uint8)
    return Split(split, arr, np.asarray(labels, dtype=np.int64), files)


def majority_label(votes):
    """FER+ majority rule (Microsoft's `_process_data`, as sgm): a class index 0..7, or None (dropped)."""
    raw = [0.0 if v < 1.0 + 2.220446049250313e-16 else float(v) for v in votes]
    total = sum(raw)
    top = max(raw)
    if not top > 0.5 * total:
        return None
    label = raw.index(top)  # the first class of highest weight
    return label if label < 8 else None


def ferplus_data_dir(root):
    data = os.path.join(root, "data")
    return data if os.path.isdir(os.path.join(data, FERPLUS_SPLITS[0][1])) else root


def load_ferplus(root, splits=("train", "valid", "test"), report=None):
    data = ferplus_data_dir(root)
    csv_path = next((p for p in (os.path.join(root, "fer2013new.csv"), os.path.join(data, "fer2013new.csv"))
                     if os.path.isfile(p)), None)
    if csv_path is None:
        raise FileNotFoundError(f"no fer2013new.csv under {root}")
    usage_to_folder = {u: f for _, f, u in FERPLUS_SPLITS}
    rows = {f: {} for _, f, _ in FERPLUS_SPLITS}
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header[:2] != ["Usage", "Image name"] or header[2:12] != VOTE_COLUMNS:
            raise ValueError(f"{csv_path}: unexpected header {header}")
        for rec in reader:
            folder = usage_to_folder.get(rec[0].strip())
            name = rec[1].strip() if len(rec) > 1 else ""
            if folder is None or len(rec) != 12 or not name:
                continue
            rows[folder].setdefault(name, [int(v) for v in rec[2:12]])  # the first row of a name wins
    out = {}
    for split, folder, _ in FERPLUS_SPLITS:
        if split not in splits:
            continue
        d = os.path.join(data, folder)
        pngs = sorted(n for n in os.listdir(d) if n.lower().endswith(".png"))
        files, labels = [], []
        stats = {"on_disk": len(pngs), "no_row": 0, "dropped": 0, "excluded": 0}
        for n in pngs:
            votes = rows[folder].get(n)
            if votes is None:
                stats["no_row"] += 1
                continue
            label = majority_label(votes)
            if (folder, n) in KNOWN_BAD:
                stats["excluded"] += 1
                continue
            if label is None:
                stats["dropped"] += 1
                continue
            files.append(os.path.join(d, n))
            labels.append(label)
        out[split] = _stack(split, files, labels)
        if report is not None:
            report[split] = dict(stats, kept=len(labels), per_class=out[split].counts())
    return out


def _class_index(folder_name):
    n = folder_name.strip().lower()
    n = SYNONYMS.get(n, n)
    if n not in CLASS_NAMES:
        raise ValueError(f"class folder '{folder_name}' is not a FER+ expression")
    return CLASS_NAMES.index(n)


def load_synth(root, splits=("train", "valid", "test"), report=None):
    """The ImageFolder written by `sgm data synth` (class folders named by FER+ expressions)."""
    present = {e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e))}
    out = {}
    for split in splits:
        folder = next((a for a in SYNTH_SPLITS[split] if a in present), None)
        if folder is None:
            raise FileNotFoundError(f"{root}: no {split} folder")
        d = os.path.join(root, folder)
        files, labels = [], []
        for cls in sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))):
            label = _class_index(cls)
            cd = os.path.join(d, cls)
            for n in sorted(os.listdir(cd)):
                if n.lower().endswith((".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")):
                    files.append(os.path.join(cd, n))
                    labels.append(label)
        out[split] = _stack(split, files, labels)
        if report is not None:
            report[split] = {"kept": len(labels), "per_class": out[split].counts()}
    return out


def load(kind, root, splits=("train", "valid", "test"), report=None):
    if kind == "ferplus":
        return load_ferplus(root, splits, report)
    if kind == "synth":
        return load_synth(root, splits, report)
    raise ValueError(f"unknown data set {kind!r}")
