"""``yahpo-nb301``: the DARTS space on YAHPO Gym's ONNX surrogate of NAS-Bench-301, epoch fidelity
1-98 (``--data`` = YAHPO's data folder; benchmarks/surrogates/yahpo_onnx.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from benchmarks.surrogates.task import SurrogateTask
from benchmarks.surrogates.yahpo_onnx import YahpoNB301
from harness.config import data_dir
from harness.errors import HarnessError, UnknownNameError
from harness.registry import BENCHMARKS


@BENCHMARKS.register("yahpo-nb301")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         noise: Literal["deterministic"] = "deterministic",
         partial_cells: Literal["complete", "refuse"] = "complete") -> SurrogateTask:
    """YAHPO Gym nb301 (CIFAR10) through onnxruntime; deterministic (YAHPO's own default);
    ``partial_cells`` how PNAS's partial cells are queried (benchmarks/surrogates/nb301_config.py)."""
    if dataset not in ("cifar10", "CIFAR10"):
        raise UnknownNameError(f"yahpo-nb301 has one instance, cifar10; got {dataset!r}")
    if noise != "deterministic":
        raise HarnessError("yahpo-nb301 has no noise model: use noise=deterministic")
    return SurrogateTask("yahpo-nb301", "cifar10", YahpoNB301(data_dir(data), partial_cells), noise)
