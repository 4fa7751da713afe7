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
    """Random search: every edge's op uniform; duplicates are re-queried and charged."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        self.space, self.rng, self.config = space, rng, config

    def search(self, evaluator: MeteredEvaluator) -> None:
        while True:
            for codes in self.space.sample(self.rng, self.config.batch):
                evaluator.evaluate(codes)
