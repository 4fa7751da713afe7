"""NAS-Bench-201 (S2) answered from the prepared table under the NB201 paper's protocol.

A query at fidelity 12 returns the hp=12 validation accuracy (mean over seeds: the exports hold no
per-seed values, the paper drew one random seed) and costs ``12 x train-per-epoch + valid-per-epoch``
simulated seconds; the reported numbers are the cell's hp=200 accuracies (baselines.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from benchmarks.tabular.nb201_axes import DATASETS
from benchmarks.spaces.nb201 import NB201Space
from benchmarks.tabular.nb201_table import NB201Table, ensure_table, open_table
from harness import __version__
from harness.config import cache_dir, data_dir
from harness.errors import DataError, UnknownNameError
from harness.options import Bounds
from harness.protocols import Outcome, SearchData
from harness.registry import BENCHMARKS

SEARCH_DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
# Per-epoch times are measured only on cifar10-valid (25k train, 25k valid images at 32x32).
# Other datasets scale them by (images x pixels) relative to that: an estimate, stated in every
# trajectory. cifar100: 50k train / 5k x-valid at 32x32; ImageNet16-120: 151.7k train / 3k x-valid
# at 16x16 (a quarter of the pixels).
TIME_SCALE = {
    "cifar10-valid": (1.0, 1.0),
    "cifar100": (50_000 / 25_000, 5_000 / 25_000),
    "ImageNet16-120": (151_700 / 25_000 * 0.25, 3_000 / 25_000 * 0.25),
}
REPORT_TEST = {"cifar10-valid": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}


class NB201Task:
    """One search dataset of NB201; per-fidelity columns are gathered once for O(1) queries."""

    def __init__(self, table: NB201Table, dataset: str, report_test: str = "paper",
                 images: str | None = None, images_root: Path | None = None,
                 train_images: int | None = None) -> None:
        if dataset not in SEARCH_DATASETS:
            close = [d for d in DATASETS if d not in SEARCH_DATASETS and d == dataset]
            hint = " (cifar10 has no validation split: search on cifar10-valid)" if close else ""
            raise UnknownNameError(
                f"unknown NB201 search dataset {dataset!r}{hint}; known: {', '.join(SEARCH_DATASETS)}")
        if report_test not in ("paper", "same"):
            raise DataError(f"report_test must be 'paper' or 'same', got {report_test!r}")
        self.table = table
        self.dataset = dataset
        self.name = f"nb201/{dataset}"
        self.space = NB201Space()
        train_s, valid_s = TIME_SCALE[dataset]
        t_train = table.column("cifar10-valid", "train_time_epoch", 200) * train_s
        t_valid = table.column("cifar10-valid", "valid_time_epoch", 200) * valid_s
        self._val = {12.0: table.column(dataset, "valid_acc", 12), 200.0: table.column(dataset, "valid_acc", 200)}
        self._cost = {12.0: 12 * t_train + t_valid, 200.0: 200 * t_train + t_valid}
        # only fidelities every cell has: hp=200 validation exists for all cells on cifar10-valid only
        self.fidelities = tuple(f for f, v in self._val.items() if not np.isnan(v).any())
        self.default_fidelity = 12.0
        self._test_ds = REPORT_TEST[dataset] if report_test == "paper" else dataset
        self._report_valid = table.column(dataset, "valid_acc", 200)
        self._report_test = table.column(self._test_ds, "test_acc", 200)
        self._report_test_mode = report_test
        # the same numbers as Python lists, for evaluate_one (a list item is a ready Python float)
        self._one = {f: (self._val[f].tolist(), self._cost[f].tolist()) for f in self._val}
        self._report_lists = (self._report_valid.tolist(), self._report_test.tolist())
        # images for weight-sharing methods (EvNAS, EDNAS): "same" = this dataset's own NB201 splits
        self.images = dataset if images == "same" else images
        self._images_root, self._train_images = images_root, train_images

    def search_data(self) -> SearchData:
        """Train / valid images for weight-sharing methods; only when built with ``images``."""
        if self.images is None:
            raise DataError(f"{self.name} was built without images; pass the nb201 option images=same "
                            "(or digits / synthetic) to run weight-sharing methods")
        from benchmarks.training.data.search import search_data

        return search_data(self.images, self._images_root, self._train_images)

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        idx = self.space.index(codes)
        val = self._val[fidelity][idx]
        if np.isnan(val).any():
            raise self._missing(fidelity, int(idx[np.isnan(val)][0]))
        return Outcome(val=val, cost_s=self._cost[fidelity][idx], epochs=np.full(len(idx), fidelity),
                       report_valid=self._report_valid[idx], report_test=self._report_test[idx], index=idx)

    def evaluate_one(self, codes: np.ndarray, fidelity: float) -> tuple[float, float, float, float, float, int]:
        """One row (n_dims,) as Python scalars (val, cost_s, epochs, report_valid, report_test, index):
        the metered evaluator's per-query path, with ``evaluate``'s numbers and errors but no arrays."""
        idx = self.space.index_one(codes)
        vals, costs = self._one[fidelity]
        val = vals[idx]
        if val != val:  # NaN
            raise self._missing(fidelity, idx)
        rv, rt = self._report_lists
        return val, costs[idx], float(fidelity), rv[idx], rt[idx], idx

    def _missing(self, fidelity: float, arch: int) -> DataError:
        return DataError(f"the NB201 data has no {self.dataset} validation accuracy at {fidelity:g} "
                         f"epochs for arch {arch}")

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.space.index(codes)
        return self._report_valid[idx], self._report_test[idx]

    def resource(self, codes: np.ndarray, name: str) -> np.ndarray:
        """Per-arch resource for constraints: ``params_m``, ``flops_m`` or ``latency_ms:<device>``."""
        idx = self.space.index(codes)
        kind, _, device = name.partition(":")
        if kind == "latency_ms" and device:
            return self.table.latency(device)[idx]
        if kind in ("params_m", "flops_m") and not device:
            return getattr(self.table, kind)[idx]
        raise UnknownNameError(f"unknown NB201 resource {name!r}; known: params_m, flops_m, "
                               f"latency_ms:<device> (devices: {', '.join(self.table.latency_devices)})")

    def oracle(self) -> dict[str, dict[str, float]]:
        """Reference rows of the NB201 table: the ResNet cell and the best cell by each metric."""
        resnet = 11472
        return {
            "ResNet": {"report_valid": float(self._report_valid[resnet]), "report_test": float(self._report_test[resnet])},
            "optimal": {"report_valid": float(np.nanmax(self._report_valid)),
                        "report_test": float(np.nanmax(self._report_test))},
        }

    def attrs(self) -> dict[str, Any]:
        exact = self.dataset == "cifar10-valid"
        return {
            "benchmark": "nb201", "dataset": self.dataset, "cost_unit": "simulated_s",
            "data_sha256": self.table.data_sha256, "package_version": __version__,
            "protocol": ("NB201 paper: query = hp=12 x-valid accuracy (mean over seeds, not one random seed); "
                         "cost = 12 x train-per-epoch + valid-per-epoch; report = hp=200 accuracies"),
            "cost_model": "exact (measured cifar10-valid times)" if exact else
                          f"estimated: cifar10-valid per-epoch times x {TIME_SCALE[self.dataset]} (train, valid)",
            "report_valid_key": f"{self.dataset}/valid_acc/hp200",
            "report_test_key": f"{self._test_ds}/test_acc/hp200",
            "search_images": self.images or "none",
            **({"search_train_images": self._train_images} if self.images and self._train_images else {}),
        }


@BENCHMARKS.register("nb201")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         report_test: Literal["paper", "same"] = "paper",
         images: Literal["same", "digits", "synthetic"] | None = None,
         train_images: Annotated[int | None, Bounds(ge=1)] = None) -> NB201Task:
    """NAS-Bench-201 from tabular data (exports folder, official .pth, or a prepared table).

    ``images`` (same | digits | synthetic) adds the train/valid images weight-sharing methods train
    on; image folders are looked up under the same data directory. The keywords are the ``--option``s,
    checked against these annotations when a study is built.
    """
    root = data_dir(data)
    table = open_table(ensure_table(root, cache_dir(cache)))
    return NB201Task(table, dataset, report_test, images, root, train_images)


make.datasets = SEARCH_DATASETS  # shown by `list`
