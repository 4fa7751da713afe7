"""``nb301-mini``: the DARTS space (S1) on a surrogate fitted from 500 NAS-Bench-301 cells, offline.

The data folder holds NASLib's ``zc_nasbench301.json`` (``--data``; the NB201 data folder carries it
under ``automl__NASLib/``); the surrogate is fitted on first use into the cache
(benchmarks/surrogates/nb301_mini.py says what 500 points can and cannot support).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from benchmarks.surrogate import FittedPredictor
from benchmarks.surrogates.model import load
from benchmarks.surrogates.nb301_mini import ensure
from benchmarks.surrogates.task import SurrogateTask
from harness.config import cache_dir, data_dir
from harness.errors import UnknownNameError
from harness.registry import BENCHMARKS


@BENCHMARKS.register("nb301-mini")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         noise: Literal["deterministic", "surrogate"] = "deterministic") -> SurrogateTask:
    """NAS-Bench-301's CIFAR-10 cells through a 500-point surrogate; ``noise`` is the query noise policy."""
    if dataset != "cifar10":
        raise UnknownNameError(f"nb301-mini has one dataset, cifar10; got {dataset!r}")
    path = ensure(data_dir(data), cache_dir(cache))
    predictor = FittedPredictor(load(path), path)
    return SurrogateTask("nb301-mini", dataset, predictor, noise)
