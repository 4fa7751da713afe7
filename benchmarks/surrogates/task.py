"""A surrogate behind the ``Task`` interface: a query returns the predicted validation value and the
predicted cost in simulated seconds, charged like a table lookup; the reported numbers are the
predictor's noise-free means for its final protocol (``Predictor.report``, named in ``attrs``).

Under the ``surrogate`` noise policy the value and the cost of the run's query q are
``mean + std * z`` with z from the stream of (run seed, q) (benchmarks/surrogates/noise.py); the
runner binds the task to the run (``for_run``) with q counted by the evaluator, replayed queries
included, so a resumed run draws the same numbers (``evaluate_keyed`` is that answer with q given).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Protocol

import numpy as np

from benchmarks.surrogates.noise import apply, check_policy, query_normals
from harness.errors import ArchError
from harness.protocols import Outcome, SearchSpace


class Predictor(Protocol):
    """What an adapter offers: predictions (mean, std) of ``val`` and ``cost_s`` per fidelity, the
    final-protocol report and the attributes naming the model (file, version, fingerprint)."""

    space: SearchSpace
    fidelities: tuple[float, ...]
    default_fidelity: float

    def predict(self, codes: np.ndarray, fidelity: float) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...
    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def describe(self) -> dict[str, Any]: ...


class SurrogateTask:
    """One dataset of a surrogate benchmark; vectorised over a batch of code rows."""

    evaluates_batches = True  # row i of a batch is answered as query queries() + i (harness/protocols.py)

    def __init__(self, benchmark: str, dataset: str, predictor: Predictor, noise: str = "deterministic") -> None:
        self.benchmark, self.dataset = benchmark, dataset
        self.name = f"{benchmark}/{dataset}"
        self.predictor = predictor
        self.space = predictor.space
        self.fidelities = tuple(float(f) for f in predictor.fidelities)
        self.default_fidelity = float(predictor.default_fidelity)
        self.noise = check_policy(noise)
        self._run: tuple[int, Callable[[], int]] | None = None  # (run seed, queries so far) once bound

    def for_run(self, seed: int, queries: Callable[[], int]) -> "SurrogateTask":
        """This task bound to one run (harness/protocols.py): ``evaluate`` then draws query
        ``queries() + i``'s noise, as ``evaluate_keyed`` does."""
        if self.noise == "deterministic":
            return self
        bound = copy.copy(self)
        bound._run = (int(seed), queries)
        return bound

    def evaluate_keyed(self, codes: np.ndarray, fidelity: float, seed: int, first: int) -> Outcome:
        """Rows answered as the run's queries ``first, first + 1, ...`` under the noise policy."""
        codes = np.atleast_2d(np.asarray(codes))
        if float(fidelity) not in self.fidelities:
            raise ArchError(f"fidelity {fidelity} not offered by {self.name}")
        pred = self.predictor.predict(codes, float(fidelity))
        z = query_normals(seed, first, len(codes), 2) if self.noise == "surrogate" else None
        val = apply(self.noise, *pred["val"], None if z is None else z[:, 0])
        cost = np.maximum(apply(self.noise, *pred["cost_s"], None if z is None else z[:, 1]), 0.0)
        rv, rt = self.predictor.report(codes)
        return Outcome(val=np.asarray(val, np.float64), cost_s=np.asarray(cost, np.float64),
                       epochs=np.full(len(codes), float(fidelity)), report_valid=rv, report_test=rt,
                       index=self.space.index(codes))

    def evaluate(self, codes: np.ndarray, fidelity: float) -> Outcome:
        """Bound to a run: its next queries under the policy; unbound: the noise-free means."""
        if self._run is not None:
            return self.evaluate_keyed(codes, fidelity, self._run[0], self._run[1]())
        codes = np.atleast_2d(np.asarray(codes))
        pred = self.predictor.predict(codes, float(fidelity))
        rv, rt = self.predictor.report(codes)
        return Outcome(val=pred["val"][0], cost_s=np.maximum(pred["cost_s"][0], 0.0),
                       epochs=np.full(len(codes), float(fidelity)), report_valid=rv, report_test=rt,
                       index=self.space.index(codes))

    def report(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.predictor.report(np.atleast_2d(np.asarray(codes)))

    def attrs(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "dataset": self.dataset, "cost_unit": "simulated_s",
                "noise": self.noise,
                "noise_policy": ("deterministic: a query returns the mean prediction" if self.noise == "deterministic"
                                 else "surrogate: mean + calibrated std x N(0,1) drawn from (run seed, query index)"),
                **self.predictor.describe()}
