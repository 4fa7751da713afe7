"""Simulated parallel workers: N asynchronous workers on a simulated clock, for tasks whose cost is
simulated (tables, surrogates); the budget's seconds are simulated wall-clock.

A method that runs asynchronously offers ``ask()`` and ``tell(codes, fidelity, val)`` (and
optionally ``begin(view)``, which gets a ``SimView``). Whenever a worker is free the harness asks
for a job (a code vector, or ``(codes, fidelity)``; ``None``: nothing until a result comes back),
looks its answer up at once and schedules it to finish at ``now + cost``; results are told to the
method in order of finish time (ties: the earlier submission first; free workers: the lowest id
first), so a seed gives one trajectory on any machine. The method never sees the clock, the queue
or the meter: it is told the values of finished jobs, nothing else. A job that would finish after
the budget's seconds (or go past its evaluations or epochs) ends the run unrecorded, as a real
wall-clock deadline would; rows are recorded as results arrive, with ``wall_s`` the simulated
finish time and ``cum_cost_s`` the compute charged over all workers. Each row's worker and submit
time go into the run's attributes ``sim_worker`` and ``sim_submit_s`` (row order). With one worker
the rows are those of the method's sequential ``search`` (``wall_s`` aside, which is then simulated).
"""
from __future__ import annotations

import heapq
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.budget import Budget
from harness.constraints import Constraint, ConstraintError
from harness.errors import ArchError, HarnessError
from harness.protocols import SearchSpace, Task
from harness.trajectory import KIND_QUERY

MAX_INFEASIBLE_IN_A_ROW = 100_000


@dataclass(frozen=True)
class SimView:
    """What an asynchronous method is told about its run before its first ``ask``."""

    space: SearchSpace
    fidelities: tuple[float, ...]
    default_fidelity: float
    budget: Budget
    workers: int


def is_async(method: Any) -> bool:
    """Whether a method instance can run on simulated workers (it offers ask and tell)."""
    return callable(getattr(method, "ask", None)) and callable(getattr(method, "tell", None))


def run_async(method: Any, task: Task, budget: Budget, workers: int, recorder: Any,
              constraint: Constraint | None = None, queries: list[int] | None = None) -> tuple[str, dict[str, Any]]:
    """Run ``method`` on ``workers`` simulated workers; returns (how it ended, attributes to add).
    ``queries[0]`` counts the queries answered so far (a task's ``for_run`` reads it)."""
    queries = [0] if queries is None else queries
    queries[:] = [0]
    if task.attrs().get("cost_unit") != "simulated_s":
        raise HarnessError(f"--sim-workers needs a task with simulated cost (a table or surrogate); "
                           f"{task.name} measures its cost")
    begin = getattr(method, "begin", None)
    if callable(begin):
        begin(SimView(task.space, tuple(task.fidelities), task.default_fidelity, budget, workers))
    free = list(range(workers))  # a heap: the lowest free worker id takes the next job
    running: list[tuple[float, int, int, float, np.ndarray, float, tuple]] = []
    seq, now = 0, 0.0
    evals, cost_s, epochs_s = 0, 0.0, 0.0  # what the run has been charged (harness.budget.Spent)
    rows: list[tuple] = []  # (codes, index, fidelity, cost, cum cost, epochs, val, valid, test, finish), in order
    rows_worker: list[int] = []
    rows_submit: list[float] = []
    infeasible = infeasible_run = 0
    ended = "method"
    one = getattr(task, "evaluate_one", None) if constraint is None else None
    ask, tell, keep = method.ask, method.tell, rows.append  # the per-job path
    push, pop, n_dims, fidelities = heapq.heappush, heapq.heappop, task.space.n_dims, task.fidelities
    default = task.default_fidelity
    # budget.fits, inlined: evals + 1 <= max_evals, finish <= max_cost_s, epochs <= max_epochs
    max_evals = sys.maxsize if budget.max_evals is None else budget.max_evals
    max_cost, max_epochs = budget.max_cost_s, budget.max_epochs
    while True:
        while free:
            job = ask()
            if job is None:
                break
            codes, fid = job if type(job) is tuple else (job, default)
            if type(codes) is not np.ndarray or codes.shape != (n_dims,) or fid not in fidelities:
                codes, fid = _job(job, task)
            if constraint is not None and not constraint.feasible(task, codes.reshape(1, -1))[0]:
                infeasible += 1
                infeasible_run += 1
                if infeasible_run > MAX_INFEASIBLE_IN_A_ROW:
                    raise ConstraintError(f"{infeasible_run} infeasible queries in a row under {constraint}")
                tell(codes, fid, float("nan"))  # free and unrecorded, as in the sequential evaluator
                continue
            infeasible_run = 0
            if one is not None:  # a task's scalar fast path, as the sequential evaluator takes it
                val, cost, epochs, rvalid, rtest, index = one(codes, fid)
                answer = (float(cost), float(epochs), float(val), float(rvalid), float(rtest), int(index))
            else:
                out = task.evaluate(codes.reshape(1, -1), fid)
                answer = (float(out.cost_s[0]), float(out.epochs[0]), float(out.val[0]), float(out.report_valid[0]),
                          float(out.report_test[0]), int(out.index[0]) if out.index is not None
                          else int(task.space.index(codes.reshape(1, -1))[0]))
            queries[0] += 1
            push(running, (now + answer[0], seq, pop(free), now, codes, fid, answer))
            seq += 1
        if not running:
            break  # the method has nothing more to ask
        finish, _, worker, submit, codes, fid, (cost, epochs, val, rvalid, rtest, index) = pop(running)
        if evals >= max_evals or (max_cost is not None and not finish <= max_cost) or \
                (max_epochs is not None and not epochs_s + epochs <= max_epochs):
            ended = "budget"
            break
        now = finish
        evals += 1
        cost_s += cost
        epochs_s += epochs
        keep((codes, index, fid, cost, cost_s, epochs, val, rvalid, rtest, finish))
        rows_worker.append(worker)
        rows_submit.append(submit)
        push(free, worker)
        tell(codes, fid, val)
    recorder.append_rows(rows, KIND_QUERY)
    extra: dict[str, Any] = {"spent_evals": evals, "spent_cost_s": cost_s, "spent_epochs": epochs_s,
                             "spent_wall_s": now, "sim_worker": rows_worker, "sim_submit_s": rows_submit}
    if constraint is not None:
        extra["infeasible_queries"] = infeasible
    return ended, extra


def _job(job: Any, task: Task) -> tuple[np.ndarray, float]:
    codes, fid = (job if isinstance(job, tuple) else (job, None))
    codes = np.asarray(codes)
    if codes.ndim != 1 or codes.shape[0] != task.space.n_dims:
        raise ArchError(f"ask() must return one code vector of {task.space.n_dims} entries, got shape {codes.shape}")
    fid = task.default_fidelity if fid is None else float(fid)
    if fid not in task.fidelities:
        raise ArchError(f"fidelity {fid} not offered by {task.name}; offered: {task.fidelities}")
    return codes, fid
