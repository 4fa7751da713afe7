"""Runs methods on tasks: one metered, recorded, resumable run, and the compare grid over seeds."""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from harness.budget import Budget
from harness.constraints import Constraint, constraint_from
from harness.distributed import from_env
from harness.errors import BudgetExhausted, DataError, HarnessError, UnknownNameError
from harness.evaluator import MeteredEvaluator, describe
from harness.isolation import guarded_dirs, run_isolated
from harness.lockstep import Lockstep, is_ddp_capable
from harness.packs import PackWriter, read_pack
from harness.protocols import Task
from harness.recorder import (STATUS_COMPLETE, Recorder, ShadowRecorder, check_identity, read_trajectory,
                              run_status)
from harness.registry import BENCHMARKS, EXECUTORS, METHODS
from harness.sealed import method_attrs, seal
from harness.seeding import stream
from harness.trajectory import KIND_CHARGE, Trajectory, final_incumbent

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
            constraint: Constraint | str | None = None, sink: PackWriter | None = None,
            lock: Lockstep | None = None, isolate: bool = False) -> dict[str, Any]:
    """One search run recorded to ``path``; a complete file is skipped, a partial one resumed.

    With a ``sink``, a run that finishes before its first flush goes into a pack (many runs per
    file) and ``path`` is written only if the run flushes while running or stops unfinished.
    The method gets a sealed evaluator (``harness.sealed``); with ``isolate`` it runs in a process of
    its own (``harness.isolation``). A method may define ``report_attrs() -> dict``; its answer is
    written to the file's attributes, except keys the harness writes itself (dropped with a warning).
    With a ``lock`` (torchrun), rank 0 reads what is on disk and every rank follows it; only rank 0
    writes, and every charge is rank 0's.
    """
    cfg = make_config(method, config)
    limit = constraint_from(constraint)
    attrs = run_attrs(method, task, budget, seed, config, constraint)
    lock = lock or Lockstep()
    status, replay = lock.share(lambda: _on_disk(Path(path), attrs))
    if status == STATUS_COMPLETE:
        return {**_summary(method, task, seed, path, replay), "skipped": True}
    if lock.main:
        recorder: Recorder = Recorder(Path(path), task.space.n_dims, attrs, flush_s=flush_s, existing=replay,
                                      sink=sink)
    else:
        recorder = ShadowRecorder(Path(path), task.space.n_dims, attrs, existing=replay)
    evaluator = MeteredEvaluator(task, budget, recorder, replay=replay, constraint=limit,
                                 agree=lock.floats if lock.active else None)
    rng = stream(seed, "method", method)
    try:
        if isolate:  # the method in a process of its own, over a pipe (harness/isolation.py)
            if lock.active:
                raise HarnessError("--isolate does not run under torchrun (ranks answer queries in lockstep); "
                                   "run without --isolate")
            ended, reported = run_isolated(METHODS.get(method), task, rng, cfg, evaluator,
                                           guard=guarded_dirs(Path(path), attrs), name=method)
        else:
            instance = METHODS.get(method)(task.space, rng, cfg)
            ended = "method"  # the method returned before the budget ran out (reports flag it as under-spent)
            try:
                instance.search(seal(evaluator))
            except BudgetExhausted:
                ended = "budget"
            hook = getattr(instance, "report_attrs", None)
            reported = hook() if callable(hook) else None
    except BaseException:
        recorder.close(complete=False)
        raise
    extra = {**describe(evaluator), "ended": ended, **({"isolated": True} if isolate else {})}
    extra.update(method_attrs({**attrs, **extra}, reported, method))
    recorder.close(complete=True, extra_attrs=extra)
    return {**_summary(method, task, seed, recorder.location, recorder.trajectory()), "skipped": False}


def _on_disk(path: Path, attrs: dict[str, Any]) -> tuple[str | None, Trajectory | None]:
    """(status, trajectory) of the run file at ``path``: (None, None) when absent or unreadable
    (moved aside to start again), else its status and rows (to skip or to replay)."""
    status = run_status(path, attrs)
    if status == "corrupt":
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        log.warning("%s was unreadable; moved to %s and starting the run again", path, aside)
        return None, None
    if status is None:
        return None, None
    return status, read_trajectory(path)


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
    executor: str = "local"        # where the chunks run (harness/executors/)
    isolate: bool = False          # each method in a process of its own (harness/isolation.py)

    def __post_init__(self) -> None:
        constraint_from(self.constraint)  # a malformed constraint fails before any work
        if not self.seeds:
            raise HarnessError("no seeds to run")
        for m in self.methods:
            METHODS.get(m)  # unknown names fail before any work
        BENCHMARKS.get(self.benchmark)
        EXECUTORS.get(self.executor)


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


