"""Runs methods on tasks: one metered, recorded, resumable run, and the compare grid over seeds."""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from harness.budget import Budget
from harness.errors import BudgetExhausted, HarnessError, UnknownNameError
from harness.evaluator import MeteredEvaluator, describe
from harness.protocols import Task
from harness.recorder import STATUS_COMPLETE, Recorder, read_trajectory, run_status
from harness.registry import BENCHMARKS, METHODS
from harness.seeding import stream
from harness.trajectory import KIND_CHARGE, final_incumbent

log = logging.getLogger(__name__)


def make_config(method: str, overrides: dict[str, Any] | None) -> Any:
    """The method's frozen Config with user overrides; unknown keys are named in the error."""
    cls = METHODS.get(method)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    unknown = sorted(set(overrides or {}) - fields)
    if unknown:
        raise UnknownNameError(f"unknown {method} option(s) {', '.join(unknown)}; options: {', '.join(sorted(fields))}")
    return cls.Config(**(overrides or {}))


def run_path(out: Path, benchmark: str, dataset: str, method: str, seed: int) -> Path:
    return Path(out) / benchmark / dataset / method / f"seed-{seed}.h5"


def run_one(method: str, task: Task, budget: Budget, seed: int, path: Path,
            config: dict[str, Any] | None = None, flush_s: float = 0.0) -> dict[str, Any]:
    """One search run recorded to ``path``; a complete file is skipped, a partial one resumed."""
    cfg = make_config(method, config)
    attrs = {**task.attrs(), "method": method, "config": dataclasses.asdict(cfg), "seed": int(seed),
             **budget.as_attrs()}
    status = run_status(Path(path), attrs)
    replay = None
    if status == "corrupt":
        aside = Path(path).with_name(Path(path).name + ".corrupt")
        os.replace(path, aside)
        log.warning("%s was unreadable; moved to %s and starting the run again", path, aside)
    elif status == STATUS_COMPLETE:
        traj = read_trajectory(path)
        return {**_summary(method, task, seed, path, traj), "skipped": True}
    elif status is not None:
        replay = read_trajectory(path)
    recorder = Recorder(Path(path), task.space.n_dims, attrs, flush_s=flush_s, existing=replay)
    evaluator = MeteredEvaluator(task, budget, recorder, replay=replay)
    rng = stream(seed, "method", method)
    instance = METHODS.get(method)(task.space, rng, cfg)
    try:
        instance.search(evaluator)
    except BudgetExhausted:
        pass
    except BaseException:
        recorder.close(complete=False)
        raise
    recorder.close(complete=True, extra_attrs=describe(evaluator))
    return {**_summary(method, task, seed, path, recorder.trajectory()), "skipped": False}


def _summary(method: str, task: Task, seed: int, path: Path, traj: Any) -> dict[str, Any]:
    return {"method": method, "dataset": task.attrs()["dataset"], "benchmark": task.attrs()["benchmark"],
            "seed": int(seed), "path": str(path), "n_evals": int((traj["kind"] == 0).sum()),
            "cost_unit": task.attrs()["cost_unit"], **final_incumbent(traj),
            # a one-shot method's own training, charged in measured seconds (NB201 paper's "search (s)")
            "train_cost_s": float(traj["cost_s"][traj["kind"] == KIND_CHARGE].sum())}


@dataclass(frozen=True)
class CompareSpec:
    """Everything a comparison needs; saved next to its results."""

    benchmark: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: Budget
    out: Path
    method_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    cache: str | None = None
    workers: int = 1
    flush_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.seeds:
            raise HarnessError("no seeds to run")
        for m in self.methods:
            METHODS.get(m)  # unknown names fail before any work
        BENCHMARKS.get(self.benchmark)


def _jobs(spec: CompareSpec) -> list[tuple[str, str, int]]:
    return [(ds, m, s) for ds in spec.datasets for m in spec.methods for s in spec.seeds]


def _work(spec: CompareSpec, tasks: dict[str, Task], job: tuple[str, str, int]) -> dict[str, Any]:
    ds, m, s = job
    return run_one(m, tasks[ds], spec.budget, s, run_path(spec.out, spec.benchmark, ds, m, s),
                   spec.method_configs.get(m), spec.flush_s)


_WORKER: dict[str, Any] = {}  # per-process: filled by the pool initializer in forked workers only


def _init_worker(spec: CompareSpec, tasks: dict[str, Task]) -> None:
    _WORKER["spec"], _WORKER["tasks"] = spec, tasks


def _work_in_worker(job: tuple[str, str, int]) -> dict[str, Any]:
    return _work(_WORKER["spec"], _WORKER["tasks"], job)


def make_tasks(spec: CompareSpec) -> dict[str, Task]:
    factory = BENCHMARKS.get(spec.benchmark)
    return {ds: factory(ds, data=spec.data, cache=spec.cache, **spec.benchmark_options) for ds in spec.datasets}


def compare(spec: CompareSpec, progress: Callable[[Iterable[Any], int], Iterator[Any]] | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, method, seed) under the same budget; returns one summary per run."""
    tasks = make_tasks(spec)
    jobs = _jobs(spec)
    wrap = progress or (lambda it, n: iter(it))
    if spec.workers <= 1 or len(jobs) < 2:
        return list(wrap((_work(spec, tasks, j) for j in jobs), len(jobs)))
    ctx = multiprocessing.get_context("fork")
    chunk = max(1, min(50, len(jobs) // (spec.workers * 8)))
    with ctx.Pool(spec.workers, initializer=_init_worker, initargs=(spec, tasks)) as pool:
        results = list(wrap(pool.imap_unordered(_work_in_worker, jobs, chunksize=chunk), len(jobs)))
    order = {j: i for i, j in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r["dataset"], r["method"], r["seed"])])
