"""DARTS-V1 (Liu, Simonyan, Yang, ICLR 2019), first order, as a row of the NB201 paper's Table 5
(docs/oneshot.md): every edge mixes all ops by the softmax of its logits; per step an Adam step on the
logits (valid minibatch), then an SGD step on the weights (train minibatch); the arg-max cell is returned.
NB201 (S2) and the DARTS space (S1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.options import option
from harness.registry import METHODS
from methods._oneshot.ws_search import ArchConfig, WeightSharingSearch


@dataclass(frozen=True)
class Config(ArchConfig):
    """NB201 paper: 50 search epochs for DARTS; the rest as every weight-sharing row."""

    epochs: int = option(50, ge=1)


@METHODS.register("darts_v1")
class DartsV1(WeightSharingSearch):
    """Softmax-relaxed supernet, alternating architecture (valid) and weight (train) steps."""

    Config = Config
    name = "darts_v1"
    spaces = ("nb201", "darts")

    def setup(self, seed: int) -> None:
        import torch

        from benchmarks.training.optim import Adam
        from methods._oneshot.relax import init_alpha

        cfg = self.config
        self.alpha = init_alpha(self.space.name, torch.Generator().manual_seed(seed), cfg.device)
        self.arch_opt = Adam([self.alpha], cfg.arch_lr, cfg.arch_betas, cfg.arch_weight_decay)
        self.arch_losses: list[float] = []

    def arch_grad(self, train: tuple[Any, Any], valid: tuple[Any, Any]) -> Any:
        """First order: the validation loss's gradient at the current weights."""
        import torch
        import torch.nn.functional as F

        self.net.set_mix(torch.softmax(self.alpha, dim=-1))
        loss = F.cross_entropy(self.net(valid[0]), valid[1])
        self.arch_losses.append(float(loss.detach()))
        return torch.autograd.grad(loss, self.alpha)[0]

    def run_epoch(self, epoch: int) -> None:
        import torch

        for t_idx, v_idx in self.batch_pairs():
            train, valid = self.augmented(self.train, t_idx), self.augmented(self.valid, v_idx)
            self.arch_opt.zero_grad()
            self.alpha.grad = self.arch_grad(train, valid)
            self.arch_opt.step()
            self.net.set_mix(torch.softmax(self.alpha, dim=-1).detach())
            self.weight_step(*train)

    def derive(self) -> np.ndarray:
        from methods._oneshot.relax import derive

        return derive(self.space.name, self.alpha)
