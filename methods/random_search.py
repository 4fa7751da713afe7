"""Random search (NB201 paper baseline; baselines.md): uniform cells until the budget ends."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    batch: int = option(64, ge=1)  # cells drawn per RNG call; the draws, and so the trajectory, do not depend on it


@METHODS.register("random_search")
class RandomSearch:
    """Random search: every edge's op uniform; duplicates re-queried and charged (async under --sim-workers)."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config
        self._drawn: list[np.ndarray] = []  # ask's draws, a batch at a time, in the order search takes them

    # asynchronous (harness/simclock.py): a free worker gets the next draw; results change nothing
    def ask(self) -> np.ndarray:
        if not self._drawn:
            self._drawn = list(self.space.sample(self.rng, self.config.batch))[::-1]
        return self._drawn.pop()

    def tell(self, codes: np.ndarray, fidelity: float, val: float) -> None:
        pass

    def search(self, evaluator: MeteredEvaluator) -> None:
        while True:
            for codes in self.space.sample(self.rng, self.config.batch):
                evaluator.evaluate(codes)
