"""Pure numpy aggregation of runs: values at exact budgets, bands over seeds, ranks, finals.

Nothing here draws or writes; tables and plots consume these arrays (Optuna's / Syne Tune's
split between computing plot data and drawing it).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import DataError
from reports.load import Run, RunSet, spent_fraction
from reports.names import order_datasets

METRICS = ("valid", "test")


def step_interpolate(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of ``y`` in force at each grid point: the last row with ``x <= t`` (NaN before the first).

    ``x`` is a non-decreasing cumulative cost; an incumbent only changes when a row is recorded,
    so the value at an exact budget is the one recorded at or before it, never a linear blend.
    """
    x, y, grid = np.asarray(x, float), np.asarray(y, float), np.asarray(grid, float)
    idx = np.searchsorted(x, grid, side="right") - 1
    return np.where(idx >= 0, y[np.maximum(idx, 0)] if len(y) else np.nan, np.nan)


def log_grid(start: float, stop: float, n: int = 200) -> np.ndarray:
    """``n`` log-spaced budget points from ``start`` to ``stop`` inclusive (both > 0)."""
    if not (0 < start <= stop):
        raise DataError(f"a log budget grid needs 0 < start <= stop, got start={start}, stop={stop}")
    return np.geomspace(start, stop, n)


def budget_grid(runset: RunSet, n: int = 200) -> np.ndarray:
    """Log grid from the earliest first-row cost of any run to the budget (or the largest spend)."""
    firsts = [r.cum_cost[r.cum_cost > 0][0] for r in runset.runs if np.any(r.cum_cost > 0)]
    if not firsts:
        raise DataError("no run charged any cost; cannot build a budget axis")
    max_cost = runset.budget[1]
    stop = max_cost if max_cost > 0 else max(r.final_cost for r in runset.runs)
    return log_grid(min(firsts), max(stop, min(firsts)), n)


def run_values(run: Run, metric: str) -> np.ndarray:
    """The incumbent's report value after each row for ``metric`` in ('valid', 'test')."""
    if metric not in METRICS:
        raise DataError(f"metric must be one of {METRICS}, got {metric!r}")
    return run.inc_valid if metric == "valid" else run.inc_test


def anytime_matrix(runs: Iterable[Run], grid: np.ndarray, metric: str) -> np.ndarray:
    """(n_runs, n_grid) incumbent value of each run at each budget point."""
    rows = [step_interpolate(r.cum_cost, run_values(r, metric), grid) for r in runs]
    return np.vstack(rows) if rows else np.empty((0, len(grid)))


@dataclass(frozen=True)
class Band:
    """A centre line with a lower/upper band over ``n`` seeds (NaN where any seed has no value)."""

    center: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: int


def mean_ci(values: np.ndarray, level: float = 0.95) -> Band:
    """Mean over axis 0 with a Student-t confidence band; one seed gives a zero-width band."""
    from scipy import stats as sps

    v = np.asarray(values, float)
    n = v.shape[0]
    mean = v.mean(axis=0)
    if n < 2:
        return Band(mean, mean.copy(), mean.copy(), n)
    half = sps.t.ppf(0.5 + level / 2, n - 1) * v.std(axis=0, ddof=1) / np.sqrt(n)
    return Band(mean, mean - half, mean + half, n)


def median_iqr(values: np.ndarray) -> Band:
    """Median over axis 0 with the inter-quartile range as band."""
    v = np.asarray(values, float)
    if v.shape[0] == 0:
        nan = np.full(v.shape[1:], np.nan)
        return Band(nan, nan, nan, 0)
    q25, med, q75 = np.percentile(v, [25, 50, 75], axis=0)
    return Band(med, q25, q75, v.shape[0])


def best_reference(runset: RunSet, metric: str) -> dict[tuple[str, str], float]:
    """Per task, the best report value any run's incumbent reached: the regret reference.

    The benchmark's true optimum is not stored in trajectories, so regret is measured against the
    best value found in this report ("regret w.r.t. best found").
    """
    ref: dict[tuple[str, str], float] = {}
    for r in runset.runs:
        v = run_values(r, metric)
        if np.any(np.isfinite(v)):
            ref[r.task] = max(ref.get(r.task, -np.inf), float(np.nanmax(v)))
    return ref


@dataclass(frozen=True)
class Curves:
    """Anytime bands: ``bands[(task, method)]`` over ``grid`` (cost in ``cost_unit``)."""

    grid: np.ndarray
    bands: dict[tuple[tuple[str, str], str], Band]
    metric: str
    regret: bool
    statistic: str  # "mean ± 95% CI" or "median, IQR"
    cost_unit: str


def anytime_curves(runset: RunSet, metric: str = "test", regret: bool = False,
                   median: bool = False, n_points: int = 200) -> Curves:
    """Incumbent ``metric`` (or its regret) vs cost for every (task, method), over seeds."""
    grid = budget_grid(runset, n_points)
    ref = best_reference(runset, metric) if regret else {}
    bands = {}
    for task in runset.tasks:
        for method in runset.methods:
            runs = runset.select(method, task)
            if not runs:
                continue
            m = anytime_matrix(runs, grid, metric)
            if regret:
                m = ref[task] - m
            bands[(task, method)] = median_iqr(m) if median else mean_ci(m)
    stat = "median, IQR" if median else "mean ± 95% CI"
    return Curves(grid, bands, metric, regret, stat, runset.cost_unit)