def _work_chunk(spec: CompareSpec, tasks: dict[str, Task], jobs: list[tuple[str, str, int]],
                lock: Lockstep | None = None) -> list[dict[str, Any]]:
    """Run a chunk of jobs; runs that finish before a flush go to this process's own packs (rank 0's
    under torchrun: the other ranks write nothing)."""
    sink = PackWriter(spec.flush_s) if lock is None or lock.main else None
    out = []
    folders: dict[tuple[str, str], Path] = {}  # run_path's folder, built once per (dataset, method)
    try:
        for ds, m, s in jobs:
            folder = folders.get((ds, m))
            if folder is None:
                folder = folders[(ds, m)] = run_path(spec.out, spec.benchmark, ds, m, s).parent
            out.append(run_one(m, tasks[ds], spec.budget, s, folder / f"seed-{s}.h5",
                               spec.method_configs.get(m), spec.flush_s, spec.constraint, sink=sink, lock=lock,
                               isolate=spec.isolate))
    finally:
        if sink is not None:
            sink.close()  # finished runs reach disk even when a later run fails
    return out


def make_tasks(spec: CompareSpec) -> dict[str, Task]:
    factory = BENCHMARKS.get(spec.benchmark)
    return {ds: factory(ds, data=spec.data, cache=spec.cache, **spec.benchmark_options) for ds in spec.datasets}


def _split_done(spec: CompareSpec, tasks: dict[str, Task],
                jobs: list[tuple[str, str, int]]) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
    """(summaries of the runs already packed, the jobs still to run)."""
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
    return done, todo


def _role(spec: CompareSpec) -> tuple[bool, Lockstep | None]:
    """(whether this process takes part, its Lockstep). Under torchrun with a DDP benchmark every rank
    takes part in lockstep; with any other benchmark rank 0 runs the study alone; one process: alone."""
    d = from_env()
    if not d.active:
        return True, None
    if not is_ddp_capable(BENCHMARKS.get(spec.benchmark)):
        if d.main:
            log.warning("%s does not train with DDP: rank 0 runs the whole study alone, the other %d rank(s) exit",
                        spec.benchmark, d.world - 1)
        return d.main, None
    lock = Lockstep.join()
    if spec.workers > 1 and lock.main:
        log.warning("--workers %d ignored under torchrun: every rank runs the study in one process", spec.workers)
    return True, lock


def compare(spec: CompareSpec, progress: Callable[[Iterable[Any], int], Iterator[Any]] | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, method, seed) under the same budget; returns one summary per run.

    Finished runs already in packs are skipped; the rest run in chunks of one (dataset, method) on
    the spec's executor, each chunk writing its finished runs to packs of its own (one writer per
    file). Under torchrun with a DDP benchmark every rank runs the same jobs in order, in one process
    (rank 0 decides which are done and alone writes and reports progress); with any other benchmark
    rank 0 runs the study alone and the other ranks return [] at once.
    """
    takes_part, lock = _role(spec)
    if not takes_part:
        return []
    tasks = make_tasks(spec)
    jobs = _jobs(spec)
    done, todo = (lock or Lockstep()).share(lambda: _split_done(spec, tasks, jobs))
    size = max(1, min(250, len(todo) // max(1, spec.workers * 4)))
    chunks: list[list[tuple[str, str, int]]] = []
    for job in todo:  # chunks never mix (dataset, method): one pack per chunk
        if not chunks or len(chunks[-1]) >= size or chunks[-1][-1][:2] != job[:2]:
            chunks.append([])
        chunks[-1].append(job)
    wrap = progress if progress is not None and (lock is None or lock.main) else (lambda it, n: iter(it))

    def flat(results: Iterable[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        yield from done
        for chunk in results:
            yield from chunk

    if lock is not None:  # every rank runs every chunk, in order, in this process
        finished: Iterable[list[dict[str, Any]]] = (_work_chunk(spec, tasks, c, lock) for c in chunks)
    else:
        finished = EXECUTORS.get(spec.executor)(spec.workers).map(functools.partial(_work_chunk, spec, tasks), chunks)
    results = list(wrap(flat(finished), len(jobs)))
    order = {j: i for i, j in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r["dataset"], r["method"], r["seed"])])
