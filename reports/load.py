"""Many stored runs -> one ``RunSet`` of small per-run arrays, checked for comparability.

Runs are found anywhere under a directory by the run store (``harness.store.scan``: packs, run
files, and journals of runs in progress) and grouped by their attributes, never by path. Reading
takes no lock and never disturbs a ``compare`` writing there. A file that cannot be read
(truncated, damaged, foreign) or a run that did not finish is skipped with a warning naming it;
inputs that cannot share one table (cost units, budgets) raise ``IncompatibleRunsError``.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from harness.budget import BUDGET_ATTRS
from harness.errors import DataError, HarnessError
from harness.recorder import STATUS_COMPLETE
from harness.identity import canonical
from harness.store import scan
from harness.trajectory import COLUMNS, KIND_CHARGE, KIND_QUERY, Trajectory, incumbent_rows
from reports.predictor_quality import declared, quality_of

log = logging.getLogger(__name__)

PROVENANCE_ATTRS = ("package_version", "data_sha256", "protocol",
                    "surrogate", "surrogate_version", "training_sha256", "noise")  # surrogate benchmarks


class IncompatibleRunsError(HarnessError):
    """Runs that cannot be compared in one report (different cost units, budgets, duplicates)."""


class NoRunsError(DataError):
    """A directory with no usable trajectory."""


@dataclass(frozen=True)
class Run:
    """One finished run reduced to what reports need: its incumbent after each row."""

    path: Path
    method: str
    benchmark: str
    dataset: str
    seed: int
    cost_unit: str
    budget: tuple[float, float, float]  # max evals, max cost (s), max epochs; -1 = no limit
    cum_cost: np.ndarray    # (n,) cumulative cost after each row; simulated wall-clock under --sim-workers
    inc_valid: np.ndarray   # (n,) report_valid of the incumbent after each row (NaN before one)
    inc_test: np.ndarray    # (n,) report_test of the incumbent after each row
    wall_s: float           # measured wall-clock seconds of the whole run
    n_evals: int            # query rows (kind 0)
    train_s: float = float("nan")  # measured seconds of a one-shot method's own training (kind 1 rows)
    quality: dict[str, float] = field(default_factory=dict)  # Kendall tau of the method's model (surrogates)
    ended: str = ""         # "budget", or "method" when the method returned early ("" in older files)
    provenance: tuple[tuple[str, str], ...] = ()  # PROVENANCE_ATTRS present in the file, for the report

    @property
    def task(self) -> tuple[str, str]:
        return (self.benchmark, self.dataset)

    @property
    def final_cost(self) -> float:
        return float(self.cum_cost[-1]) if len(self.cum_cost) else 0.0

    @property
    def spent(self) -> float:
        """Fraction of the budget used: the largest of cost / max cost and queries / max queries
        (NaN without a limit); below 1 for a run its method ended early."""
        return spent_fraction(self.budget, self.final_cost, self.n_evals)

    @property
    def under_spent(self) -> bool:
        return self.ended == "method"

    @property
    def final_valid(self) -> float:
        return float(self.inc_valid[-1]) if len(self.inc_valid) else float("nan")

    @property
    def final_test(self) -> float:
        return float(self.inc_test[-1]) if len(self.inc_test) else float("nan")


@dataclass(frozen=True)
class RunSet:
    """Comparable runs: one cost unit, and one budget per task (the same for every task, or per
    dataset as NATS-Bench's protocol has it); tasks are (benchmark, dataset) pairs."""

    runs: tuple[Run, ...]
    cost_unit: str
    budgets: dict[tuple[str, str], tuple[float, float, float]]
    skipped: tuple[str, ...] = field(default=())  # one line per file left out, for the report

    @property
    def budget(self) -> tuple[float, float, float]:
        """The largest limit on each axis over the tasks (the one budget when all tasks share it)."""
        return tuple(max(b[i] for b in self.budgets.values()) for i in range(3))  # type: ignore[return-value]

    def budget_text(self) -> str:
        """'max_cost_s=12000', or each task's budget when they differ."""
        distinct = set(self.budgets.values())
        if len(distinct) == 1:
            return budget_label(next(iter(distinct)))
        return "; ".join(f"{self.task_label(t)}: {budget_label(self.budgets[t])}" for t in self.tasks)

    @cached_property
    def methods(self) -> list[str]:
        return sorted({r.method for r in self.runs})

    @cached_property
    def tasks(self) -> list[tuple[str, str]]:
        return sorted({r.task for r in self.runs})

    def provenance(self) -> dict[str, list[str]]:
        """Each provenance attribute -> its distinct values over the runs (sorted)."""
        seen: dict[str, set[str]] = {}
        for r in self.runs:
            for k, v in r.provenance:
                seen.setdefault(k, set()).add(v)
        return {k: sorted(seen[k]) for k in PROVENANCE_ATTRS if k in seen}

    @cached_property
    def _one_benchmark(self) -> bool:
        return len({t[0] for t in self.tasks}) == 1

    def task_label(self, task: tuple[str, str]) -> str:
        """The dataset name, prefixed by the benchmark only when several benchmarks are present
        (O(1): the benchmarks are counted once per RunSet)."""
        return task[1] if self._one_benchmark else f"{task[0]}/{task[1]}"

    @cached_property
    def _groups(self) -> dict[tuple[str, tuple[str, str]], list[Run]]:
        groups: dict[tuple[str, tuple[str, str]], list[Run]] = {}
        for r in self.runs:
            groups.setdefault((r.method, r.task), []).append(r)
        for runs in groups.values():
            runs.sort(key=lambda r: r.seed)
        return groups

    def select(self, method: str, task: tuple[str, str]) -> list[Run]:
        """Runs of one method on one task, ordered by seed (grouped once, so a report stays linear)."""
        return list(self._groups.get((method, task), ()))


def run_from_trajectory(traj: Trajectory, path: Path, declarations: dict[str, str] | None = None) -> Run:
    """Reduce a trajectory to its incumbent curve; attributes missing from the file raise DataError."""
    a = traj.attrs
    missing = [k for k in ("method", "benchmark", "dataset", "seed", *BUDGET_ATTRS) if k not in a]
    if missing:
        raise DataError(f"{path}: trajectory lacks attribute(s) {', '.join(missing)}")
    rows = incumbent_rows(traj)
    has = rows >= 0
    safe = np.where(has, rows, 0)
    wall = traj["wall_s"]
    return Run(
        path=Path(path), method=str(a["method"]), benchmark=str(a["benchmark"]),
        dataset=str(a["dataset"]), seed=int(a["seed"]),
        cost_unit=str(a.get("cost_unit", "simulated_s")),
        budget=tuple(float(a[k]) for k in BUDGET_ATTRS),  # type: ignore[arg-type]
        # the time axis: charged seconds, or the simulated wall-clock of N parallel workers (harness/simclock.py)
        cum_cost=np.asarray(traj["wall_s" if "sim_workers" in a else "cum_cost_s"], dtype=np.float64),
        inc_valid=np.where(has, traj["report_valid"][safe], np.nan),
        inc_test=np.where(has, traj["report_test"][safe], np.nan),
        wall_s=float(np.nanmax(wall)) if len(wall) else 0.0,
        n_evals=int(np.sum(traj["kind"] == KIND_QUERY)),
        train_s=float(traj["cost_s"][charge].sum()) if (charge := traj["kind"] == KIND_CHARGE).any() else float("nan"),
        quality=quality_of(a, declarations),
        ended=str(a.get("ended", "")),
        provenance=tuple((k, str(a[k])) for k in PROVENANCE_ATTRS if k in a),
    )


def spent_fraction(budget: tuple[float, float, float], cost: float, evals: float) -> float:
    """The largest used fraction of the budget's cost and query limits (NaN when neither is set)."""
    fracs = [used / limit for used, limit in ((evals, budget[0]), (cost, budget[1])) if limit > 0]
    return float(max(fracs)) if fracs else float("nan")


def _stored(root: str | os.PathLike) -> Iterator[tuple[Path, Path, Trajectory, DataError | None]]:
    """(file, locator, trajectory, error) for every run the store finds under ``root`` (or in
    ``root`` itself when it is a file)."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root} does not exist (a folder of runs from `compare --out`, or a run file)")
    for path, runs, error in scan(root):
        if error is not None:
            yield path, path, Trajectory.empty(0), error
            continue
        for run in runs or ():
            yield path, Path(run.location), run.trajectory, None


def load_runs(root: str | os.PathLike, include_running: bool = False) -> RunSet:
    """Read every trajectory under ``root`` into a checked RunSet.

    Unreadable files and unfinished runs (status "running", unless ``include_running``) are
    skipped with a warning naming them. Raises NoRunsError when nothing usable is left and
    IncompatibleRunsError when the runs mix cost units or budgets, or repeat a (method, task, seed).
    """
    runs: list[Run] = []
    names = declared()  # the methods' MODEL_QUALITY, gathered once for every run
    skipped: list[str] = []
    files: set[Path] = set()
    for file, path, traj, error in _stored(root):
        files.add(file)
        try:
            if error is not None:
                raise error
            run = run_from_trajectory(traj, path, names)
        except DataError as exc:
            skipped.append(f"skipped {exc}")
            log.warning("skipped %s", exc)
            continue
        if traj.attrs.get("status") != STATUS_COMPLETE and not include_running:
            skipped.append(f"skipped {path}: run not complete (status {traj.attrs.get('status')!r})")
            log.warning("%s", skipped[-1])
            continue
        if len(traj) == 0:
            skipped.append(f"skipped {path}: no evaluations")
            log.warning("%s", skipped[-1])
            continue
        runs.append(run)
    if not runs:
        raise NoRunsError(f"no usable trajectory (*.h5) under {root} "
                          f"({len(files)} file(s) found, {len(skipped)} skipped)")
    return check_runs(runs, tuple(skipped))


def budget_label(budget: tuple[float, float, float]) -> str:
    """E.g. 'max_cost_s=12000' (limits of -1 are left out)."""
    parts = [f"{k[len('budget_'):]}={v:g}" for k, v in zip(BUDGET_ATTRS, budget) if v >= 0]
    return ", ".join(parts) or "no limit"


def _label(key: Any) -> str:
    return budget_label(key) if isinstance(key, tuple) else str(key)


def _distinct(runs: list[Run], key: Any, what: str) -> Any:
    groups: dict[Any, list[Run]] = {}
    for r in runs:
        groups.setdefault(key(r), []).append(r)
    if len(groups) > 1:
        parts = "; ".join(f"{_label(k)} ({len(v)} runs, e.g. {v[0].path})" for k, v in groups.items())
        raise IncompatibleRunsError(f"runs mix {what}: {parts}; report them from separate directories")
    return next(iter(groups))


def check_runs(runs: list[Run], skipped: tuple[str, ...] = ()) -> RunSet:
    """One cost unit, one budget per task, no repeated (method, benchmark, dataset, seed)."""
    unit = _distinct(runs, lambda r: r.cost_unit, "cost units")
    by_task: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        by_task.setdefault(r.task, []).append(r)
    budgets = {t: _distinct(rs, lambda r: r.budget, f"budgets on {t[1]}") for t, rs in by_task.items()}
    seen: dict[tuple[str, str, str, int], Path] = {}
    for r in runs:
        key = (r.method, r.benchmark, r.dataset, r.seed)
        if key in seen:
            raise IncompatibleRunsError(
                f"two runs of method {r.method} on {r.dataset} with seed {r.seed}: "
                f"{seen[key]} and {r.path}")
        seen[key] = r.path
    return RunSet(tuple(runs), unit, budgets, skipped)


# one row per evaluation (export, DataFrames)
EVAL_COLUMNS = ("row", "codes", *COLUMNS)  # per-row columns; every other column is a run attribute
_RUN_KEYS = ("benchmark", "dataset", "method", "seed")  # first among the attribute columns
_LEFT_OUT = ("identity", "digest")  # the identity repeats the other attributes; the digest is the file's


def evaluation_columns(root: str | os.PathLike, include_running: bool = False) -> dict[str, np.ndarray]:
    """Every evaluation of every run under ``root`` as equal-length columns: the run's attributes
    (containers as canonical JSON text; a key a run lacks is None there; the identity text,
    which repeats them, left out), ``row`` (its position in
    the run), ``codes`` (the architecture's codes, comma-joined) and the trajectory's own columns.
    One pass over the store, each run's rows added as whole arrays (linear in runs and rows);
    unreadable files and, unless ``include_running``, unfinished runs are skipped with a warning."""
    runs: list[Trajectory] = []
    for _, path, traj, error in _stored(root):
        if error is not None:
            log.warning("skipped %s", error)
            continue
        if traj.attrs.get("status") != STATUS_COMPLETE and not include_running:
            log.warning("skipped %s: run not complete (status %r)", path, traj.attrs.get("status"))
            continue
        runs.append(traj)
    finished = {t.attrs.get("run_id") for t in runs if t.attrs.get("status") == STATUS_COMPLETE}
    runs = [t for t in runs if t.attrs.get("status") == STATUS_COMPLETE or t.attrs.get("run_id") not in finished]
    if not runs:
        raise NoRunsError(f"no usable trajectory (*.h5) under {root}")
    keys = list(dict.fromkeys(k for t in runs for k in t.attrs if k not in EVAL_COLUMNS and k not in _LEFT_OUT))
    keys = [k for k in _RUN_KEYS if k in keys] + sorted(k for k in keys if k not in _RUN_KEYS)
    lengths = np.array([len(t) for t in runs], dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for key in keys:
        values = [_attr_value(t.attrs.get(key)) for t in runs]
        out[key] = np.repeat(_attr_array(values), lengths)
    out["row"] = np.concatenate([np.arange(n, dtype=np.int64) for n in lengths])
    out["codes"] = np.concatenate([np.array([",".join(map(str, c)) for c in t.codes.tolist()], dtype=object)
                                   for t in runs])
    for col, dtype in COLUMNS.items():
        out[col] = np.concatenate([np.asarray(t[col], dtype=dtype) for t in runs])
    return out


def _attr_value(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        return canonical(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value


def _attr_array(values: list[Any]) -> np.ndarray:
    """A typed array when every run has a value of one scalar kind, else an object array (None where absent)."""
    kinds = {type(v) for v in values}
    if kinds <= {int} or kinds <= {float} or kinds <= {bool} or kinds <= {int, float} and bool not in kinds:
        return np.asarray(values)
    return np.array(values, dtype=object)


def to_dataframe(root: str | os.PathLike, include_running: bool = False) -> Any:
    """``evaluation_columns(root)`` as a pandas DataFrame, one tidy row per evaluation (what
    ``python -m harness export`` writes); pandas comes with the ``export`` extra."""
    try:
        import pandas as pd
    except ImportError:
        raise HarnessError("to_dataframe needs pandas: pip install 'nas-harness[export]'") from None
    return pd.DataFrame(evaluation_columns(root, include_running))
