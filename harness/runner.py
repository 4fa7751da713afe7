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
from harness.constraints import Constraint, constraint_from
from harness.errors import BudgetExhausted, DataError, HarnessError, UnknownNameError
from harness.evaluator import MeteredEvaluator, describe
from harness.protocols import Task
from harness.packs import PackWriter, read_pack
from harness.recorder import STATUS_COMPLETE, Recorder, check_identity, read_trajectory, run_status
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


def run_attrs(method: str, task: Task, budget: Budget, seed: int, config: dict[str, Any] | None,
              constraint: Constraint | str | None) -> dict[str, Any]:
    """The attributes that identify a run (checked on resume) and describe it."""
    cfg = make_config(method, config)
    limit = constraint_from(constraint)
    return {**task.attrs(), "method": method, "config": dataclasses.asdict(cfg), "seed": int(seed),
            **budget.as_attrs(), **({"constraint": str(limit)} if limit else {})}


def run_one(method: str, task: Task, budget: Budget, seed: int, path: Path,
            config: dict[str, Any] | None = None, flush_s: float = 0.0,
            constraint: Constraint | str | None = None, sink: PackWriter | None = None) -> dict[str, Any]:
    """One search run recorded to ``path``; a complete file is skipped, a partial one resumed.

    With a ``sink``, a run that finishes before its first flush goes into a pack (many runs per
    file) and ``path`` is written only if the run flushes while running or stops unfinished.
    A method may define ``report_attrs() -> dict``; its answer is written to the file's attributes.
    """
    cfg = make_config(method, config)
    limit = constraint_from(constraint)
    attrs = run_attrs(method, task, budget, seed, config, constraint)
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
    recorder = Recorder(Path(path), task.space.n_dims, attrs, flush_s=flush_s, existing=replay, sink=sink)
    evaluator = MeteredEvaluator(task, budget, recorder, replay=replay, constraint=limit)
    rng = stream(seed, "method", method)
    instance = METHODS.get(method)(task.space, rng, cfg)
    try:
        instance.search(evaluator)
    except BudgetExhausted:
        pass
    except BaseException:
        recorder.close(complete=False)
        raise
    extra = describe(evaluator)
    hook = getattr(instance, "report_attrs", None)
    if callable(hook):
        extra.update(hook())
    recorder.close(complete=True, extra_attrs=extra)
    return {**_summary(method, task, seed, recorder.location, recorder.trajectory()), "skipped": False}


