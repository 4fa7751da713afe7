"""Image datasets streamed from torchvision ImageFolder layouts (ImageNet at 224 px): the file list is
held, the images are decoded per batch by DataLoader workers, so memory does not grow with the
number of images beyond the list itself (paths in one byte buffer, so forked workers share it
without copy-on-write). Augmentation is per image and seeded by (train seed, epoch, image), so the
result does not depend on the worker count or on which process decodes an image. Imports torch.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from harness.errors import DataError
from harness.seeding import stream

log = logging.getLogger(__name__)

BadImages = Literal["stop", "skip"]
BAD_IMAGES = ("stop", "skip")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_SUBSTITUTES = 16  # images tried after an unreadable one before giving up


@dataclass(frozen=True)
class FileList:
    """Image paths (one byte buffer with offsets) and labels; ``take`` keeps a subset."""

    blob: np.ndarray      # uint8, every path's UTF-8 bytes back to back
    offsets: np.ndarray   # int64, n + 1
    labels: np.ndarray    # int64, n
    rows: np.ndarray      # int64 indices into the above: the images of this split

    def __len__(self) -> int:
        return int(len(self.rows))

    def path(self, i: int) -> str:
        r = int(self.rows[i])
        return self.blob[self.offsets[r]:self.offsets[r + 1]].tobytes().decode()

    def label(self, i: int) -> int:
        return int(self.labels[self.rows[i]])

    def take(self, idx: np.ndarray) -> "FileList":
        return replace(self, rows=self.rows[np.asarray(idx, dtype=np.int64)])

    @property
    def y(self) -> torch.Tensor:
        return torch.from_numpy(self.labels[self.rows])


def file_list(samples: list[tuple[str, int]]) -> FileList:
    """ImageFolder's ``samples`` packed into arrays."""
    encoded = [p.encode() for p, _ in samples]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    labels = np.asarray([c for _, c in samples], dtype=np.int64)
    return FileList(blob, offsets, labels, np.arange(len(samples), dtype=np.int64))


@dataclass(frozen=True)
class FolderData:
    """A streamed dataset with the benchmark's splits; the trainer reads it through
    ``benchmarks/training/stream.py``. Same reading attributes as the in-memory ``Data``."""

    name: str
    train: FileList
    valid: FileList
    test: FileList
    num_classes: int
    image_size: int              # training crop side; evaluation resizes to side * 256/224, centre crop
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    jitter: float = 0.0          # colour jitter: brightness / contrast / saturation, hue = jitter / 2
    workers: int = 4             # DataLoader worker processes per training process (0: in the process)
    bad_images: BadImages = "stop"
    in_channels: int = 3
    crop_pad: int = 0            # no padded crop: RandomResizedCrop replaces it
    flip: bool = True
    streamed: bool = True

    def sizes(self) -> dict[str, int]:
        return {"n_train": len(self.train), "n_valid": len(self.valid), "n_test": len(self.test)}

    def pipeline(self) -> str:
        """What decides the images a network sees (identity of its results); not the worker count."""
        side = self.image_size
        return (f"imagefolder train=RandomResizedCrop({side})+flip+jitter({self.jitter:g}) "
                f"eval=Resize({eval_resize(side)})+CenterCrop({side}) bad_images={self.bad_images}")


def eval_resize(side: int) -> int:
    """The resize before the evaluation centre crop (256 for 224, as the DARTS ImageNet protocol)."""
    return int(round(side * 256 / 224))


def _folders(path: Path, name: str) -> tuple[Path, Path]:
    """The standard layouts: ``train/`` and ``val/`` (or ``validation/``) of class folders, possibly
    under ``ILSVRC/Data/CLS-LOC`` as the Kaggle archive unpacks."""
    for base in (path, path / "ILSVRC" / "Data" / "CLS-LOC"):
        for val in ("val", "validation"):
            if (base / "train").is_dir() and (base / val).is_dir():
                return base / "train", base / val
    raise DataError(f"dataset {name}: {path} not found or incomplete; expected ImageFolder directories "
                    f"train/<class>/*.JPEG and val/<class>/*.JPEG (sort the flat ILSVRC val folder into class "
                    f"folders first) (set --data / NAS_HARNESS_DATA)")


