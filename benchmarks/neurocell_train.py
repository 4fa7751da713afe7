"""A training task for methods that grow and train their own networks (neuro-cell evolution, issue 8):
it lends the train and validation splits, and retrains and tests the model a method hands back.

The method never holds the test split: ``search_data`` returns the train and validation splits only,
and ``final_test`` (called by the evaluator's ``submit_model``) trains the returned model on
train+valid and scores it on test, the numbers going to the record only. Torch is imported lazily.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from benchmarks.spaces.neurocell import NeuroCellSpace
from benchmarks.training.data.names import IMAGE_DATASETS
from harness import __version__
from harness.errors import HarnessError
from harness.lockstep import ddp_capable
from harness.options import Bounds
from harness.protocols import SearchData
from harness.registry import BENCHMARKS


class NeuroCellTask:
    """Data for self-training methods; answers no architecture queries (no fixed network recipe)."""

    fidelities: tuple[float, ...] = (0.0,)
    default_fidelity = 0.0

    def __init__(self, dataset: str, data_root: Path | None = None, train_seed: int = 0,
                 train_images: int | None = None, download: bool = False, device: str | None = None,
                 threads: int | None = None) -> None:
        self.dataset, self.name = dataset, f"neurocell-train/{dataset}"
        self.space = NeuroCellSpace()
        self.train_seed, self.train_images = int(train_seed), train_images
        self._root, self._download, self._device, self._threads = data_root, download, device, threads
        self._data = None

    def data(self):  # -> benchmarks.training.data.images.Data (harness side only)
        if self._data is None:
            from benchmarks.training.data import images

            self._data = images.load(self.dataset, self._root, self._download, self.train_images)
        return self._data

    def search_data(self) -> SearchData:
        """What a method may train and select on (asked before it trains: the thread cap applies)."""
        from benchmarks.training.data.search import from_data

        self._cap_threads()
        return from_data(self.data())

    def final_test(self, model: Any, recipe: Any) -> tuple[float, float]:
        """(validation accuracy of the model as handed over, test accuracy after ``recipe`` on
        train+valid, continuing from its weights), in percent."""
        import torch

        from benchmarks.training.data.images import Split
        from benchmarks.training.trainer import Trainer
        from harness.distributed import init

        self._cap_threads()
        data = self.data()
        dist = init()
        valid = Trainer(data, recipe, self.train_seed, dist, device=self._device).accuracy(model, data.valid)
        both = Split(torch.cat([data.train.x, data.valid.x]), torch.cat([data.train.y, data.valid.y]))
        # the valid split is trained on now; a token slice keeps the Trainer's DDP sharding happy
        full = replace(data, train=both, valid=data.valid.take(np.arange(dist.world)))
        result = Trainer(full, recipe, self.train_seed, dist, device=self._device).fit(lambda: model)
        return valid, result.test_acc

    def _cap_threads(self) -> None:
        if self._threads:
            import torch

            torch.set_num_threads(self._threads)

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Any:
        raise HarnessError(f"{self.name} answers no queries: it serves methods that train their own "
                           "networks (neuro_cell_evolution); use nb201-train or darts-train for others")

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(np.atleast_2d(codes))
        return np.full(n, np.nan), np.full(n, np.nan)

    def attrs(self) -> dict[str, Any]:
        data = self.data()
        return {"benchmark": "neurocell-train", "dataset": self.dataset, "protocol": "self-training",
                "cost_unit": "measured_s", "space": self.space.name, "train_seed": self.train_seed,
                "package_version": __version__, **data.sizes(), "num_classes": data.num_classes,
                "image_size": data.image_size}


@BENCHMARKS.register("neurocell-train")
@ddp_capable
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         train_seed: Annotated[int, Bounds(ge=0)] = 0, train_images: Annotated[int | None, Bounds(ge=1)] = None,
         download: bool = False, device: str | None = None,
         threads: Annotated[int | None, Bounds(ge=1)] = None) -> NeuroCellTask:
    """Train/valid data for methods that train their own networks; the harness tests the result.
    The keywords are the ``--option``s, checked against these annotations when a study is built."""
    root = Path(data) if data is not None else None
    return NeuroCellTask(dataset, root, train_seed=train_seed, train_images=train_images, download=download,
                         device=device, threads=threads)


make.datasets = IMAGE_DATASETS  # shown by `list`