def _summary(method: str, task: Task, seed: int, path: Path | str, traj: Any) -> dict[str, Any]:
    attrs = task.attrs()
    return {"method": method, "dataset": attrs["dataset"], "benchmark": attrs["benchmark"],
            "seed": int(seed), "path": str(path), "n_evals": int((traj["kind"] == 0).sum()),
            "cost_unit": attrs["cost_unit"], **final_incumbent(traj),
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
    constraint: str | None = None  # e.g. "params_m<=0.5"; applies to every method

    def __post_init__(self) -> None:
        constraint_from(self.constraint)  # a malformed constraint fails before any work
        if not self.seeds:
            raise HarnessError("no seeds to run")
        for m in self.methods:
            METHODS.get(m)  # unknown names fail before any work
        BENCHMARKS.get(self.benchmark)


def _jobs(spec: CompareSpec) -> list[tuple[str, str, int]]:
    return [(ds, m, s) for ds in spec.datasets for m in spec.methods for s in spec.seeds]


def _packed(spec: CompareSpec, ds: str, m: str) -> dict[int, tuple[str, Any]]:
    """Finished runs already in packs under the (dataset, method) folder: seed -> (locator, traj).
    An unreadable pack is moved aside (its runs are run again), like an unreadable run file."""
    folder = run_path(spec.out, spec.benchmark, ds, m, 0).parent
    found: dict[int, tuple[str, Any]] = {}
    for pack in sorted(folder.glob("pack-*.h5")) if folder.is_dir() else ():
        try:
            members = read_pack(pack)
        except DataError as exc:
            os.replace(pack, pack.with_name(pack.name + ".corrupt"))
            log.warning("%s; moved to %s.corrupt and running its runs again", exc, pack.name)
            continue
        for loc, traj in members:
            found.setdefault(int(traj.attrs["seed"]), (loc, traj))
    return found


def _work_chunk(spec: CompareSpec, tasks: dict[str, Task], jobs: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """Run a chunk of jobs; runs that finish before a flush go to this process's own packs."""
    sink = PackWriter(spec.flush_s)
    out = []
    folders: dict[tuple[str, str], Path] = {}  # run_path's folder, built once per (dataset, method)
    try:
        for ds, m, s in jobs:
            folder = folders.get((ds, m))
            if folder is None:
                folder = folders[(ds, m)] = run_path(spec.out, spec.benchmark, ds, m, s).parent
            out.append(run_one(m, tasks[ds], spec.budget, s, folder / f"seed-{s}.h5",
                               spec.method_configs.get(m), spec.flush_s, spec.constraint, sink=sink))
    finally:
        sink.close()  # finished runs reach disk even when a later run fails
    return out


_WORKER: dict[str, Any] = {}  # per-process: filled by the pool initializer in forked workers only


def _init_worker(spec: CompareSpec, tasks: dict[str, Task]) -> None:
    _WORKER["spec"], _WORKER["tasks"] = spec, tasks


def _chunk_in_worker(jobs: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    return _work_chunk(_WORKER["spec"], _WORKER["tasks"], jobs)


def make_tasks(spec: CompareSpec) -> dict[str, Task]:
    factory = BENCHMARKS.get(spec.benchmark)
    return {ds: factory(ds, data=spec.data, cache=spec.cache, **spec.benchmark_options) for ds in spec.datasets}


def compare(spec: CompareSpec, progress: Callable[[Iterable[Any], int], Iterator[Any]] | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, method, seed) under the same budget; returns one summary per run.

    Finished runs already in packs are skipped; the rest run in chunks of one (dataset, method),
    each chunk writing its finished runs to packs of its own (one writer per file).
    """
    tasks = make_tasks(spec)
    jobs = _jobs(spec)
    done: list[dict[str, Any]] = []
    todo: list[tuple[str, str, int]] = []
    packed = {(ds, m): _packed(spec, ds, m) for ds in spec.datasets for m in spec.methods}
    for ds, m, s in jobs:
        hit = packed[(ds, m)].get(s)
        if hit is None:
            todo.append((ds, m, s))
            continue
        loc, traj = hit
        check_identity(loc, traj.attrs, run_attrs(m, tasks[ds], spec.budget, s, spec.method_configs.get(m),
                                                  spec.constraint))
        done.append({**_summary(m, tasks[ds], s, loc, traj), "skipped": True})
    size = max(1, min(250, len(todo) // max(1, spec.workers * 4)))
    chunks: list[list[tuple[str, str, int]]] = []
    for job in todo:  # chunks never mix (dataset, method): one pack per chunk
        if not chunks or len(chunks[-1]) >= size or chunks[-1][-1][:2] != job[:2]:
            chunks.append([])
        chunks[-1].append(job)
    wrap = progress or (lambda it, n: iter(it))

    def flat(results: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        yield from done
        for chunk in results:
            yield from chunk

    if spec.workers <= 1 or len(chunks) < 2:
        results = list(wrap(flat(_work_chunk(spec, tasks, c) for c in chunks), len(jobs)))
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(spec.workers, len(chunks)), initializer=_init_worker, initargs=(spec, tasks)) as pool:
            results = list(wrap(flat(pool.imap_unordered(_chunk_in_worker, chunks)), len(jobs)))
    order = {j: i for i, j in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r["dataset"], r["method"], r["seed"])])
