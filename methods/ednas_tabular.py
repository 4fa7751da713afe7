"""EDNAS proxy on the NB201 table (ednas.md, "ednas-tabular"): the decoupled factorised policy trained
by REINFORCE on each sampled cell's hp=12 validation accuracy, charged like any query. No supernet,
so not the paper's method; useful for cheap budget-matched comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._common import require_space
from methods.ednas import NB201_MAPPING


@dataclass(frozen=True)
class Config:
    """EDNAS policy settings (ednas.md); reward = validation accuracy as a fraction."""

    policy_lr: float = option(3.5e-4, gt=0)
    policy_betas: tuple[float, float] = option((0.5, 0.999), ge=0, lt=1)
    policy_weight_decay: float = option(1e-3, ge=0)
    baseline_decay: float = option(0.99, ge=0, le=1)
    nb201_mapping: str = NB201_MAPPING


@METHODS.register("ednas-tabular")
class EDNASTabular:
    """Sample a cell from the policies, query it, take one policy step; until the budget ends."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        require_space(space, "nb201", method="ednas-tabular")
        self.space, self.rng, self.config = space, rng, config

    def search(self, evaluator: MeteredEvaluator) -> None:
        import torch

        from methods._oneshot.ednas_policy import Reinforce, nb201_policy, sample_nb201

        cfg = self.config
        self.policy = nb201_policy(torch.Generator().manual_seed(int(self.rng.integers(2**62))))
        self.reinforce = Reinforce(self.policy, cfg.policy_lr, cfg.policy_betas, cfg.policy_weight_decay,
                                   cfg.baseline_decay)
        while True:
            codes, choices = sample_nb201(self.policy, self.rng)
            self.reinforce.step(choices, float(evaluator.evaluate(codes)) / 100.0)
