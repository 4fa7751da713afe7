"""NAS-Bench-201 (S2) answered from the prepared table under the NB201 paper's protocol.

A query at fidelity 12 returns the hp=12 validation accuracy and costs ``12 x train-per-epoch +
valid-per-epoch`` simulated seconds; the reported numbers are the cell's hp=200 accuracies
(baselines.md). ``query_seed`` picks how a query treats the training seeds:

* ``mean`` (default): the mean over seeds, the only choice with the public exports;
* ``random``: the paper's exact protocol, for tables with per-seed values (an official ``.pth`` or
  NATS-Bench file): every query answers one training seed's accuracy and that seed's own cost, as
  the API's ``is_random=True`` does. The seed is drawn from (run seed, query index), so a run is
  reproducible and replays the same draws on resume; ``for_run`` binds a task to a run.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Callable, Literal

import numpy as np

from benchmarks.tabular.nb201_axes import DATASETS
from benchmarks.spaces.nb201 import NB201Space
from benchmarks.tabular.nb201_table import NB201Table, ensure_table, open_table
from harness import __version__
from harness.config import FETCH_HINT, cache_dir, data_dir
from harness.errors import DataError, HarnessError, UnknownNameError
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
QUERY_SEEDS = ("mean", "random")
_DRAW_SALT = 0x4E42_3230_31  # keeps the training-seed draw apart from every other stream of a run seed


def draw_slot(run_seed: int, query: int, n: int) -> int:
    """Which of ``n`` training seeds query number ``query`` of run ``run_seed`` answers (0..n-1)."""
    return int(np.random.default_rng([int(run_seed), int(query), _DRAW_SALT]).integers(n))


class NB201Task:
    """One search dataset of NB201; per-fidelity columns are gathered once for O(1) queries."""

    def __init__(self, table: NB201Table, dataset: str, report_test: str = "paper",
                 images: str | None = None, images_root: Path | None = None,
                 train_images: int | None = None, query_seed: str = "mean") -> None:
        if dataset not in SEARCH_DATASETS:
            close = [d for d in DATASETS if d not in SEARCH_DATASETS and d == dataset]
            hint = " (cifar10 has no validation split: search on cifar10-valid)" if close else ""
            raise UnknownNameError(
                f"unknown NB201 search dataset {dataset!r}{hint}; known: {', '.join(SEARCH_DATASETS)}")
        if report_test not in ("paper", "same"):
            raise DataError(f"report_test must be 'paper' or 'same', got {report_test!r}")
        if query_seed not in QUERY_SEEDS:
            raise DataError(f"query_seed must be one of {', '.join(QUERY_SEEDS)}, got {query_seed!r}")
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
        self.query_seed = query_seed
        self._run_seed: int | None = None
        self._queries: Callable[[], int] | None = None
        if query_seed == "random":
            self._init_seeds(table, dataset)

    def _init_seeds(self, table: NB201Table, dataset: str) -> None:
        """Per-seed answers: each seed's hp accuracy and cost from its own measured times."""
        if not table.has_seeds:
            raise DataError(f"query_seed=random needs per-seed values; {table.path.name} holds seed means only "
                            "(the public exports): prepare the table from an official NAS-Bench-201 .pth or a "
                            "NATS-Bench tss file (docs/data.md)")
        self._seed_val, self._seed_cost, self._seed_n = {}, {}, {}
        for f in self._val:
            hp = int(f)
            n = table.seed_count(dataset, hp)
            val = table.seed_column(dataset, "valid_acc", hp)
            cost = hp * table.seed_column(dataset, "train_time_epoch", hp) + \
                table.seed_column(dataset, "valid_time_epoch", hp)
            have = n > 0
            filled = np.arange(val.shape[1])[None, :] < n[:, None]
            if (np.isnan(val) & filled).any() or (np.isnan(cost) & filled).any():
                raise DataError(f"{table.path.name}: a {dataset} hp={hp} seed has no validation accuracy or time")
            self._seed_val[f], self._seed_cost[f], self._seed_n[f] = val, cost, n
            if not have.all():  # a cell without seeds here has no answer at this fidelity
                self._val[f] = np.where(have, self._val[f], np.nan)
        self.fidelities = tuple(f for f, v in self._val.items() if not np.isnan(v).any())

    def for_run(self, seed: int, queries: Callable[[], int]) -> "NB201Task":
        """This task for one run: ``queries()`` is how many queries the run has answered so far (the
        evaluator's count, replayed ones included), so query k draws its seed from (seed, k)."""
        if self.query_seed == "mean":
            return self
        bound = copy.copy(self)
        bound._run_seed, bound._queries = int(seed), queries
        return bound

    def _draw(self, fidelity: float, idx: int) -> tuple[float, float]:
        if self._queries is None:
            raise HarnessError(f"{self.name} with query_seed=random answers queries of a run only "
                               "(bind it with for_run(seed, queries); the runner does)")
        n = int(self._seed_n[fidelity][idx])
        if n == 0:
            raise self._missing(fidelity, idx)
        k = draw_slot(self._run_seed, self._queries(), n)
        return float(self._seed_val[fidelity][idx, k]), float(self._seed_cost[fidelity][idx, k])

    def search_data(self) -> SearchData:
        """Train / valid images for weight-sharing methods; only when built with ``images``."""
        if self.images is None:
            raise DataError(f"{self.name} was built without images; pass the nb201 option images=same "
                            "(or digits / synthetic) to run weight-sharing methods")
        from benchmarks.training.data.search import search_data

        return search_data(self.images, self._images_root, self._train_images)

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        idx = self.space.index(codes)
        if self.query_seed == "random":  # one query at a time: each draws at its own query index
            if len(idx) != 1:
                raise HarnessError(f"{self.name} with query_seed=random evaluates one architecture per call")
            val_cost = self._draw(fidelity, int(idx[0]))
            val, cost = np.array([val_cost[0]]), np.array([val_cost[1]])
        else:
            val, cost = self._val[fidelity][idx], self._cost[fidelity][idx]
        if np.isnan(val).any():
            raise self._missing(fidelity, int(idx[np.isnan(val)][0]))
        return Outcome(val=val, cost_s=cost, epochs=np.full(len(idx), fidelity),
                       report_valid=self._report_valid[idx], report_test=self._report_test[idx], index=idx)

    def evaluate_one(self, codes: np.ndarray, fidelity: float) -> tuple[float, float, float, float, float, int]:
        """One row (n_dims,) as Python scalars (val, cost_s, epochs, report_valid, report_test, index):
        the metered evaluator's per-query path, with ``evaluate``'s numbers and errors but no arrays."""
        idx = self.space.index_one(codes)
        if self.query_seed == "random":
            val, cost = self._draw(fidelity, idx)
        else:
            vals, costs = self._one[fidelity]
            val, cost = vals[idx], costs[idx]
        if val != val:  # NaN
            raise self._missing(fidelity, idx)
        rv, rt = self._report_lists
        return val, cost, float(fidelity), rv[idx], rt[idx], idx

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
        if self.query_seed == "random":
            return {**self._mean_attrs(), "query_seed": "random",
                    "protocol": ("NB201 paper, exact: query = hp=12 x-valid accuracy of one training seed drawn per "
                                 "query from (run seed, query index), like the API's is_random=True; cost = that "
                                 "seed's 12 x train-per-epoch + valid-per-epoch; report = hp=200 accuracies "
                                 "(mean over seeds)"),
                    "cost_model": f"exact (each seed's measured {self.dataset} times)"}
        return self._mean_attrs()

    def _mean_attrs(self) -> dict[str, Any]:
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
         train_images: Annotated[int | None, Bounds(ge=1)] = None,
         query_seed: Literal["mean", "random"] = "mean") -> NB201Task:
    """NAS-Bench-201 from tabular data (exports folder, official .pth or NATS-Bench tss file, or a prepared table).

    ``images`` (same | digits | synthetic) adds the train/valid images weight-sharing methods train
    on; image folders are looked up under the same data directory. ``query_seed=random`` answers
    each query from one drawn training seed (needs per-seed data: docs/data.md). The keywords are
    the ``--option``s, checked against these annotations when a study is built.
    """
    root = data_dir(data, FETCH_HINT)
    table = open_table(ensure_table(root, cache_dir(cache)))
    task = NB201Task(table, dataset, report_test, images, root, train_images, query_seed)
    if not task.fidelities:  # e.g. NATS-Bench's 3-cell sample folder: it reads, but no search fits in it
        have = ", ".join(f"hp={f:g}: {int((~np.isnan(v)).sum())}" for f, v in task._val.items())
        source = str(table.provenance.get(f"{dataset}/valid_acc/hp12", root)).split(" get_")[0]
        raise DataError(f"the NB201 data given answers {dataset} for only some of the {len(table.params_m)} "
                        f"cells ({have}; from {source}); a search needs them all: use the full NATS-Bench tss "
                        "folder or archive, a NAS-Bench-201 .pth, or the public exports (docs/data.md; "
                        f"{FETCH_HINT})")
    return task


make.datasets = SEARCH_DATASETS  # shown by `list`
