"""Regularized (aging) evolution, Real et al. 2019, with the NB201 settings (baselines.md)."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.fastrng import fast
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS


@dataclass(frozen=True)
class Config:
    population: int = option(10, ge=1)
    sample_size: int = option(3, ge=1)


@METHODS.register("regularized_evolution")
class RegularizedEvolution:
    """REA: tournament (with replacement), mutate the winner, drop the oldest (async under --sim-workers)."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        # numpy's own numbers at a fraction of its per-call cost (REA draws a few per query)
        self.space, self.rng, self.config = space, fast(rng), config
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
        pop = self.population
        while True:
            best = self._winner()
            child = self.space.mutate(best[0], rng)
            val = evaluator.evaluate(child)
            if val == val:
                pop.append((child, val))
                pop.popleft()

    # asynchronous, as Syne Tune's: a free worker gets a random cell while fewer than ``population``
    # results are in, else the mutated winner of a tournament over the results so far; each result
    # joins the population and the oldest leaves (harness/simclock.py). One worker: search's rows.
    def ask(self) -> np.ndarray:
        cfg, rng, pop = self.config, self.rng, self.population
        if len(pop) < cfg.population:
            return self.space.sample(rng, 1)[0]
        return self.space.mutate(self._winner()[0], rng)

    def _winner(self) -> tuple[np.ndarray, float]:
        """The tournament: sample_size picks with replacement (one draw of that size: the numbers of
        as many scalar draws), the first fittest winning, as max(..., key=val) picks it."""
        pop, best = self.population, None
        for i in self.rng.bounded(len(pop), self.config.sample_size):
            member = pop[i]
            if best is None or member[1] > best[1]:
                best = member
        return best

    def tell(self, codes: np.ndarray, fidelity: float, val: float) -> None:
        if val == val:  # an infeasible cell (NaN) never enters the population
            self.population.append((codes, val))
            if len(self.population) > self.config.population:
                self.population.popleft()
