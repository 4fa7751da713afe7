"""One metered, recorded, resumable run of a method on a task (the compare grid is harness/runner.py)."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from harness.budget import BUDGET_ATTRS, Budget
from harness.constraints import Constraint, constraint_from
from harness.errors import BudgetExhausted, DataError, HarnessError
from harness.evaluator import MeteredEvaluator, describe
from harness.identity import check_same, stamp
from harness.isolation import guarded_dirs, run_isolated
from harness.journal import JournalContents, read_journal
from harness.lockstep import Lockstep
from harness.options import config_specs, validate
from harness.packs import PackWriter
from harness.protocols import Task
from harness.recorder import (STATUS_COMPLETE, Recorder, ShadowRecorder, journal_path, read_trajectory)
from harness.registry import METHODS
from harness.sealed import method_attrs, seal
from harness.seeding import stream
from harness.simclock import is_async, run_async
from harness.store import move_aside
from harness.trajectory import KIND_CHARGE, Trajectory, final_incumbent

log = logging.getLogger(__name__)


def make_config(method: str, overrides: dict[str, Any] | None, where: str | None = None) -> Any:
    """The method's frozen Config with user overrides, each checked against its field's type and
    bounds (harness/options.py); ``where`` names one option in errors (default ``<method> option <key>``)."""
    cls = METHODS.get(method)
    values = validate(config_specs(cls.Config), overrides or {}, where or f"{method} option {{}}")
    return cls.Config(**values)


def run_attrs(method: str, task: Task, budget: Budget, seed: int, config: dict[str, Any] | None,
              constraint: Constraint | str | None, sim_workers: int | None = None) -> dict[str, Any]:
    """The attributes that identify a run (``harness.identity``: hashed, checked on resume) and
    describe it. The task's attributes carry every benchmark option that changes a result."""
    return _attrs(method, task, budget, seed, make_config(method, config), constraint_from(constraint), sim_workers)


def _attrs(method: str, task: Task, budget: Budget, seed: int, cfg: Any, limit: Constraint | None,
           sim_workers: int | None = None) -> dict[str, Any]:
    return stamp({**task.attrs(), "method": method, "config": dataclasses.asdict(cfg), "seed": int(seed),
                  **budget.as_attrs(), **({"constraint": str(limit)} if limit else {}),
                  **({"sim_workers": int(sim_workers)} if sim_workers is not None else {})})


