"""Predictor quality: the Kendall tau of the accuracy predictors and surrogates that model-based methods
keep, gathered from the trajectory attributes they write (``report_attrs``), so that a report shows how
well each model ranked architectures next to the accuracy it reached (a good search with a blind model
is luck).

Which attributes hold a tau is each method's own declaration, ``MODEL_QUALITY = {attribute: label}``
on its class (``harness/protocols.py``): a number is one tau; a list of ``[stage, n, tau]`` rows is one
tau per stage, reported as ``<attribute>_L<stage>`` and labelled ``<label>, level <stage>``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from reports.load import RunSet


def declared() -> dict[str, str]:
    """attribute -> label, over every registered method's ``MODEL_QUALITY``."""
    from harness.registry import METHODS

    out: dict[str, str] = {}
    for name in METHODS.names():
        out.update(getattr(METHODS.get(name), "MODEL_QUALITY", {}))
    return out


def quality_of(attrs: Mapping[str, Any], declarations: Mapping[str, str] | None = None) -> dict[str, float]:
    """The finite tau values a run's attributes hold, by key; {} for methods without a model."""
    out: dict[str, float] = {}
    for key in declared() if declarations is None else declarations:
        if key not in attrs:
            continue
        value = json.loads(attrs[key]) if isinstance(attrs[key], str) else attrs[key]
        if np.ndim(value) == 0:
            if np.isfinite(float(value)):
                out[key] = float(value)
            continue
        by_stage: dict[int, list[float]] = {}
        for stage, _, t in value:
            if t is not None and np.isfinite(t):
                by_stage.setdefault(int(stage), []).append(float(t))
        out.update({f"{key}_L{lv}": float(np.mean(ts)) for lv, ts in sorted(by_stage.items())})
    return out


def label(key: str, declarations: Mapping[str, str] | None = None) -> str:
    """The column title of a key of ``quality_of``."""
    names = declared() if declarations is None else declarations
    if key in names:
        return names[key]
    attr, sep, stage = key.rpartition("_L")
    return f"{names[attr]}, level {stage}" if sep and attr in names else key


def quality_grid(runs: RunSet) -> tuple[list[str], list[list[tuple[str, bool]]]] | None:
    """One row per (method, dataset) whose runs report a tau: mean ± std over runs (n when not all
    runs have it); None when no run does."""
    keys = sorted({k for r in runs.runs for k in r.quality})
    if not keys:
        return None
    names = declared()
    header = ["method", "dataset", *(label(k, names) for k in keys)]
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