def average_ranks(scores: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Average rank (1 = best, ties share the mean rank) of k columns over the rows of (N, k).

    Rows holding a NaN are left out; the result is NaN when no complete row remains.
    """
    from scipy import stats as sps

    s = np.asarray(scores, float)
    s = s[~np.isnan(s).any(axis=1)]
    if s.shape[0] == 0:
        return np.full(scores.shape[1], np.nan)
    r = sps.rankdata(-s if higher_is_better else s, axis=1)
    return r.mean(axis=0)


def ranks_over_time(runset: RunSet, grid: np.ndarray, metric: str = "test",
                    median: bool = False) -> tuple[np.ndarray, str]:
    """(k, n_grid) average rank (1 = best) of ``runset.methods`` at each budget point, and the block.

    Each task is one block: the methods' mean (``median``) curves over seeds are ranked at each
    point (seeds of different methods share no randomness, so a seed is no block). Ranks are
    averaged over tasks from the first point where every task has all k incumbents (NaN before);
    tasks missing a method are left out. The second value says what was averaged.
    """
    from scipy import stats as sps

    methods = runset.methods
    center = np.median if median else np.mean
    blocks = []
    for task in runset.tasks:
        per = [runset.select(m, task) for m in methods]
        if any(not runs for runs in per):
            continue
        blocks.append(np.stack([center(anytime_matrix(runs, grid, metric), axis=0) for runs in per]))
    if not blocks:
        return np.full((len(methods), len(grid)), np.nan), "no task has every method"
    cube = np.stack(blocks)  # (N, k, grid)
    complete = ~np.isnan(cube).any(axis=1, keepdims=True)
    ranks = sps.rankdata(-np.nan_to_num(cube, nan=0.0), axis=1)  # 1 = highest value
    count = complete.sum(axis=0)  # (1, grid): blocks with every method present
    total = np.where(complete, ranks, 0.0).sum(axis=0)
    out = np.where(count == cube.shape[0], total / cube.shape[0], np.nan)
    return out, f"{cube.shape[0]} task(s) ({'median' if median else 'mean'} curves)"


@dataclass(frozen=True)
class Finals:
    """Final results, one entry per run: the source of tables and statistical tests.

    Built from a RunSet (``finals_from_runs``) or from in-memory records (``finals_from_records``),
    so ``compare`` and ``report`` share one table code path.
    """

    method: np.ndarray   # (n,) str
    task: np.ndarray     # (n,) str label (dataset, or benchmark/dataset)
    seed: np.ndarray     # (n,) int
    valid: np.ndarray    # (n,) final incumbent report_valid
    test: np.ndarray     # (n,) final incumbent report_test
    cost: np.ndarray     # (n,) total cost charged, in cost_unit
    wall: np.ndarray     # (n,) measured wall-clock seconds (NaN when unknown)
    evals: np.ndarray    # (n,) number of queries (NaN when unknown)
    train: np.ndarray    # (n,) measured seconds a one-shot method charged for its own training (NaN: none)
    cost_unit: str = "simulated_s"
    ended: np.ndarray | None = None  # (n,) "budget" / "method" (returned early) / "" (unknown)
    spent: np.ndarray | None = None  # (n,) fraction of the budget used (NaN: no limit known)
    order: tuple[str, ...] = ()      # datasets to show first, in this order (the study's)

    @property
    def methods(self) -> list[str]:
        return sorted(set(self.method.tolist()))

    @property
    def tasks(self) -> list[str]:
        """Task labels in the study's order (``order``), then the paper's, then as first seen."""
        return order_datasets(self.task.tolist(), self.order)

    def mask(self, task: str, method: str) -> np.ndarray:
        return (self.task == task) & (self.method == method)

    def values(self, task: str, method: str, metric: str) -> np.ndarray:
        """Values of one (task, method) ordered by seed; ``metric`` is valid/test/cost/wall/evals."""
        m = self.mask(task, method)
        order = np.argsort(self.seed[m], kind="stable")
        return getattr(self, metric)[m][order]

    def seeds(self, task: str, method: str) -> np.ndarray:
        return np.sort(self.seed[self.mask(task, method)])

    def under_spent(self) -> dict[str, tuple[int, int, float]]:
        """method -> (runs its method ended early, runs, mean fraction of the budget those spent),
        only for methods with such runs: identical budgets mean spent budgets."""
        if self.ended is None:
            return {}
        out = {}
        for m in self.methods:
            sel = self.method == m
            early = sel & (self.ended == "method")
            if early.any():
                frac = self.spent[early] if self.spent is not None else np.full(int(early.sum()), np.nan)
                out[m] = (int(early.sum()), int(sel.sum()),
                          float(np.nanmean(frac)) if np.isfinite(frac).any() else float("nan"))
        return out


def finals_from_runs(runset: RunSet, order: Iterable[str] = ()) -> Finals:
    """The final incumbent of every run in ``runset``; ``order``: datasets to show first."""
    rs = runset.runs
    return Finals(
        method=np.array([r.method for r in rs]), task=np.array([runset.task_label(r.task) for r in rs]),
        seed=np.array([r.seed for r in rs], dtype=np.int64),
        valid=np.array([r.final_valid for r in rs]), test=np.array([r.final_test for r in rs]),
        cost=np.array([r.final_cost for r in rs]), wall=np.array([r.wall_s for r in rs]),
        evals=np.array([r.n_evals for r in rs], dtype=float),
        train=np.array([r.train_s for r in rs], dtype=float),
        cost_unit=runset.cost_unit, ended=np.array([r.ended for r in rs], dtype=str),
        spent=np.array([r.spent for r in rs], dtype=float), order=tuple(order))


RECORD_KEYS = ("method", "dataset", "seed", "report_valid", "report_test", "cost_s")


def finals_from_records(records: Iterable[Mapping[str, Any]], cost_unit: str = "simulated_s",
                        budget: tuple[float, float, float] | None = None,
                        order: Iterable[str] = ()) -> Finals:
    """Finals from dicts with keys method, dataset, seed, report_valid, report_test, cost_s
    (optional: wall_s, n_evals, train_cost_s, ended); a missing key raises DataError naming it.
    A record's own ``budget`` (max evals, max cost, max epochs; -1 = none), else ``budget``, gives
    its spent fraction."""
    recs = list(records)
    for i, rec in enumerate(recs):
        missing = [k for k in RECORD_KEYS if k not in rec]
        if missing:
            raise DataError(f"result record {i} lacks key(s) {', '.join(missing)}")
    col = lambda k, t=float: np.array([rec[k] for rec in recs], dtype=t)
    return Finals(
        method=np.array([str(r["method"]) for r in recs]), task=np.array([str(r["dataset"]) for r in recs]),
        seed=col("seed", np.int64), valid=col("report_valid"), test=col("report_test"),
        cost=col("cost_s"), wall=np.array([float(r.get("wall_s", np.nan)) for r in recs]),
        evals=np.array([float(r.get("n_evals", np.nan)) for r in recs]),
        train=np.array([float(r.get("train_cost_s") or np.nan) for r in recs]),
        cost_unit=cost_unit, ended=np.array([str(r.get("ended", "")) for r in recs], dtype=str),
        spent=np.array([spent_fraction(r.get("budget") or budget, float(r["cost_s"]), float(r.get("n_evals", np.nan)))
                        if r.get("budget") or budget else np.nan for r in recs], dtype=float),
        order=tuple(order))


def normalized_scores(finals: Finals, metric: str = "test") -> dict[str, dict[str, np.ndarray]]:
    """method -> task -> final values rescaled per task to [0, 1] by the worst and best value any
    run reached there, so tasks of different difficulty can be pooled (IQM, performance profiles)."""
    out: dict[str, dict[str, np.ndarray]] = {m: {} for m in finals.methods}
    for task in finals.tasks:
        sel = finals.task == task
        vals = getattr(finals, metric)[sel]
        if not np.isfinite(vals).any():
            continue
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        span = hi - lo if hi > lo else 1.0
        for m in finals.methods:
            v = finals.values(task, m, metric)
            if len(v):
                out[m][task] = (v - lo) / span
    return out


def performance_profile(scores: dict[str, np.ndarray], taus: np.ndarray) -> np.ndarray:
    """Fraction of runs with normalized score > tau, averaged over tasks (each task weighs the same)."""
    per = [np.mean(v[np.isfinite(v)][:, None] > taus[None, :], axis=0) for v in scores.values()
           if np.isfinite(v).any()]
    return np.mean(per, axis=0) if per else np.full(len(taus), np.nan)


def paired_matrix(finals: Finals, task: str, methods: list[str], metric: str) -> np.ndarray | None:
    """(n_seeds, k) values when every method ran exactly the same seeds on ``task``, else None."""
    seeds = [finals.seeds(task, m) for m in methods]
    if not seeds or len(seeds[0]) == 0 or any(not np.array_equal(s, seeds[0]) for s in seeds):
        return None
    return np.column_stack([finals.values(task, m, metric) for m in methods])


def rank_blocks(finals: Finals, metric: str = "test", median: bool = False) -> tuple[np.ndarray, str]:
    """(N, k) scores over ``finals.methods`` for the Friedman test, and what a block is.

    Each task (benchmark x dataset) is one block, scored by each method's mean (``median``)
    over its seeds: seeds of different methods share no randomness, so (task, seed) is no block.
    Tasks missing a method are left out.
    """
    methods = finals.methods
    center = np.nanmedian if median else np.nanmean
    full = [t for t in finals.tasks if all(np.isfinite(finals.values(t, m, metric)).any() for m in methods)]
    scores = [[float(center(finals.values(t, m, metric))) for m in methods] for t in full]
    return np.array(scores, dtype=float).reshape(len(full), len(methods)), "tasks"
