"""``nb201-train``: NB201 cells (S2) trained for real, for data the NB201 table does not cover (issue 5)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from benchmarks.training.task import SMALL_DATA, NetSpec, TrainingBenchmark, make_task, training_options
from benchmarks.training.data.names import IMAGE_DATASETS
from harness.lockstep import ddp_capable
from harness.options import Bounds
from harness.registry import BENCHMARKS


def build(net: NetSpec, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
    """The NB201 network of one cell (imports torch)."""
    from benchmarks.training.nets.nb201 import NB201Net

    return NB201Net(codes, net.C, net.depth, num_classes, in_channels)


@BENCHMARKS.register("nb201-train")
@ddp_capable
def make(dataset: str, *, data: Path | None = None, cache: Path | None = None,
         C: Annotated[int | None, Bounds(ge=1)] = None, N: Annotated[int | None, Bounds(ge=1)] = None,
         recipe: str | None = None, recipe_changes: dict[str, Any] | None = None,
         train_seed: Annotated[int, Bounds(ge=0)] = 0, train_images: Annotated[int | None, Bounds(ge=1)] = None,
         download: bool = False, device: str | None = None, threads: Annotated[int | None, Bounds(ge=1)] = None,
         checkpoint_min_s: Annotated[float, Bounds(ge=0)] = 10.0,
         accum: Annotated[int, Bounds(ge=1)] = 1, image_size: Annotated[int | None, Bounds(ge=8)] = None,
         workers: Annotated[int, Bounds(ge=0)] = 4, bad_images: Literal["stop", "skip"] = "stop",
         compile: bool = False) -> TrainingBenchmark:
    """NB201 cells trained for real (any dataset; C=8, N=1 and the digits recipe on small data).
    The keywords are the ``--option``s, checked against these annotations when a study is built."""
    small = dataset in SMALL_DATA
    net = NetSpec("nb201", C if C is not None else 8 if small else 16, N if N is not None else 1 if small else 5)
    return make_task("nb201-train", NB201Space(), dataset, data, cache, net, build,
                     "digits-fast" if small else "nb201-hp12",
                     training_options(recipe, recipe_changes, train_seed=train_seed, train_images=train_images,
                                      download=download, device=device, threads=threads,
                                      checkpoint_min_s=checkpoint_min_s, accum=accum,
                                      image_size=image_size, workers=workers, bad_images=bad_images,
                                      compile=compile), "C, N")


make.datasets = IMAGE_DATASETS  # shown by `list`
