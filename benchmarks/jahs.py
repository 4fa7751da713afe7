"""``jahs``: JAHS-Bench-201's joint architecture + hyperparameter space on its released XGBoost surrogates
(``--data`` = the download folder holding ``assembled_surrogates/``; benchmarks/surrogates/jahs_files.py).

A query at epoch e (the fidelity, 1-200) answers the ``valid-acc`` model's prediction and charges the
``runtime`` model's (simulated seconds); N, W and Resolution are fixed per run (options ``n``, ``w``,
``resolution``; default the full network 5, 16, 1.0). The report is the ``valid-acc`` and ``test-acc``
predictions at epoch 200. JAHS's models are single boosters with no noise model: ``deterministic`` only.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np

from benchmarks.spaces.jahs import JahsSpace
from benchmarks.surrogates.jahs_files import MetricModel, task_folder
from benchmarks.surrogates.task import SurrogateTask
from harness.config import data_dir
from harness.errors import DataError, HarnessError, UnknownNameError
from harness.registry import BENCHMARKS

TASKS = ("cifar10", "colorectal_histology", "fashion_mnist")
EPOCHS = tuple(float(e) for e in range(1, 201))


class JahsPredictor:
    """The valid-acc, runtime and (when present) test-acc models of one task at fixed N, W, Resolution."""

    fidelities, default_fidelity = EPOCHS, 200.0

    def __init__(self, root: Path, task: str, n: int, w: int, resolution: float) -> None:
        folder = task_folder(Path(root), task)
        self.task, self.fixed = task, {"N": n, "W": w, "Resolution": resolution}
        self.valid = MetricModel(folder / "valid-acc")
        if not (folder / "runtime").is_dir():
            raise DataError(f"{folder}: no runtime model (the query's cost); JAHS-Bench-201 ships one per task")
        self.runtime = MetricModel(folder / "runtime")
        self.test = MetricModel(folder / "test-acc") if (folder / "test-acc").is_dir() else None
        self.space = JahsSpace()
        models = [m for m in (self.valid, self.runtime, self.test) if m is not None]
        self.sha256 = hashlib.sha256("".join(m.sha256 for m in models).encode()).hexdigest()
        self.sklearn_version = self.valid.sklearn_version

    def rows(self, codes: np.ndarray, epoch: float) -> list[dict[str, Any]]:
        return [{**c, **self.fixed, "epoch": float(epoch)} for c in self.space.configs(codes)]

    def predict(self, codes: np.ndarray, fidelity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        rows = self.rows(codes, fidelity)
        val, cost = self.valid.predict(rows), self.runtime.predict(rows)
        zero = np.zeros(len(rows))
        return {"val": (val, zero), "cost_s": (cost, zero)}

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.rows(codes, self.default_fidelity)
        valid = self.valid.predict(rows)
        return valid, (self.test.predict(rows) if self.test is not None else valid)

    def describe(self) -> dict[str, Any]:
        fixed = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
        test = "test-acc model" if self.test is not None else "valid-acc (no test-acc model in the folder)"
        return {"surrogate": f"JAHS-Bench-201 {self.task} (XGBoost per metric; pickled by sklearn "
                             f"{self.sklearn_version}; {fixed})",
                "surrogate_version": f"assembled_surrogates sha {self.sha256[:12]}",
                "data_sha256": self.sha256,
                "jahs_fidelity": fixed,
                "protocol": f"query = JAHS valid-acc prediction at the epoch fidelity (1-200), {fixed}; cost = its "
                            f"runtime prediction (s); report = valid-acc and {test} at epoch 200"}


@BENCHMARKS.register("jahs")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         noise: Literal["deterministic"] = "deterministic", n: Literal[1, 3, 5] = 5, w: Literal[4, 8, 16] = 16,
         resolution: Literal[0.25, 0.5, 1.0] = 1.0) -> SurrogateTask:
    """JAHS-Bench-201 on one task (cifar10, colorectal_histology, fashion_mnist); deterministic only."""
    if dataset not in TASKS:
        raise UnknownNameError(f"jahs has the tasks {', '.join(TASKS)}; got {dataset!r}")
    if noise != "deterministic":
        raise HarnessError("jahs has no noise model (one XGBoost per metric): use noise=deterministic")
    return SurrogateTask("jahs", dataset, JahsPredictor(data_dir(data), dataset, int(n), int(w), float(resolution)),
                         noise)