def run_one(method: str, task: Task, budget: Budget, seed: int, path: Path,
            config: dict[str, Any] | None = None, constraint: Constraint | str | None = None,
            sink: PackWriter | None = None, lock: Lockstep | None = None,
            isolate: bool = False, sim_workers: int | None = None,
            describe_run: dict[str, Any] | None = None) -> dict[str, Any]:
    """One search run whose own file would be ``path``; a finished one is skipped, a journaled one
    resumed by replay (``harness.recorder`` says what is written where).

    With a ``sink``, a finished in-memory run goes into a pack instead of ``path``. The method gets a
    sealed evaluator (``harness.sealed``); with ``isolate`` it runs in a process of its own
    (``harness.isolation``). A method may define ``report_attrs() -> dict``; its answer is added to
    the run's attributes, except keys the harness writes itself (dropped with a warning). With a
    ``lock`` (torchrun), rank 0 reads what is on disk and every rank follows it; only rank 0 writes,
    and every charge is rank 0's. With ``sim_workers`` a method offering ``ask``/``tell`` runs on that
    many simulated workers (``harness.simclock``); one without them runs its sequential ``search``.
    ``describe_run`` adds attributes that describe the run without
    determining it (where a plugin method came from), written when it ends.
    """
    cfg = make_config(method, config)
    limit = constraint_from(constraint)
    attrs = _attrs(method, task, budget, seed, cfg, limit, sim_workers)
    lock = lock or Lockstep()
    status, replay, journal = lock.share(lambda: _on_disk(Path(path), attrs))
    if status == STATUS_COMPLETE:
        return {**run_summary(method, task, seed, path, replay), "skipped": True}
    if lock.main:
        recorder: Recorder = Recorder(Path(path), task.space.n_dims, attrs, existing=replay, sink=sink,
                                      durable=attrs.get("cost_unit") == "measured_s", resumed=journal)
    else:
        recorder = ShadowRecorder(Path(path), task.space.n_dims, attrs, existing=replay)
    bind = getattr(task, "for_run", None)  # a task whose answers depend on the run (harness/protocols.py)
    sim_queries: list[int] = []  # under simulated workers: the queries submitted so far (harness/simclock.py)
    if callable(bind):
        task = bind(seed, lambda: sim_queries[0] if sim_queries else evaluator.spent.evals)
    evaluator = MeteredEvaluator(task, budget, recorder, replay=replay, constraint=limit,
                                 agree=lock.floats if lock.active else None, simulated_clock=sim_workers is not None)
    rng = stream(seed, "method", method)
    simulated: dict[str, Any] = {}
    try:
        if isolate and sim_workers is not None:
            raise HarnessError("--sim-workers does not combine with --isolate")
        if isolate:  # the method in a process of its own, over a pipe (harness/isolation.py)
            if lock.active:
                raise HarnessError("--isolate does not run under torchrun (ranks answer queries in lockstep); "
                                   "run without --isolate (a plugin method: with --trust-plugins)")
            ended, reported = run_isolated(METHODS.get(method), task, rng, cfg, evaluator,
                                           guard=guarded_dirs(Path(path), attrs), name=method)
        else:
            instance = METHODS.get(method)(task.space, rng, cfg)
            ended = "method"  # the method returned before the budget ran out (reports flag it as under-spent)
            if sim_workers is not None and is_async(instance):
                if lock.active:
                    raise HarnessError("--sim-workers does not run under torchrun; run without torchrun")
                ended, simulated = run_async(instance, task, budget, sim_workers, recorder, limit, sim_queries)
            else:
                try:
                    instance.search(seal(evaluator))
                except BudgetExhausted:
                    ended = "budget"
                if sim_workers is not None:
                    simulated = {"sim_workers_used": 1}  # a sequential method: one worker of the N
            hook = getattr(instance, "report_attrs", None)
            reported = hook() if callable(hook) else None
    except BaseException:
        recorder.close(complete=False)
        raise
    extra = {**describe(evaluator), **simulated, "ended": ended, **({"isolated": True} if isolate else {}),
             **(describe_run or {})}
    extra.update(method_attrs({**attrs, **extra}, reported, method))
    recorder.close(complete=True, extra_attrs=extra)
    return {**run_summary(method, task, seed, recorder.location, recorder.trajectory()), "skipped": False,
            "ended": ended}


def _on_disk(path: Path, attrs: dict[str, Any]) -> tuple[str | None, Trajectory | None, JournalContents | None]:
    """(status, rows, journal) of this run on disk: its finished file (skip), else its journal
    (replay), else nothing. Unreadable files are moved aside; another run's files raise ResumeError."""
    journal = journal_path(path)
    if path.exists():
        try:
            traj = read_trajectory(path)
        except DataError as exc:
            move_aside(path, str(exc))
        else:
            check_same(str(path), traj.attrs, attrs)
            if traj.attrs.get("status") == STATUS_COMPLETE:
                journal.unlink(missing_ok=True)  # a kill between finishing the file and removing this
                return STATUS_COMPLETE, traj, None
            move_aside(path, f"{path}: an unfinished run file of an older nas-harness")
    if journal.exists():
        try:
            contents = read_journal(journal)
        except DataError as exc:
            move_aside(journal, str(exc))
            return None, None, None
        check_same(str(journal), contents.attrs, attrs)
        if contents.damaged:
            log.warning("%s: a cut last record (a kill while writing) is dropped; resuming after row %d",
                        journal, len(contents.trajectory))
        return "running", contents.trajectory, contents
    return None, None, None


def run_summary(method: str, task: Task, seed: int, path: Path | str, traj: Any) -> dict[str, Any]:
    attrs = task.attrs()
    return {"method": method, "dataset": attrs["dataset"], "benchmark": attrs["benchmark"],
            "seed": int(seed), "path": str(path), "n_evals": int((traj["kind"] == 0).sum()),
            "cost_unit": attrs["cost_unit"], **final_incumbent(traj),
            "ended": str(traj.attrs.get("ended", "")),  # "method": returned before the budget ran out
            "budget": tuple(float(traj.attrs.get(k, -1)) for k in BUDGET_ATTRS),  # -1: no limit
            # a one-shot method's own training, charged in measured seconds (NB201 paper's "search (s)")
            "train_cost_s": float(traj["cost_s"][traj["kind"] == KIND_CHARGE].sum()),
            # simulated workers: the budget is wall-clock, so is the cost shown (the compute is cum_cost_s)
            **({"cost_s": float(traj["wall_s"][-1]) if len(traj) else 0.0} if "sim_workers" in traj.attrs else {})}
