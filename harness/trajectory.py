"""A run's evaluations as columns, plus pure transforms (incumbent, final result)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Row kinds: a query of an architecture, a charge for the method's own training (one-shot methods),
# and the final architecture a one-shot method returns (looked up / trained by the harness).
KIND_QUERY, KIND_CHARGE, KIND_FINAL = 0, 1, 2

COLUMNS: dict[str, Any] = {
    "arch_index": np.int64,   # index in the space's official numbering, -1 where there is none
    "fidelity": np.float32,   # epochs the queried result was trained for
    "cost_s": np.float64,     # seconds charged for this row
    "cum_cost_s": np.float64, # seconds charged so far, this row included
    "epochs": np.float64,     # epochs charged for this row
    "val": np.float64,        # the validation value the method saw
    "report_valid": np.float64,  # final-protocol validation accuracy (harness only)
    "report_test": np.float64,   # final-protocol test accuracy (harness only; never shown to methods)
    "wall_s": np.float64,     # wall-clock seconds since the run started
    "kind": np.uint8,         # KIND_QUERY / KIND_CHARGE / KIND_FINAL
}


@dataclass
class Trajectory:
    """Columns of equal length; ``codes`` is (n, n_dims)."""

    codes: np.ndarray
    columns: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @classmethod
    def empty(cls, n_dims: int, attrs: dict[str, Any] | None = None) -> "Trajectory":
        cols = {k: np.zeros(0, dtype=t) for k, t in COLUMNS.items()}
        return cls(np.zeros((0, n_dims), dtype=np.int16), cols, dict(attrs or {}))

    def head(self, n: int) -> "Trajectory":
        return Trajectory(self.codes[:n], {k: v[:n] for k, v in self.columns.items()}, self.attrs)


def incumbent_rows(traj: Trajectory) -> np.ndarray:
    """Row index of the incumbent after each row (-1 before the first query).

    The incumbent is the best value the method saw at the highest fidelity seen so far; when a
    one-shot method returns a final architecture, that row is the incumbent from then on.
    """
    n = len(traj)
    out = np.full(n, -1, dtype=np.int64)
    kind, val, fid = traj["kind"], traj["val"], traj["fidelity"]
    if n == 0:
        return out
    query = kind == KIND_QUERY
    if np.all(query) and np.all(fid == fid[0]):
        # fast path for single-fidelity black-box runs: running arg-max of val
        v = np.where(np.isnan(val), -np.inf, val)
        best = np.maximum.accumulate(v)
        is_new = np.empty(n, dtype=bool)
        is_new[0] = True
        np.greater(best[1:], best[:-1], out=is_new[1:])
        return np.maximum.accumulate(np.where(is_new, np.arange(n), 0))
    best, best_fid, final = -1, -np.inf, -1
    for i in range(n):
        if kind[i] == KIND_FINAL:
            final = i
        elif kind[i] == KIND_QUERY and not np.isnan(val[i]):
            if fid[i] > best_fid or (fid[i] == best_fid and val[i] > val[best]):
                best, best_fid = i, fid[i]
        out[i] = final if final >= 0 else best
    return out


def final_incumbent(traj: Trajectory) -> dict[str, float]:
    """Report values of the run's final incumbent (NaN where the run has no query)."""
    rows = incumbent_rows(traj)
    i = int(rows[-1]) if len(rows) else -1
    if i < 0:
        return {"val": np.nan, "report_valid": np.nan, "report_test": np.nan,
                "arch_index": -1, "cost_s": float(traj["cum_cost_s"][-1]) if len(traj) else 0.0}
    return {
        "val": float(traj["val"][i]),
        "report_valid": float(traj["report_valid"][i]),
        "report_test": float(traj["report_test"][i]),
        "arch_index": int(traj["arch_index"][i]),
        "cost_s": float(traj["cum_cost_s"][-1]),
    }
