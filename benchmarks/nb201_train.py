"""``nb201-train``: NB201 cells (S2) trained for real, for data the NB201 table does not cover (issue 5)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.nb201 import NB201Space
from benchmarks.training.task import SMALL_DATA, NetSpec, TrainingBenchmark, make_task
from harness.lockstep import ddp_capable
from harness.registry import BENCHMARKS


def build(net: NetSpec, codes: np.ndarray, num_classes: int, in_channels: int) -> Any:
    """The NB201 network of one cell (imports torch)."""
    from benchmarks.training.nets.nb201 import NB201Net

    return NB201Net(codes, net.C, net.depth, num_classes, in_channels)


@BENCHMARKS.register("nb201-train")
@ddp_capable
def make(dataset: str, *, data: Path | None = None, cache: Path | None = None, **options: Any) -> TrainingBenchmark:
    """NB201 cells trained for real (any dataset; C=8, N=1 and the digits recipe on small data)."""
    small = dataset in SMALL_DATA
    net = NetSpec("nb201", int(options.pop("C", 8 if small else 16)), int(options.pop("N", 1 if small else 5)))
    return make_task("nb201-train", NB201Space(), dataset, data, cache, net, build,
                     "digits-fast" if small else "nb201-hp12", options, "C, N")
