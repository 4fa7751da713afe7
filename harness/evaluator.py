"""The only door a method has to a benchmark: validation values in, budget charged, rows recorded."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.budget import Budget, Spent
from harness.constraints import Constraint, ConstraintError
from harness.errors import (
    ArchError,
    BudgetExhausted,
    DataError,
    HarnessError,
    ResumeError,
)
from harness.protocols import SearchData, SearchSpace, Task, TrainingTask
from harness.trajectory import KIND_CHARGE, KIND_FINAL, KIND_QUERY, Trajectory

if TYPE_CHECKING:  # only a type here: an isolated method's process imports this module without h5py
    from harness.recorder import Recorder


class MeteredEvaluator:
    """Charges every evaluation to the budget and records it; test values never leave here.

    On resume it answers from the recorded rows first (checking the method asks the same
    architectures again, which also catches nondeterminism), then goes on live. Under a
    ``constraint`` an infeasible architecture is answered NaN, free and unrecorded. Under torchrun,
    ``agree`` (``harness.lockstep.Lockstep.floats``) gives every rank rank 0's values and measured
    seconds, so the budget runs out at the same query everywhere. With ``simulated_clock`` (a
    sequential method under ``--sim-workers``: one worker) ``wall_s`` is the simulated clock, the
    seconds charged so far, as harness/simclock.py records it.

    A task with ``evaluates_batches`` true (a surrogate, bound to its run by ``for_run``,
    harness/protocols.py) answers a batch's row i as the run's query ``queries() + i``, so a batch is
    predicted in one call and then charged row by row; its noise depends on (run seed, query index)
    only, the index counting replayed queries, and a resumed run draws the same.
    """

    MAX_INFEASIBLE_IN_A_ROW = 100_000  # a method stuck asking infeasible archs is stopped, not looped

    def __init__(self, task: Task, budget: Budget, recorder: Recorder,
                 replay: Trajectory | None = None, constraint: Constraint | None = None,
                 agree: Callable[..., tuple[float, ...]] | None = None, simulated_clock: bool = False) -> None:
        self._task = task
        self._simulated = simulated_clock
        self._batched = bool(getattr(task, "evaluates_batches", False))
        self._agree = agree
        self._constraint = constraint
        self.infeasible = 0  # infeasible queries answered (free)
        self._infeasible_run = 0
        self._budget = budget
        self._recorder = recorder
        self._replay = replay
        self._pos = 0
        self._t0 = time.perf_counter() - (float(replay["wall_s"][-1]) if replay is not None and len(replay) else 0.0)
        self.spent = Spent()
        self.exhausted = False
        # a task may answer one row as Python scalars (``evaluate_one``): no arrays per query
        # (not under lockstep: there every answer goes through ``agree``)
        self._fast = getattr(task, "evaluate_one", None) if constraint is None and agree is None else None
        self._n_dims = task.space.n_dims

    # what a method may read
    @property
    def space(self) -> SearchSpace:
        return self._task.space

    @property
    def fidelities(self) -> tuple[float, ...]:
        return self._task.fidelities

    @property
    def default_fidelity(self) -> float:
        return self._task.default_fidelity

    @property
    def budget(self) -> Budget:
        return self._budget

    @property
    def constraint(self) -> Constraint | None:
        return self._constraint

    def feasible(self, codes: np.ndarray) -> np.ndarray:
        """Free check: which rows satisfy the run's constraint (all of them when there is none)."""
        codes2 = np.atleast_2d(np.asarray(codes))
        if self._constraint is None:
            return np.ones(len(codes2), dtype=bool)
        return self._constraint.feasible(self._task, codes2)

    def search_data(self) -> SearchData:
        """Train and validation images for weight-sharing methods, when the task offers them."""
        hook = getattr(self._task, "search_data", None)
        if hook is None:
            raise DataError(f"task {self._task.name} offers no images for weight-sharing search "
                            "(it needs a search_data() hook, e.g. nb201 with images=...)")
        return hook()

    def evaluate(self, codes: np.ndarray, fidelity: float | None = None) -> np.ndarray:
        """Validation values for a batch of architectures (n, n_dims) or one (n_dims,).

        Raises BudgetExhausted, after recording the rows that fit, when a row would overspend.
        """
        codes = np.asarray(codes)
        single = codes.ndim == 1
        if single and self._fast is not None and codes.shape[0] == self._n_dims:  # the hot path: one row
            fid = self._fidelity(fidelity)
            if self.exhausted:
                raise BudgetExhausted
            if self._replay is not None and self._pos < len(self._replay):
                return np.float64(self._replayed(codes, fid, KIND_QUERY))
            val, cost, epochs, rvalid, rtest, index = self._fast(codes, fid)
            self._charge_or_stop(cost, epochs, count=1)
            self._recorder.append_row(codes, index, fid, cost, self.spent.cost_s, epochs, val, rvalid, rtest,
                                      self._now(), KIND_QUERY)
            return np.float64(val)
        codes2 = codes.reshape(1, -1) if single else codes
        if codes2.shape[1] != self._task.space.n_dims:
            raise ArchError(f"expected codes with {self._task.space.n_dims} entries, got shape {codes.shape}")
        fid = self._fidelity(fidelity)
        if self.exhausted:
            raise BudgetExhausted
        if single:
            return np.float64(self._one(codes, fid))
        if self._batched and self._constraint is None:
            return self._batch(codes2, fid)
        vals = np.empty(len(codes2))
        for i, c in enumerate(codes2):
            vals[i] = self._one(c, fid)
        return vals

    def _fidelity(self, fidelity: float | None) -> float:
        fid = self._task.default_fidelity if fidelity is None else float(fidelity)
        if fid not in self._task.fidelities:
            raise ArchError(f"fidelity {fid} not offered by {self._task.name}; offered: {self._task.fidelities}")
        return fid

    def _one(self, codes: np.ndarray, fid: float) -> float:
        if self._constraint is not None and not self.feasible(codes)[0]:
            self.infeasible += 1
            self._infeasible_run += 1
            if self._infeasible_run > self.MAX_INFEASIBLE_IN_A_ROW:
                raise ConstraintError(f"{self._infeasible_run} infeasible queries in a row under "
                                      f"{self._constraint}; the method ignores evaluator.feasible")
            return float("nan")
        self._infeasible_run = 0
        if self._replay is not None and self._pos < len(self._replay):
            return self._replayed(codes, fid, KIND_QUERY)
        out = self._task.evaluate(codes.reshape(1, -1), fid)
        row = float(out.cost_s[0]), float(out.epochs[0]), float(out.val[0]), float(out.report_valid[0]), \
            float(out.report_test[0])
        cost, epochs, val, rvalid, rtest = row if self._agree is None else self._agree(*row)
        self._charge_or_stop(cost, epochs, count=1)
        index = int(out.index[0]) if out.index is not None else None
        self._record(codes, fid, cost, epochs, val, rvalid, rtest, KIND_QUERY, index)
        return val

    def _batch(self, codes: np.ndarray, fid: float) -> np.ndarray:
        """A batch on a task that ``evaluates_batches``: replayed rows first, then one vectorised prediction
        for the rest, charged and recorded row by row (the row that would overspend ends it, as one at a time)."""
        vals = np.empty(len(codes))
        start = 0
        while start < len(codes) and self._replay is not None and self._pos < len(self._replay):
            vals[start] = self._replayed(codes[start], fid, KIND_QUERY)
            start += 1
        if start == len(codes):
            return vals
        out = self._task.evaluate(codes[start:], fid)
        index = out.index if out.index is not None else self._task.space.index(codes[start:])
        for j in range(len(codes) - start):
            row = float(out.cost_s[j]), float(out.epochs[j]), float(out.val[j]), float(out.report_valid[j]), \
                float(out.report_test[j])
            cost, epochs, val, rvalid, rtest = row if self._agree is None else self._agree(*row)
            self._charge_or_stop(cost, epochs, count=1)
            self._record(codes[start + j], fid, cost, epochs, val, rvalid, rtest, KIND_QUERY, int(index[j]))
            vals[start + j] = val
        return vals

    def charge(self, seconds: float, epochs: float = 0.0) -> None:
        """Charge a method's own training (one-shot methods); the charge that overspends ends it."""
        if self._replay is not None and self._pos < len(self._replay):
            self._replayed(None, 0.0, KIND_CHARGE)
            return
        seconds, epochs = _charge_amount(seconds, "seconds"), _charge_amount(epochs, "epochs")
        if self._agree is not None:
            seconds, epochs = self._agree(seconds, epochs)
        self._charge_or_stop(seconds, epochs, count=0, partial_ok=True)
        self._record(np.full(self._task.space.n_dims, -1), 0.0, float(seconds), float(epochs),
                     np.nan, np.nan, np.nan, KIND_CHARGE)
        if self.exhausted:
            raise BudgetExhausted

    def submit(self, codes: np.ndarray) -> None:
        """Record the architecture a one-shot method returns; the harness looks up its report."""
        codes = np.asarray(codes).reshape(-1)
        if self._replay is not None and self._pos < len(self._replay):
            self._replayed(codes, 0.0, KIND_FINAL)
            return
        rv, rt = self._task.report(codes.reshape(1, -1))
        self._record(codes, 0.0, 0.0, 0.0, np.nan, float(rv[0]), float(rt[0]), KIND_FINAL)

    # methods that train networks themselves and hand back a model (TrainingTask only)
    def observe(self, codes: np.ndarray, val: float, seconds: float, epochs: float) -> None:
        """Charge a candidate the method trained itself and record the validation value it measured;
        the charge that overspends is recorded and then ends the search. Fidelity is recorded as 0
        (weights may be inherited, so epochs are not comparable across rows)."""
        codes = np.asarray(codes).reshape(-1)
        if self._replay is not None and self._pos < len(self._replay):
            self._replayed(codes, 0.0, KIND_QUERY)
            return
        seconds, epochs = _charge_amount(seconds, "seconds"), _charge_amount(epochs, "epochs")
        if self._agree is not None:
            val, seconds, epochs = self._agree(val, seconds, epochs)
        self._charge_or_stop(seconds, epochs, count=1, partial_ok=True)
        self._record(codes, 0.0, float(seconds), float(epochs), float(val), np.nan, np.nan, KIND_QUERY)
        if self.exhausted:
            raise BudgetExhausted

    def submit_model(self, codes: np.ndarray, model: Any, recipe: Any) -> None:
        """Hand over the final model: the task retrains it with ``recipe`` on train+valid and tests
        it; the numbers go to the record only. Its cost is recorded, not charged (evaluation cost)."""
        codes = np.asarray(codes).reshape(-1)
        if self._replay is not None and self._pos < len(self._replay):
            self._replayed(codes, 0.0, KIND_FINAL)
            return
        t0 = time.perf_counter()
        rv, rt = self._training_task().final_test(model, recipe)
        self._record(codes, 0.0, time.perf_counter() - t0, float(getattr(recipe, "epochs", 0)), np.nan,
                     float(rv), float(rt), KIND_FINAL)

    def _training_task(self) -> TrainingTask:
        if not isinstance(self._task, TrainingTask):
            raise HarnessError(f"task {self._task.name} does not test returned models: this method needs a "
                               "training task (e.g. benchmark neurocell-train)")
        return self._task

    # internals
    def _charge_or_stop(self, cost: float, epochs: float, count: int, partial_ok: bool = False) -> None:
        s = self.spent
        if not self._budget.fits(s.evals + count, s.cost_s + cost, s.epochs + epochs):
            self.exhausted = True
            if not partial_ok:  # the query that would overflow is neither charged nor recorded
                raise BudgetExhausted
        s.evals += count
        s.cost_s += cost
        s.epochs += epochs

    def _record(self, codes: np.ndarray, fid: float, cost: float, epochs: float, val: float,
                rvalid: float, rtest: float, kind: int, index: int | None = None) -> None:
        if index is None:
            index = int(self._task.space.index(codes.reshape(1, -1))[0]) if kind != KIND_CHARGE else -1
        self._recorder.append_row(codes, index, fid, cost, self.spent.cost_s, epochs, val, rvalid, rtest,
                                  self._now(), kind)

    def _now(self) -> float:
        return self.spent.cost_s if self._simulated else time.perf_counter() - self._t0

    def _replayed(self, codes: np.ndarray | None, fid: float, kind: int) -> float:
        r, i = self._replay, self._pos
        if int(r["kind"][i]) != kind or (codes is not None and not np.array_equal(r.codes[i], codes)):
            raise ResumeError(
                f"resume mismatch at row {i}: the method asked for something other than the "
                "recorded run (nondeterministic method or changed code); delete the file to restart")
        self._pos += 1
        self.spent.evals += int(kind == KIND_QUERY)
        self.spent.cost_s += float(r["cost_s"][i])
        self.spent.epochs += float(r["epochs"][i])
        return float(r["val"][i])


def _charge_amount(value: Any, what: str) -> float:
    """A charge a method reports: a finite number >= 0 (a negative one would refund the budget)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise HarnessError(f"a charge's {what} must be a number, got {value!r}") from None
    if not (math.isfinite(x) and x >= 0):
        raise HarnessError(f"a charge's {what} must be finite and >= 0, got {value!r}")
    return x


def describe(evaluator: MeteredEvaluator) -> dict[str, Any]:
    """Totals charged, for logs and trajectory attributes."""
    s = evaluator.spent
    out: dict[str, Any] = {"spent_evals": s.evals, "spent_cost_s": s.cost_s, "spent_epochs": s.epochs}
    if evaluator.constraint is not None:
        out["infeasible_queries"] = evaluator.infeasible
    return out
