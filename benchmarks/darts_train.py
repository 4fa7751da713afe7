"""``darts-train``: DARTS cell-space (S1) genotypes trained for real, at the evaluation size (issue 5)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from benchmarks.spaces.darts import DartsSpace
from benchmarks.training.task import SMALL_DATA, NetSpec, TrainingBenchmark, make_task, training_options
from benchmarks.training.data.names import IMAGE_DATASETS
from harness.lockstep import ddp_capable
from harness.options import Bounds
from harness.registry import BENCHMARKS


def build(net: NetSpec, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
    """The DARTS evaluation network of one genotype (imports torch)."""
    from benchmarks.training.nets.darts import DartsNet

    return DartsNet(codes, net.C, net.depth, num_classes, in_channels, net.auxiliary, net.imagenet_stem)


@BENCHMARKS.register("darts-train")
@ddp_capable
def make(dataset: str, *, data: Path | None = None, cache: Path | None = None,
         C: Annotated[int | None, Bounds(ge=1)] = None, layers: Annotated[int | None, Bounds(ge=1)] = None,
         auxiliary: bool | None = None, recipe: str | None = None, recipe_changes: dict[str, Any] | None = None,
         train_seed: Annotated[int, Bounds(ge=0)] = 0, train_images: Annotated[int | None, Bounds(ge=1)] = None,
         download: bool = False, device: str | None = None, threads: Annotated[int | None, Bounds(ge=1)] = None,
         checkpoint_min_s: Annotated[float, Bounds(ge=0)] = 10.0,
         accum: Annotated[int, Bounds(ge=1)] = 1, image_size: Annotated[int | None, Bounds(ge=8)] = None,
         workers: Annotated[int, Bounds(ge=0)] = 4, bad_images: Literal["stop", "skip"] = "stop",
         compile: bool = False) -> TrainingBenchmark:
    """DARTS (S1) genotypes trained for real (evaluation size C=36, 20 cells by default).
    The keywords are the ``--option``s, checked against these annotations when a study is built."""
    small, inet = dataset in SMALL_DATA, dataset in ("imagenet", "imagenet64")
    net = NetSpec("darts", C if C is not None else 8 if small else 48 if inet else 36,
                  layers if layers is not None else 5 if small else 14 if inet else 20,
                  auxiliary if auxiliary is not None else not small, inet)
    return make_task("darts-train", DartsSpace(), dataset, data, cache, net, build,
                     "digits-fast" if small else "imagenet-250" if inet else "darts-eval",
                     training_options(recipe, recipe_changes, train_seed=train_seed, train_images=train_images,
                                      download=download, device=device, threads=threads,
                                      checkpoint_min_s=checkpoint_min_s, accum=accum,
                                      image_size=image_size, workers=workers, bad_images=bad_images, compile=compile),
                     "C, layers, auxiliary")


make.datasets = IMAGE_DATASETS  # shown by `list`
