"""Regularized (aging) evolution, Real et al. 2019, with the NB201 settings (baselines.md)."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.protocols import SearchSpace
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    population: int = 10
    sample_size: int = 3


@METHODS.register("regularized_evolution")
class RegularizedEvolution:
    """REA: tournament (with replacement) of the population, mutate the winner, drop the oldest."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config
        self.population: deque[tuple[np.ndarray, float]] = deque()

    def search(self, evaluator: MeteredEvaluator) -> None:
        """Infeasible cells (NaN answers under a constraint) never enter the population: the
        random fill draws again and a NaN child is dropped (the next tournament mutates again)."""
        cfg, rng = self.config, self.rng
        while len(self.population) < cfg.population:
            codes = self.space.sample(rng, 1)[0]
            val = evaluator.evaluate(codes)
            if val == val:  # not NaN
                self.population.append((codes, val))
        while True:
            picks = rng.integers(0, len(self.population), size=cfg.sample_size)
            parent = max((self.population[i] for i in picks), key=lambda m: m[1])[0]
            child = self.space.mutate(parent, rng)
            val = evaluator.evaluate(child)
            if val == val:
                self.population.append((child, val))
                self.population.popleft()
