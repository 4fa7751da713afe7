"""Local search with random restarts (White, Nolen, Savani, UAI 2021; baselines.md).

A method-side cache answers cells already seen, so none is queried (or charged) twice.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    first_improvement: bool = True  # False: query all neighbours and move to the best one
    max_free_steps: int = option(100_000, ge=1)  # consecutive cached answers after which the space counts as exhausted


@METHODS.register("local_search")
class LocalSearch:
    """Hill-climb over the one-op-change neighbourhood; restart from a random cell at a local optimum."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        if not hasattr(space, "neighbours"):
            raise TypeError(f"local_search needs a space with neighbours(), {space.name} has none")
        self.space, self.rng, self.config = space, rng, config
        self.cache: dict[bytes, float] = {}
        self._free = 0

    def query(self, evaluator: MeteredEvaluator, codes: np.ndarray) -> float:
        """The cached value, or a charged evaluation; stops when only cached cells remain."""
        key = np.asarray(codes, dtype=np.int8).tobytes()
        if key in self.cache:
            self._free += 1
            if self._free > self.config.max_free_steps:
                raise StopIteration
            return self.cache[key]
        self._free = 0
        value = self.cache[key] = float(evaluator.evaluate(codes))
        return value

    def search(self, evaluator: MeteredEvaluator) -> None:
        try:
            self._climb(evaluator)
        except StopIteration:
            return

    def _climb(self, evaluator: MeteredEvaluator) -> None:
        cur = self.space.sample(self.rng, 1)[0]
        cur_val = self.query(evaluator, cur)
        while True:
            nbrs = self.space.neighbours(cur)
            nbrs = nbrs[self.rng.permutation(len(nbrs))]
            best, best_val = None, cur_val
            for n in nbrs:
                val = self.query(evaluator, n)
                if val > best_val:
                    best, best_val = n, val
                    if self.config.first_improvement:
                        break
            if best is None:  # local optimum: restart (the harness keeps the global best)
                best = self.space.sample(self.rng, 1)[0]
                best_val = self.query(evaluator, best)
            cur, cur_val = best, best_val
