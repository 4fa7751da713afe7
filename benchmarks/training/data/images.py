"""Datasets and the benchmark splits (train / valid / test) they are trained and scored on.

In-memory image tensors (uint8 or float, N x C x H x W) with the normalisation and the augmentation
the recipe applies on batches. Splits are fixed permutations (seeded by the dataset name), so every
run and every method sees the same split. Imports torch.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.training.data.download import ARCHIVES, fetch
from benchmarks.training.data.names import IMAGE_DATASETS
from harness.errors import DataError, UnknownNameError
from harness.seeding import stream


@dataclass(frozen=True)
class Split:
    """Images and labels; ``x`` uint8 (0..255) or float (already in 0..1)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, idx: np.ndarray | torch.Tensor) -> "Split":
        idx = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        return Split(self.x[idx], self.y[idx])


@dataclass(frozen=True)
class Data:
    """A dataset cut into the benchmark's splits, with how to normalise and augment it."""

    name: str
    train: Split
    valid: Split
    test: Split
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pad: int   # random-crop padding in pixels (0: no crop)
    flip: bool      # random horizontal flips

    @property
    def in_channels(self) -> int:
        return int(self.train.x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train.x.shape[-1])

    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.train), "n_valid": len(self.valid), "n_test": len(self.test)}


def _perm(n: int, *purpose: str) -> np.ndarray:
    return stream(0, "split", *purpose).permutation(n)


def _cut(split: Split, sizes: tuple[int, ...], *purpose: str) -> list[Split]:
    """Consecutive chunks of a fixed permutation of ``split``."""
    p = _perm(len(split), *purpose)
    out, start = [], 0
    for s in sizes:
        out.append(split.take(p[start:start + s]))
        start += s
    return out


def _missing(path: Path, name: str, expected: str) -> DataError:
    return DataError(f"dataset {name}: {path} not found; expected {expected} "
                     f"(set --data / NAS_HARNESS_DATA, or pass --download where offered)")


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _rows_to_images(rows: np.ndarray, side: int) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.uint8).reshape(-1, 3, side, side))


