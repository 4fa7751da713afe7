"""A stand-in for the metered evaluator: a reward function, an evaluation limit and a call log."""
from __future__ import annotations

from typing import Callable

import numpy as np

from harness.errors import BudgetExhausted


class FakeEvaluator:
    """Answers ``reward(codes, fidelity)``; raises BudgetExhausted after ``max_evals`` calls."""

    def __init__(self, reward: Callable[[np.ndarray, float], float], max_evals: int,
                 fidelities: tuple[float, ...] = (12.0,)) -> None:
        self.reward, self.max_evals = reward, max_evals
        self.fidelities, self.default_fidelity = fidelities, fidelities[0]
        self.calls: list[tuple[np.ndarray, float, float]] = []

    def evaluate(self, codes: np.ndarray, fidelity: float | None = None) -> float:
        if len(self.calls) >= self.max_evals:
            raise BudgetExhausted
        fid = self.default_fidelity if fidelity is None else float(fidelity)
        val = float(self.reward(np.asarray(codes), fid))
        self.calls.append((np.array(codes, copy=True), fid, val))
        return val

    def codes(self) -> np.ndarray:
        return np.stack([c for c, _, _ in self.calls])


def run(method: object, evaluator: FakeEvaluator) -> FakeEvaluator:
    """Search until the fake budget ends."""
    try:
        method.search(evaluator)
    except BudgetExhausted:
        pass
    return evaluator
