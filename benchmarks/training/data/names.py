"""The image datasets the training tasks load, by name: here without torch, so `list` can show them."""
from __future__ import annotations

IMAGE_DATASETS = ("digits", "synthetic", "cifar10-valid", "cifar10", "cifar100", "ImageNet16-120", "imagenet",
                  "imagenet64")
