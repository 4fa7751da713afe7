"""NAS-Bench-301 v1.0's own model files, read with today's libraries: the ensemble folders
(``xgb_v1.0/``: XGBoost members predicting validation accuracy; ``lgb_runtime_v1.0/``: LightGBM
members predicting runtime), each member a folder with ``surrogate_model.model`` (a pickled booster),
``data_config.json`` and ``model_config.json``; ``configspace.json`` gives the input vector
(benchmarks/surrogates/nb301_config.py). The GIN members need torch-geometric and are not read.

A pickle can run code: only the booster classes of xgboost and lightgbm (and numpy arrays) are let
through. NB301's noise model is the ensemble's spread: the ``surrogate`` policy draws
mean + std x N(0, 1) from the members' std, as its ``query with noise`` does.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spaces.darts import DartsSpace
from benchmarks.surrogates.nb301_config import COMPLETION, ConfigEncoder
from harness.errors import DataError

_ALLOWED = ("xgboost.", "lightgbm.", "numpy", "collections", "copyreg", "builtins")
_BUILTINS = {"bytearray", "bytes", "dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "object"}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name not in _BUILTINS:
            raise pickle.UnpicklingError(f"refused builtins.{name}")
        if not module.startswith(_ALLOWED):
            raise pickle.UnpicklingError(f"refused {module}.{name} (only xgboost / lightgbm boosters)")
        return super().find_class(module, name)


def load_member(path: Path) -> Any:
    """One pickled booster; a refused or unreadable pickle is one line naming the file."""
    try:
        with open(path, "rb") as f:
            return _Unpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: cannot read this booster with today's libraries "
                        f"({type(exc).__name__}: {exc})") from None


class EnsembleDir:
    """One NB301 ensemble folder: its members and their configs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        files = sorted(folder.rglob("*surrogate_model.model"))
        if not files:
            raise DataError(f"{folder}: no *surrogate_model.model member (NAS-Bench-301 v1.0 layout)")
        member = files[0].parent
        try:
            self.model_config = json.loads((member / "model_config.json").read_text())
            self.data_config = json.loads((member / "data_config.json").read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{member}: model_config.json / data_config.json unreadable ({exc})") from None
        self.kind = str(self.model_config.get("model", ""))
        self.members = [load_member(p) for p in files]
        h = hashlib.sha256()
        for p in files:
            h.update(p.read_bytes())
        self.sha256 = h.hexdigest()
        self._forest = None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(members, rows) predictions."""
        first = self.members[0]
        if type(first).__module__.startswith("xgboost"):
            if self._forest is None:  # the trees as numpy arrays: one-row queries without XGBoost's per-call cost
                from benchmarks.surrogates.forest import Forest

                self._forest = Forest([json.loads(bytes(b.save_raw("json"))) for b in self.members])
            return self._forest.members(x)
        return np.stack([np.asarray(m.predict(x), np.float64) for m in self.members])


def _find(root: Path, pattern: str) -> Path:
    hits = sorted(p for p in root.rglob(pattern) if p.is_dir()) if root.is_dir() else []
    if not hits:
        raise DataError(f"no {pattern} folder under {root} (the NAS-Bench-301 v1.0 models, unzipped)")
    return hits[0]


class NB301Predictor:
    """NB301's XGBoost accuracy and LightGBM runtime ensembles over the DARTS space."""

    fidelities, default_fidelity = (100.0,), 100.0

    def __init__(self, root: Path, partial_cells: str = "complete") -> None:
        root = Path(root)
        self.partial_cells = partial_cells
        spaces = sorted(root.rglob("configspace.json")) if root.is_dir() else []
        if not spaces:
            raise DataError(f"no configspace.json under {root} (NAS-Bench-301's, beside the model folders)")
        self.encoder = ConfigEncoder(spaces[0])
        self.accuracy = EnsembleDir(_find(root, "xgb_v*"))
        self.runtime = EnsembleDir(_find(root, "lgb_runtime_v*"))
        self.space = DartsSpace()
        self.version = self.accuracy.folder.name.rsplit("_v", 1)[-1]

    def predict(self, codes: np.ndarray, fidelity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        x = self.encoder.encode(codes, self.partial_cells)
        acc, rt = self.accuracy.predict(x), self.runtime.predict(x)
        return {"val": (acc.mean(axis=0), acc.std(axis=0)), "cost_s": (rt.mean(axis=0), rt.std(axis=0))}

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc = self.accuracy.predict(self.encoder.encode(codes, self.partial_cells)).mean(axis=0)
        return acc, acc

    def describe(self) -> dict[str, Any]:
        acc, rt = self.accuracy, self.runtime
        return {"surrogate": f"NAS-Bench-301 v{self.version} ({acc.kind} accuracy x{len(acc.members)}, "
                             f"{rt.kind} runtime x{len(rt.members)})",
                "surrogate_version": self.version,
                "partial_cells": COMPLETION if self.partial_cells == "complete" else "refused",
                "data_sha256": hashlib.sha256((self.accuracy.sha256 + self.runtime.sha256).encode()).hexdigest(),
                "protocol": "query = NB301 ensemble's predicted CIFAR-10 validation accuracy (100 epochs); cost = "
                            "predicted runtime (s); report = the mean predicted validation accuracy (no test model)"}
