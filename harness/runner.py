"""The compare grid: every (dataset, method, seed) run of a study, on an executor, into one store
(one run is harness/run.py)."""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from harness.budget import Budget
from harness.constraints import constraint_from
from harness.distributed import from_env
from harness.errors import HarnessError
from harness.identity import check_same
from harness.lockstep import Lockstep, is_ddp_capable
from harness.options import accepts_more, factory_specs, validate
from harness.packs import PackWriter
from harness.protocols import Executor, Task
from harness.recorder import (STATUS_COMPLETE, read_trajectory,
                              write_trajectory)
from harness.run import make_config, run_attrs, run_one, run_summary
from harness.registry import BENCHMARKS, EXECUTORS, METHODS, describe_plugin, load_plugins
from harness.store import StudyLock, best_of, run_file, slot_runs
from harness.trajectory import Trajectory

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class CompareSpec:
    """Everything a comparison needs; saved next to its results."""

    benchmark: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: Budget                 # every dataset's, unless dataset_budgets names it
    out: Path
    method_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    benchmark_options: dict[str, Any] = field(default_factory=dict)
    data: str | None = None
    cache: str | None = None
    workers: int = 1
    constraint: str | None = None  # e.g. "params_m<=0.5"; applies to every method
    executor: str = "local"        # where the chunks run (harness/executors/)
    dataset_budgets: dict[str, Budget] = field(default_factory=dict)  # e.g. NATS-Bench's per-dataset budgets
    isolate: bool = False          # each method in a process of its own (harness/isolation.py)
    executor_options: dict[str, Any] = field(default_factory=dict)  # e.g. ray's address (the executor's keywords)
    sim_workers: int | None = None  # simulated asynchronous workers per run (harness/simclock.py)
    trust_plugins: bool = False    # plugin methods in-process, unsealed (recorded as plugin_trusted)
    plugin_modules: tuple[str, ...] = ()  # --plugin / study modules, imported again where a worker starts fresh
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)  # set here: plugin method -> its origin

    def isolates(self, method: str) -> bool:
        """Whether ``method`` runs in a process of its own: with ``isolate``, and for a plugin method
        (an entry point or ``--plugin`` module) unless ``trust_plugins`` opts out."""
        return self.isolate or (method in self.plugins and not self.trust_plugins)

    def describe_run(self, method: str) -> dict[str, Any] | None:
        """The attributes a run of ``method`` gets for where it came from (plugins only)."""
        if method not in self.plugins:
            return None
        return {**self.plugins[method], **({"plugin_trusted": True} if self.trust_plugins else {})}

    def budget_for(self, dataset: str) -> Budget:
        """The budget of every run on ``dataset``."""
        return self.dataset_budgets.get(dataset, self.budget)

    def __post_init__(self) -> None:
        """Every input checked (names, duplicates, seeds, workers, each method's options and the
        benchmark's), so a bad one fails here, before any worker starts; options are stored coerced."""
        constraint_from(self.constraint)  # a malformed constraint fails before any work
        stray = sorted(set(self.dataset_budgets) - set(self.datasets))
        if stray:
            raise HarnessError(f"budgets given for dataset(s) {', '.join(stray)}, not among the datasets "
                               f"({', '.join(self.datasets)})")
        if not all(isinstance(b, Budget) for b in (self.budget, *self.dataset_budgets.values())):
            raise HarnessError("budgets must be harness.budget.Budget objects")
        if not self.seeds:
            raise HarnessError("no seeds to run")
        for what, items in (("methods", self.methods), ("datasets", self.datasets), ("seeds", self.seeds)):
            dup = sorted(str(x) for x, n in Counter(items).items() if n > 1)
            if dup:
                raise HarnessError(f"{what} repeat {', '.join(dup)}: each may appear once")
        if not self.datasets or not all(isinstance(d, str) and d for d in self.datasets):
            raise HarnessError(f"datasets must be non-empty names, got {list(self.datasets)!r}")
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in self.seeds):
            bad = next(s for s in self.seeds if not (isinstance(s, int) and not isinstance(s, bool) and s >= 0))
            raise HarnessError(f"seeds must be integers >= 0, got {bad!r}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise HarnessError(f"workers must be an integer >= 1, got {self.workers!r}")
        sim = self.sim_workers
        if sim is not None and (not isinstance(sim, int) or isinstance(sim, bool) or not 1 <= sim <= 100_000):
            raise HarnessError(f"sim_workers must be an integer in [1, 100000], got {sim!r}")
        for m in self.methods:
            METHODS.get(m)  # unknown names fail before any work
        factory = BENCHMARKS.get(self.benchmark)
        executor_options = validate(executor_specs(self.executor), self.executor_options,
                                    f"{self.executor} executor option {{}}")
        stray = sorted(set(self.method_configs) - set(self.methods))
        if stray:
            raise HarnessError(f"options given for {', '.join(stray)}, not among the methods "
                               f"({', '.join(self.methods)})")
        configs = {}
        for m, overrides in self.method_configs.items():
            cfg = make_config(m, overrides)  # types, bounds and the Config's own cross-checks
            configs[m] = {k: getattr(cfg, k) for k in overrides}
        options = validate(factory_specs(factory), self.benchmark_options, f"{self.benchmark} option {{}}",
                           open_ended=accepts_more(factory))
        object.__setattr__(self, "method_configs", configs)  # frozen: store the coerced values once
        object.__setattr__(self, "plugins", {m: describe_plugin(METHODS, m) for m in self.methods
                                             if METHODS.is_plugin(m)})
        object.__setattr__(self, "benchmark_options", options)
        object.__setattr__(self, "executor_options", executor_options)


def _jobs(spec: CompareSpec) -> list[tuple[str, str, int]]:
    return [(ds, m, s) for ds in spec.datasets for m in spec.methods for s in spec.seeds]


class ChunkResult:
    """What a chunk sends back to the driver: its runs' summaries and the finished in-memory runs to
    pack (pending locator, slot folder, trajectory), and the error that stopped it, if one did (the
    runs finished before it are still stored). Plain data, so it travels between processes and hosts.
    ``files`` are durable runs (journaled on the worker) the worker finished as files of their own;
    the driver writes any its disk lacks (a worker without shared disk)."""

    def __init__(self, summaries: list[dict[str, Any]], finished: list[tuple[str, str, Trajectory]],
                 error: BaseException | None = None, worker: str = "",
                 files: list[tuple[str, Trajectory]] | None = None) -> None:
        self.summaries, self.finished, self.error, self.worker = summaries, finished, error, worker
        self.files = files or []


class _Collect:
    """The sink of a chunk's finished in-memory runs: kept for the driver, which alone writes packs."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str, Trajectory]] = []

    def add(self, directory: Path, traj: Trajectory) -> str:
        pending = f"<pending {len(self.finished)}>"
        self.finished.append((pending, str(directory), traj))
        return pending


class ChunkWork:
    """Runs one chunk of (dataset, method, seed) jobs where an executor puts it and returns a
    ``ChunkResult``. Picklable: pickled with its tasks it needs nothing on the worker's disk
    (``portable()``); without them (``portable(tasks=False)``) the worker builds them from the spec's
    data and cache. Lockstep (torchrun) work stays in its process and is never pickled."""

    def __init__(self, spec: CompareSpec, tasks: dict[str, Task] | None, lock: Lockstep | None = None) -> None:
        self.spec, self._tasks, self.lock = spec, tasks, lock

    def portable(self, tasks: bool = True) -> "ChunkWork":
        return ChunkWork(self.spec, self.tasks() if tasks else None)

    def in_lockstep(self, lock: Lockstep) -> "ChunkWork":
        """This work for one rank of a DDP job an executor launched (harness/executors/slurm.py)."""
        return ChunkWork(self.spec, self._tasks, lock)

    def tasks(self) -> dict[str, Task]:
        if self._tasks is None:
            self._tasks = make_tasks(self.spec)
        return self._tasks

    def __getstate__(self) -> dict[str, Any]:
        if self.lock is not None:
            raise HarnessError("lockstep work runs in its own process and cannot be shipped")
        return {"spec": self.spec, "_tasks": self._tasks, "lock": None}

    def resources(self) -> dict[str, float]:
        """What one chunk needs of a worker: the tasks' own ``resources`` attribute when one declares
        it, else one CPU (tables, surrogates) or one CPU and one GPU (measured training)."""
        need: dict[str, float] = {"num_cpus": 1.0}
        for task in self.tasks().values():
            declared = getattr(task, "resources", None)
            if declared is None:
                declared = {"num_cpus": 1.0, **({"num_gpus": 1.0} if task.attrs().get("cost_unit") == "measured_s"
                                                else {})}
            for k, v in dict(declared).items():
                need[k] = max(need.get(k, 0.0), float(v))
        return need

    def __call__(self, jobs: list[tuple[str, str, int]]) -> ChunkResult:
        load_plugins(self.spec.plugin_modules)  # a no-op where imported (forked workers); needed where not
        spec, tasks, lock = self.spec, self.tasks(), self.lock
        sink = _Collect() if lock is None or lock.main else None  # the other ranks write nothing
        out: list[dict[str, Any]] = []
        folders: dict[tuple[str, str], Path] = {}  # run_file's folder, built once per (dataset, method)
        error: BaseException | None = None
        try:
            for ds, m, s in jobs:
                folder = folders.get((ds, m))
                if folder is None:
                    folder = folders[(ds, m)] = run_file(spec.out, spec.benchmark, ds, m, s).parent
                out.append(run_one(m, tasks[ds], spec.budget_for(ds), s, folder / f"seed-{s}.h5",
                                   spec.method_configs.get(m), spec.constraint, sink=sink, lock=lock,
                                   isolate=spec.isolates(m), sim_workers=spec.sim_workers,
                                   describe_run=spec.describe_run(m)))
        except Exception as exc:  # the runs finished before it still reach the store
            error = exc
        files = [(r["path"], read_trajectory(r["path"])) for r in out if not r["skipped"]
                 and not r["path"].startswith("<pending") and (lock is None or lock.main)]
        return ChunkResult(out, sink.finished if sink is not None else [], error,
                           f"{socket.gethostname()}:{os.getpid()}", files)


def store_chunk(result: ChunkResult) -> list[dict[str, Any]]:
    """The driver's half of a chunk: write its finished runs as one pack per slot folder (the driver
    is the store's one writer), then raise the chunk's error, if any; returns its summaries."""
    if not isinstance(result, ChunkResult):
        raise HarnessError(f"an executor returned {type(result).__name__}, not the chunk's result")
    written: dict[str, str] = {}
    if result.finished:
        writer = PackWriter()
        for pending, directory, traj in result.finished:
            written[pending] = writer.add(Path(directory), traj)
        writer.close()
    for path, traj in result.files:
        if not Path(path).exists():  # finished on a worker that does not share this disk
            write_trajectory(path, traj)
    if result.error is not None:
        raise result.error
    return [{**r, "path": written.get(r["path"], r["path"])} for r in result.summaries]


def executor_specs(name: str) -> dict[str, Any]:
    """An executor's keyword options (after ``workers``), from its signature, as for benchmarks."""
    factory = EXECUTORS.get(name)
    return factory_specs(factory.__init__ if isinstance(factory, type) else factory, skip=("workers",))


def make_executor(spec: CompareSpec) -> Executor:
    """The spec's executor with its options (``--address``, ``--executor-option``)."""
    return EXECUTORS.get(spec.executor)(spec.workers, **spec.executor_options)


def make_tasks(spec: CompareSpec) -> dict[str, Task]:
    factory = BENCHMARKS.get(spec.benchmark)
    return {ds: factory(ds, data=spec.data, cache=spec.cache, **spec.benchmark_options) for ds in spec.datasets}


def _split_done(spec: CompareSpec, tasks: dict[str, Task],
                jobs: list[tuple[str, str, int]]) -> tuple[list[dict[str, Any]], list[tuple[str, str, int]]]:
    """(summaries of the runs already finished, the jobs still to run). A stored run of the same
    slot with another identity stops the study with one line naming what differs."""
    done: list[dict[str, Any]] = []
    todo: list[tuple[str, str, int]] = []
    stored: dict[tuple[str, str], dict[int, list[Any]]] = {}
    for ds in spec.datasets:
        for m in spec.methods:
            by_seed: dict[int, list[Any]] = {}
            for run in slot_runs(spec.out, spec.benchmark, ds, m):
                by_seed.setdefault(run.slot[3], []).append(run)
            stored[(ds, m)] = by_seed
    for ds, m, s in jobs:
        copies = stored[(ds, m)].get(s)
        if not copies:
            todo.append((ds, m, s))
            continue
        run = best_of(copies)
        for other in copies:  # a kill between finishing a run's file and removing its journal
            if other.journal is not None and run.status == STATUS_COMPLETE and \
                    other.attrs.get("run_id") == run.attrs.get("run_id"):
                Path(other.location).unlink(missing_ok=True)
        check_same(run.location, run.attrs, run_attrs(m, tasks[ds], spec.budget_for(ds), s,
                                                       spec.method_configs.get(m), spec.constraint, spec.sim_workers))
        if run.status != STATUS_COMPLETE:
            todo.append((ds, m, s))  # a journal: run_one resumes it by replay
            continue
        done.append({**run_summary(m, tasks[ds], s, run.location, run.trajectory), "skipped": True})
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


def compare(spec: CompareSpec, progress: Callable[[Iterable[Any], int], Iterator[Any]] | None = None,
            executor: Executor | None = None) -> list[dict[str, Any]]:
    """Run every (dataset, method, seed) under the same budget; returns one summary per run.

    Finished runs already in packs are skipped; the rest run in chunks of one (dataset, method) on
    the spec's executor, each chunk writing its finished runs to packs of its own (one writer per
    file). Under torchrun with a DDP benchmark every rank runs the same jobs in order, in one process
    (rank 0 decides which are done and alone writes and reports progress); with any other benchmark
    rank 0 runs the study alone and the other ranks return [] at once. ``executor`` overrides the
    spec's (an instance, e.g. one a test wraps).
    """
    takes_part, lock = _role(spec)
    if not takes_part:
        return []
    if lock is not None and not lock.main:
        return _compare(spec, progress, lock, executor)
    made = not Path(spec.out).exists()
    try:
        with StudyLock(spec.out):  # one writer per store; a second compare stops at once
            return _compare(spec, progress, lock, executor)
    except BaseException:
        if made:  # bad input (data, options) stopped the study before it wrote: leave no empty --out
            with contextlib.suppress(OSError):
                Path(spec.out).rmdir()
        raise


def _compare(spec: CompareSpec, progress: Callable[[Iterable[Any], int], Iterator[Any]] | None,
             lock: Lockstep | None, executor: Executor | None) -> list[dict[str, Any]]:
    tasks = make_tasks(spec)
    jobs = _jobs(spec)
    done, todo = (lock or Lockstep()).share(lambda: _split_done(spec, tasks, jobs))
    if lock is None:
        executor = executor or make_executor(spec)
    cap = int(getattr(executor, "max_chunk", 250) or 250)  # e.g. `gpus`: one run per chunk
    per = int(getattr(executor, "chunks_per_worker", 4) or 4)  # e.g. `slurm`: one (a job's start costs seconds)
    size = max(1, min(cap, len(todo) // max(1, spec.workers * per)))
    chunks: list[list[tuple[str, str, int]]] = []
    for job in todo:  # chunks never mix (dataset, method): one pack per chunk
        if not chunks or len(chunks[-1]) >= size or chunks[-1][-1][:2] != job[:2]:
            chunks.append([])
        chunks[-1].append(job)
    wrap = progress if progress is not None and (lock is None or lock.main) else (lambda it, n: iter(it))

    def flat(results: Iterable[ChunkResult]) -> Iterator[dict[str, Any]]:
        yield from done
        for result in results:  # a failed chunk stores its finished runs, then stops the study
            yield from store_chunk(result)

    work = ChunkWork(spec, tasks, lock)
    if lock is not None:  # every rank runs every chunk, in order, in this process
        finished: Iterable[ChunkResult] = (work(c) for c in chunks)
    else:
        finished = executor.map(work, chunks)
    results = list(wrap(flat(finished), len(jobs)))
    order = {j: i for i, j in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r["dataset"], r["method"], r["seed"])])
