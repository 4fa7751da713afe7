"""Train and validation images for weight-sharing methods, cut from the training layer's datasets;
the test split is dropped here so it never reaches a method (imports torch when called)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.protocols import SearchData


def from_data(d: Any) -> SearchData:
    """A ``benchmarks.training.data.images.Data`` without its test split (what a task's ``search_data`` hands out)."""
    return SearchData(d.name, d.train.x, d.train.y, d.valid.x, d.valid.y, d.num_classes, d.mean, d.std,
                      d.crop_pad, d.flip)


def search_data(name: str, root: Path | None, train_images: int | None = None) -> SearchData:
    """The named dataset's benchmark train / valid splits (e.g. cifar10-valid: 25k / 25k)."""
    from benchmarks.training.data import images

    return from_data(images.load(name, root, False, train_images))