def _scan(folder: Path, classes: list[str] | None = None) -> tuple[list[tuple[str, int]], list[str]]:
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    found, index = find_classes(str(folder))
    if classes is not None and found != classes:
        missing = sorted(set(classes) ^ set(found))[:3]
        raise DataError(f"{folder}: class folders differ from train/ ({', '.join(missing)} ...)")
    return make_dataset(str(folder), index, extensions=IMG_EXTENSIONS), found


def imagenet(root: Path, image_size: int = 224, jitter: float = 0.4, workers: int = 4,
             bad_images: BadImages = "stop", name: str = "imagenet") -> FolderData:
    """ImageNet (or any ImageFolder pair) under ``root/imagenet``, streamed; valid / test are the two
    halves of val (a fixed permutation, as the in-memory datasets)."""
    if bad_images not in BAD_IMAGES:
        raise DataError(f"bad_images must be one of {', '.join(BAD_IMAGES)}, got {bad_images!r}")
    if int(image_size) < 8 or int(workers) < 0:
        raise DataError(f"{name} needs image_size >= 8 and workers >= 0, got {image_size} and {workers}")
    train_dir, val_dir = _folders(root / name, name)
    train_samples, classes = _scan(train_dir)
    val_samples, _ = _scan(val_dir, classes)
    if not train_samples or not val_samples:
        raise DataError(f"dataset {name}: no images under {train_dir if not train_samples else val_dir}")
    val = file_list(val_samples)
    p = stream(0, "split", name).permutation(len(val))  # the in-memory datasets' split rule
    half = len(val) // 2
    return FolderData(name, file_list(train_samples), val.take(p[:half]), val.take(p[half:]), len(classes),
                      image_size, jitter=jitter, workers=workers, bad_images=bad_images)


class Images(torch.utils.data.Dataset):
    """Decodes ``files[i]`` with the split's transform. A key is ``(seed, i)``: the image's augmentation
    seed (None for evaluation) and its index. An unreadable image is replaced by the next readable one
    and reported with the batch (``(path, reason)``), so the process that trains decides to stop or warn."""

    def __init__(self, files: FileList, transform: Any) -> None:
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: tuple[int | None, int]) -> tuple[torch.Tensor, int, list[tuple[str, str]]]:
        seed, i = key
        bad: list[tuple[str, str]] = []
        for k in range(_SUBSTITUTES):
            j = (i + k) % len(self.files)
            try:
                return self._decode(j, seed), self.files.label(j), bad
            except (OSError, SyntaxError, ValueError) as exc:  # PIL: unidentified, truncated, bad header
                bad.append((self.files.path(j), (str(exc).splitlines() or [type(exc).__name__])[0]))
        raise DataError(f"{_SUBSTITUTES} unreadable images in a row from {bad[0][0]}")

    def _decode(self, j: int, seed: int | None) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.files.path(j)) as im:
            img = im.convert("RGB")
        if seed is None:
            return self.transform(img)
        if torch.utils.data.get_worker_info() is not None:  # a worker: its global RNG is its own
            torch.manual_seed(seed)
            return self.transform(img)
        with torch.random.fork_rng(devices=[]):  # in the training process: leave its RNG alone
            torch.manual_seed(seed)
            return self.transform(img)


def transforms_for(data: FolderData, train: bool) -> Any:
    """The DARTS ImageNet augmentation (random-resized crop, flip, colour jitter) or the evaluation
    resize + centre crop; uint8 output, normalised on the device."""
    from torchvision import transforms as T

    side = data.image_size
    if not train:
        return T.Compose([T.Resize(eval_resize(side)), T.CenterCrop(side), T.PILToTensor()])
    steps: list[Any] = [T.RandomResizedCrop(side)]
    if data.flip:
        steps.append(T.RandomHorizontalFlip())
    if data.jitter:
        j = data.jitter
        steps.append(T.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(0.5, j / 2)))
    steps.append(T.PILToTensor())
    return T.Compose(steps)


def collate(batch: list[tuple[torch.Tensor, int, list[tuple[str, str]]]]) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Images stacked (uint8), labels, and the unreadable files met while decoding them."""
    x = torch.stack([b[0] for b in batch])
    y = torch.as_tensor([b[1] for b in batch], dtype=torch.long)
    return x, y, [bad for b in batch for bad in b[2]]
