"""``nb301``: the DARTS space (S1) on NAS-Bench-301 v1.0's own XGBoost / LightGBM ensembles
(``--data`` = the unzipped models folder with ``configspace.json``; benchmarks/surrogates/nb301_files.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from benchmarks.surrogates.nb301_files import NB301Predictor
from benchmarks.surrogates.task import SurrogateTask
from harness.config import data_dir
from harness.errors import UnknownNameError
from harness.registry import BENCHMARKS


@BENCHMARKS.register("nb301")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         noise: Literal["deterministic", "surrogate"] = "deterministic",
         partial_cells: Literal["complete", "refuse"] = "complete") -> SurrogateTask:
    """NAS-Bench-301 (CIFAR-10) from its v1.0 model files; ``noise`` is the query noise policy;
    ``partial_cells`` how PNAS's partial cells are queried (benchmarks/surrogates/nb301_config.py)."""
    if dataset != "cifar10":
        raise UnknownNameError(f"nb301 has one dataset, cifar10; got {dataset!r}")
    return SurrogateTask("nb301", dataset, NB301Predictor(data_dir(data), partial_cells), noise)