def digits(root: Path | None = None) -> Data:
    """scikit-learn's 1,797 handwritten 8x8 digits (real data shipped with the package).

    Split: 997 train / 400 valid / 400 test, a fixed permutation.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy((d.images / 16.0).astype(np.float32)).unsqueeze(1)
    full = Split(x, torch.from_numpy(d.target.astype(np.int64)))
    train, valid, test = _cut(full, (997, 400, 400), "digits")
    return Data("digits", train, valid, test, 10, (0.305,), (0.38,), crop_pad=1, flip=False)


def synthetic(root: Path | None = None, n_per_class: int = 64, num_classes: int = 4, side: int = 8) -> Data:
    """Class prototypes plus noise, for tests (learnable in a few steps, no files)."""
    rng = stream(0, "synthetic")
    protos = rng.random((num_classes, 1, side, side)).astype(np.float32)
    y = np.repeat(np.arange(num_classes), n_per_class)
    x = np.clip(protos[y] + 0.25 * rng.standard_normal((len(y), 1, side, side)), 0, 1).astype(np.float32)
    full = Split(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))
    n = len(y)
    train, valid, test = _cut(full, (n // 2, n // 4, n - n // 2 - n // 4), "synthetic")
    return Data("synthetic", train, valid, test, num_classes, (0.5,), (0.3,), crop_pad=0, flip=False)


_CIFAR_MEAN = {"cifar10": (0.4914, 0.4822, 0.4465), "cifar100": (0.5071, 0.4865, 0.4409)}
_CIFAR_STD = {"cifar10": (0.2470, 0.2435, 0.2616), "cifar100": (0.2673, 0.2564, 0.2762)}


def _cifar_raw(root: Path, name: str, which: str, download: bool) -> tuple[Split, Split]:
    url, md5, folder = ARCHIVES[which]
    path = root / folder
    if not path.is_dir() and download:
        fetch(url, root, md5)
    if not path.is_dir():
        raise _missing(path, name, f"the torchvision python-pickle folder {folder}/")
    if which == "cifar10":
        train_files, test_files, key = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels"
    else:
        train_files, test_files, key = ["train"], ["test"], "fine_labels"

    def load(files: list[str]) -> Split:
        try:
            parts = [_unpickle(path / f) for f in files]
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise DataError(f"dataset {name}: cannot read {path}: {exc}") from None
        x = np.concatenate([p["data"] for p in parts])
        y = np.concatenate([np.asarray(p[key], dtype=np.int64) for p in parts])
        return Split(_rows_to_images(x, 32), torch.from_numpy(y))

    return load(train_files), load(test_files)


def cifar(name: str, root: Path, download: bool = False) -> Data:
    """CIFAR splits as NB201 names them: ``cifar10-valid`` trains on half of the training set and
    validates on the other half; ``cifar10`` holds out 5k training images (DARTS-style) for
    validation; ``cifar100`` validates and tests on the two halves of the test set."""
    which = "cifar100" if name.startswith("cifar100") else "cifar10"
    train, test = _cifar_raw(root, name, which, download)
    n, nt = len(train), len(test)
    if name == "cifar10-valid":
        train, valid = _cut(train, (n // 2, n - n // 2), name)
    elif name == "cifar10":
        valid, train = _cut(train, (n // 10, n - n // 10), name)
    else:
        valid, test = _cut(test, (nt // 2, nt - nt // 2), name)
    return Data(name, train, valid, test, 10 if which == "cifar10" else 100, _CIFAR_MEAN[which],
                _CIFAR_STD[which], crop_pad=4, flip=True)


def imagenet16(root: Path, num_classes: int = 120, download: bool = False) -> Data:
    """NB201's ImageNet16-120: 16x16 pickles ``ImageNet16/train_data_batch_{1..10}`` and
    ``val_data`` (rows of 768 uint8, labels 1-based); classes 1..120 kept; valid/test = val halves."""
    path = root / "ImageNet16"
    files = [path / f"train_data_batch_{i}" for i in range(1, 11)]
    if not path.is_dir() or not (path / "val_data").exists():
        raise _missing(path, "ImageNet16-120", "NB201's downsampled pickles train_data_batch_1..10 and val_data")

    def load(fs: list[Path]) -> Split:
        parts = [_unpickle(f) for f in fs if f.exists()]
        x = np.concatenate([p["data"] for p in parts])
        y = np.concatenate([np.asarray(p["labels"], dtype=np.int64) for p in parts]) - 1
        keep = y < num_classes
        return Split(_rows_to_images(x[keep], 16), torch.from_numpy(y[keep]))

    train, val = load(files), load([path / "val_data"])
    valid, test = _cut(val, (len(val) // 2, len(val) - len(val) // 2), "ImageNet16")
    mean = tuple(v / 255 for v in (122.68, 116.66, 104.01))
    std = tuple(v / 255 for v in (63.22, 61.26, 65.09))
    return Data(f"ImageNet16-{num_classes}", train, valid, test, num_classes, mean, std, 2, True)


def imagenet(root: Path, side: int = 64, max_per_class: int | None = None, download: bool = False) -> Data:
    """ImageNet as torchvision ImageFolders ``imagenet/train`` and ``imagenet/val``, decoded once
    to ``side`` x ``side`` (resize + centre crop) in memory; valid/test = the two halves of val."""
    path = root / "imagenet"
    if not (path / "train").is_dir() or not (path / "val").is_dir():
        raise _missing(path, "imagenet", "ImageFolder directories train/<class>/*.JPEG and val/<class>/*.JPEG")
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    tf = transforms.Compose([transforms.Resize(side * 8 // 7), transforms.CenterCrop(side), transforms.PILToTensor()])

    def load(folder: Path) -> Split:
        ds = ImageFolder(str(folder), transform=tf)
        idx = np.arange(len(ds))
        if max_per_class is not None:
            targets = np.asarray(ds.targets)
            idx = np.concatenate([np.flatnonzero(targets == c)[:max_per_class] for c in range(len(ds.classes))])
        xs, ys = zip(*(ds[int(i)] for i in idx))
        return Split(torch.stack(xs), torch.as_tensor(ys, dtype=torch.long))

    train, val = load(path / "train"), load(path / "val")
    valid, test = _cut(val, (len(val) // 2, len(val) - len(val) // 2), "imagenet")
    return Data("imagenet", train, valid, test, int(train.y.max()) + 1, (0.485, 0.456, 0.406),
                (0.229, 0.224, 0.225), crop_pad=side // 8, flip=True)


DATASETS = IMAGE_DATASETS


def load(name: str, root: Path | None, download: bool = False, train_images: int | None = None, *,
         image_size: int | None = None, workers: int = 4, bad_images: str = "stop") -> Data:
    """The named dataset with its benchmark splits; ``train_images`` keeps a fixed subset of train.
    ``imagenet`` is streamed from its folders (``data/folders.py``: ``image_size`` px, default 224,
    ``workers`` decoding processes, ``bad_images`` stop / skip); ``imagenet64`` is decoded once to
    64 x 64 (or ``image_size``) in memory."""
    if name in ("digits", "synthetic"):
        data = digits() if name == "digits" else synthetic()
    elif name not in DATASETS:
        raise UnknownNameError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}")
    elif root is None:
        raise DataError(f"dataset {name} needs a data directory: pass --data DIR or set NAS_HARNESS_DATA")
    elif name.startswith("cifar"):
        data = cifar(name, root, download)
    elif name == "ImageNet16-120":
        data = imagenet16(root, 120, download)
    elif name == "imagenet64":
        data = replace(imagenet(root, side=image_size or 64), name="imagenet64")
    else:
        from benchmarks.training.data.folders import imagenet as streamed

        data = streamed(root, image_size or 224, workers=workers, bad_images=bad_images)  # type: ignore[arg-type]
    if image_size is not None and name not in ("imagenet", "imagenet64") and image_size != data.image_size:
        raise DataError(f"image_size applies to imagenet and imagenet64; {name} has {data.image_size} px images")
    if train_images is not None:
        if not 0 < train_images <= len(data.train):
            raise DataError(f"train_images must lie in 1..{len(data.train)} for {name}, got {train_images}")
        data = replace(data, train=data.train.take(_perm(len(data.train), name, "subset")[:train_images]))
    return data
