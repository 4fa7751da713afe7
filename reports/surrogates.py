"""Quality of the predictors and surrogates that model-based methods keep, as Kendall tau, gathered from
the trajectory attributes they write (``report_attrs``) so that a report shows how well each model
ranked architectures next to the accuracy it reached (a good search with a blind model is luck).

predictor_evolution writes ``kendall_tau_cv`` (out-of-fold tau over its first paid labels) and
``kendall_tau_next_round`` (tau of its predictions for the cells it then paid for); pnas writes
``surrogate_tau`` as [level, trained, tau] per stage.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

if TYPE_CHECKING:
    from reports.load import RunSet

LABELS = {"kendall_tau_cv": "τ cross-validated", "kendall_tau_next_round": "τ on the next round"}


def quality_of(attrs: Mapping[str, Any]) -> dict[str, float]:
    """The finite tau values a run's attributes hold, by name; {} for methods without a model."""
    out = {k: float(attrs[k]) for k in LABELS if k in attrs and np.isfinite(float(attrs[k]))}
    stages = attrs.get("surrogate_tau")
    if stages is not None:
        by_level: dict[int, list[float]] = {}
        for level, _, t in (json.loads(stages) if isinstance(stages, str) else stages):
            if t is not None and np.isfinite(t):
                by_level.setdefault(int(level), []).append(float(t))
        out.update({f"surrogate_tau_L{lv}": float(np.mean(ts)) for lv, ts in sorted(by_level.items())})
    return out


def label(key: str) -> str:
    if key.startswith("surrogate_tau_L"):
        return f"τ surrogate, level {key.rsplit('L', 1)[1]}"
    return LABELS.get(key, key)


def quality_grid(runs: "RunSet") -> tuple[list[str], list[list[tuple[str, bool]]]] | None:
    """One row per (method, dataset) whose runs report a tau: mean ± std over runs (n when not all
    runs have it); None when no run does."""
    keys = sorted({k for r in runs.runs for k in r.quality})
    if not keys:
        return None
    header = ["method", "dataset", *(label(k) for k in keys)]
    rows = []
    for m in runs.methods:
        for task in runs.tasks:
            sel = runs.select(m, task)
            if not any(r.quality for r in sel):
                continue
            cells = []
            for k in keys:
                v = np.array([r.quality[k] for r in sel if k in r.quality])
                text = "—" if v.size == 0 else f"{v.mean():.3f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.3f}"
                cells.append((text + (f" (n={v.size})" if 0 < v.size < len(sel) else ""), False))
            rows.append([(m, False), (runs.task_label(task), False), *cells])
    return header, rows
