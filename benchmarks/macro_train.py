"""``macro-train``: the GNN-predictor seed's macro space (predictor_evolution.md) trained for real by the
generic training task, with the macro network as its builder and MACs as a resource."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np

from benchmarks.spaces.macro import MacroSpace, macs
from benchmarks.training.task import SMALL_DATA, NetSpec, TrainingBenchmark, make_task, training_options
from benchmarks.training.data.names import IMAGE_DATASETS
from harness.errors import UnknownNameError
from harness.lockstep import ddp_capable
from harness.options import Bounds
from harness.registry import BENCHMARKS


def build(net: NetSpec, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
    """The macro network of one genome (imports torch; the size is fixed by the space)."""
    from benchmarks.training.nets.macro import MacroNet

    return MacroNet(codes, num_classes, in_channels)


class MacroTrainingBenchmark(TrainingBenchmark):
    """The training task plus the resource ``macs_m`` (MACs in millions at the data's image size)."""

    def resource(self, codes: np.ndarray, name: str) -> np.ndarray:
        if name != "macs_m":
            raise UnknownNameError(f"unknown macro-train resource {name!r}; known: macs_m")
        d = self.data()
        return macs(codes, d.image_size, d.in_channels, d.num_classes) / 1e6


@BENCHMARKS.register("macro-train")
@ddp_capable
def make(dataset: str, *, data: Path | None = None, cache: Path | None = None, recipe: str | None = None,
         recipe_changes: dict[str, Any] | None = None, train_seed: Annotated[int, Bounds(ge=0)] = 0,
         train_images: Annotated[int | None, Bounds(ge=1)] = None, download: bool = False,
         device: str | None = None, threads: Annotated[int | None, Bounds(ge=1)] = None,
         checkpoint_min_s: Annotated[float, Bounds(ge=0)] = 10.0,
         accum: Annotated[int, Bounds(ge=1)] = 1) -> TrainingBenchmark:
    """The seed's macro space trained for real (digits recipe on small data; the sheet's would be 60 epochs).
    The keywords are the ``--option``s, checked against these annotations when a study is built."""
    return make_task("macro-train", MacroSpace(), dataset, data, cache, NetSpec("macro", 0, 5), build,
                     "digits-fast" if dataset in SMALL_DATA else "nb201-hp12",
                     training_options(recipe, recipe_changes, train_seed=train_seed, train_images=train_images,
                                      download=download, device=device, threads=threads,
                                      checkpoint_min_s=checkpoint_min_s, accum=accum),
                     cls=MacroTrainingBenchmark)


make.datasets = IMAGE_DATASETS  # shown by `list`
