"""Axes of the prepared NB201 table, shared by the sources, the table and the benchmark."""
from __future__ import annotations

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
METRICS = ("valid_acc", "test_acc", "valid_loss", "test_loss", "train_time_epoch", "valid_time_epoch")
HPS = (12, 200)  # training schedules: 12-epoch ("less") and 200-epoch ("full")
SCHEMA = "nas-harness-nb201-table"
SCHEMA_VERSION = 3  # 2: arrays_sha256, a digest of the arrays, checked on open; 3: per-seed arrays


def slot(dataset: str, metric: str, hp: int) -> tuple[int, int, int]:
    """Array position of (dataset, metric, hp) on the dataset x metric x hp axes."""
    return DATASETS.index(dataset), METRICS.index(metric), HPS.index(hp)
