"""GDAS (Dong & Yang, CVPR 2019) as a row of the NB201 paper's Table 5 (docs/oneshot.md): per forward,
Gumbel-softmax over each edge's logits picks one op, only that op runs (hard forward) and the logits
get the soft weight's gradient (straight-through); temperature 10 -> 0.1 linearly over the epochs.
Per step an Adam step on the logits (valid minibatch), then an SGD step on the weights with a fresh
sample (train minibatch). NB201 (S2) and the DARTS space (S1; all 14 edges active, DARTS' derivation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from harness.options import option
from harness.registry import METHODS
from methods._oneshot.ws_search import ArchConfig, WeightSharingSearch


@dataclass(frozen=True)
class Config(ArchConfig):
    """NB201 paper: 250 epochs, tau 10 -> 0.1; the rest as every weight-sharing row."""

    tau_max: float = option(10.0, gt=0)
    tau_min: float = option(0.1, gt=0)

    def __post_init__(self) -> None:
        if self.tau_min > self.tau_max:
            raise HarnessError(f"gdas tau_min ({self.tau_min}) must not exceed tau_max ({self.tau_max})")


@METHODS.register("gdas")
class GDAS(WeightSharingSearch):
    """One sampled op per edge per forward; straight-through gradient to the logits."""

    Config = Config
    name = "gdas"
    spaces = ("nb201", "darts")

    def setup(self, seed: int) -> None:
        import torch

        from benchmarks.training.optim import Adam
        from methods._oneshot.relax import init_alpha

        cfg = self.config
        self.alpha = init_alpha(self.space.name, torch.Generator().manual_seed(seed), cfg.device)
        self.arch_opt = Adam([self.alpha], cfg.arch_lr, cfg.arch_betas, cfg.arch_weight_decay)
        self.taus: list[float] = []

    def sample(self, tau: float, grad: bool) -> None:
        """Set the supernet to one Gumbel-softmax draw at temperature ``tau``; ``grad``: the scales
        keep their graph to the logits (architecture step), else they are plain ones (weight step)."""
        from methods._oneshot.relax import gumbel_hard, gumbel_noise

        choice, scales = gumbel_hard(self.alpha, tau, gumbel_noise(self.alpha, self.gen))
        self.net.set_hard(choice, scales if grad else scales.detach())

    def run_epoch(self, epoch: int) -> None:
        import torch
        import torch.nn.functional as F

        from methods._oneshot.relax import tau_at

        cfg = self.config
        tau = tau_at(epoch, cfg.epochs, cfg.tau_max, cfg.tau_min)
        self.taus.append(tau)
        for t_idx, v_idx in self.batch_pairs():
            train, valid = self.augmented(self.train, t_idx), self.augmented(self.valid, v_idx)
            self.arch_opt.zero_grad()
            self.sample(tau, grad=True)
            self.alpha.grad = torch.autograd.grad(F.cross_entropy(self.net(valid[0]), valid[1]), self.alpha,
                                                  allow_unused=True)[0]
            if self.alpha.grad is None:  # every sampled op was `none`: nothing reached the logits
                self.alpha.grad = torch.zeros_like(self.alpha)
            self.arch_opt.step()
            self.sample(tau, grad=False)
            self.weight_step(*train)

    def derive(self) -> np.ndarray:
        from methods._oneshot.relax import derive

        return derive(self.space.name, self.alpha)
