"""``surrogate``: any study on a surrogate fitted by ``python -m harness surrogate fit`` (``--data FILE``).

A query at the model's fidelity returns the predicted validation value and charges the predicted
seconds; the report is the mean prediction of the source's final protocol (stated in ``protocol``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from benchmarks.surrogates.features import space_of
from benchmarks.surrogates.model import SurrogateModel, load
from benchmarks.surrogates.task import SurrogateTask
from harness.config import data_dir
from harness.errors import DataError
from harness.registry import BENCHMARKS


class FittedPredictor:
    """A surrogate file as a predictor: one fidelity (the one its data were measured at)."""

    def __init__(self, model: SurrogateModel, path: Path) -> None:
        self.model, self.path = model, path
        self.space = space_of(model.space_name)
        self.fidelities = (model.fidelity,)
        self.default_fidelity = model.fidelity

    def predict(self, codes: np.ndarray, fidelity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        pred = self.model.predict(codes)
        return {"val": pred["val"], "cost_s": pred["cost_s"],
                **{k: pred[k] for k in ("report_valid", "report_test") if k in pred}}

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.model.predict(codes)
        valid = x.get("report_valid", x["val"])[0]
        return valid, x.get("report_test", (valid, None))[0]

    def describe(self) -> dict[str, Any]:
        m = self.model.manifest
        return {"surrogate": f"fitted ({m.get('source', '?')})", "surrogate_file": self.path.name,
                "surrogate_version": f"{m.get('format')}/{m.get('format_version')} "
                                     f"by nas-harness {m.get('package_version')}",
                "data_sha256": self.model.sha256, "training_sha256": m.get("training_sha256", ""),
                "protocol": f"surrogate of: {m.get('protocol', '?')}; report = mean predictions "
                            f"({'report_valid/report_test' if 'report_test' in self.model.targets else 'val'})",
                **({"partial_cells": "in the training data" if m["partial_cells"] else
                    "extrapolated: the training data hold full cells only"} if "partial_cells" in m else {})}


@BENCHMARKS.register("surrogate")
def make(dataset: str, *, data: Path | str | None = None, cache: Path | str | None = None,
         noise: Literal["deterministic", "surrogate"] = "deterministic") -> SurrogateTask:
    """A surrogate file (``--data FILE``, from ``surrogate fit``); ``noise`` is the query noise policy."""
    path = data_dir(data)
    if path.is_dir():
        raise DataError(f"--data {path} is a folder: the surrogate benchmark reads one file from `surrogate fit`")
    model = load(path)
    fitted_on = model.manifest.get("dataset")
    if fitted_on and dataset != fitted_on:
        raise DataError(f"{path.name} was fitted on dataset {fitted_on!r}, not {dataset!r}: use --dataset {fitted_on}")
    return SurrogateTask("surrogate", dataset, FittedPredictor(model, path), noise)
