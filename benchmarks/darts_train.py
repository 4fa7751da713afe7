"""``darts-train``: DARTS cell-space (S1) genotypes trained for real, at the evaluation size (issue 5)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.darts import DartsSpace
from benchmarks.training.task import SMALL_DATA, NetSpec, TrainingBenchmark, make_task
from harness.lockstep import ddp_capable
from harness.registry import BENCHMARKS


def build(net: NetSpec, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
    """The DARTS evaluation network of one genotype (imports torch)."""
    from benchmarks.training.nets.darts import DartsNet

    return DartsNet(codes, net.C, net.depth, num_classes, in_channels, net.auxiliary, net.imagenet_stem)


@BENCHMARKS.register("darts-train")
@ddp_capable
def make(dataset: str, *, data: Path | None = None, cache: Path | None = None, **options: Any) -> TrainingBenchmark:
    """DARTS (S1) genotypes trained for real (evaluation size C=36, 20 cells by default)."""
    small, inet = dataset in SMALL_DATA, dataset == "imagenet"
    net = NetSpec("darts", int(options.pop("C", 8 if small else 48 if inet else 36)),
                  int(options.pop("layers", 5 if small else 14 if inet else 20)),
                  bool(options.pop("auxiliary", not small)), inet)
    return make_task("darts-train", DartsSpace(), dataset, data, cache, net, build,
                     "digits-fast" if small else "imagenet-250" if inet else "darts-eval", options,
                     "C, layers, auxiliary")
