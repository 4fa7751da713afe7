"""SETN (Dong & Yang, ICCV 2019) as a row of the NB201 paper's Table 5 (docs/oneshot.md): the shared
weights (the evaluator) are trained on uniformly sampled single-path cells; the template generator, a
distribution over each edge's ops, is trained on validation minibatches through the softmax-mixed
supernet; at the end ``n_candidates`` templates from the generator are scored by the evaluator (one
validation minibatch each) and the best is returned. NB201 (S2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.options import option
from harness.registry import METHODS
from methods._oneshot.ws_search import ArchConfig, WeightSharingSearch


@dataclass(frozen=True)
class Config(ArchConfig):
    """NB201 paper: 250 epochs, 100 templates; ``templates`` = sample (from the generator) or topk
    (the most probable cells)."""

    n_candidates: int = option(100, ge=1)
    templates: str = option("sample", choices=("sample", "topk"))


@METHODS.register("setn")
class SETN(WeightSharingSearch):
    """Uniform single-path weight steps, softmax-mixed generator steps, template pick."""

    Config = Config
    name = "setn"

    def setup(self, seed: int) -> None:
        import torch

        from benchmarks.training.optim import Adam
        from methods._oneshot.relax import init_alpha

        cfg = self.config
        self.alpha = init_alpha(self.space.name, torch.Generator().manual_seed(seed), cfg.device)
        self.arch_opt = Adam([self.alpha], cfg.arch_lr, cfg.arch_betas, cfg.arch_weight_decay)

    def run_epoch(self, epoch: int) -> None:
        import torch
        import torch.nn.functional as F

        for t_idx, v_idx in self.batch_pairs():
            train, valid = self.augmented(self.train, t_idx), self.augmented(self.valid, v_idx)
            self.net.set_path(self.space.sample(self.rng, 1)[0])  # the evaluator: a uniform cell
            self.weight_step(*train)
            self.arch_opt.zero_grad()
            self.net.set_mix(torch.softmax(self.alpha, dim=-1))
            self.alpha.grad = torch.autograd.grad(F.cross_entropy(self.net(valid[0]), valid[1]), self.alpha)[0]
            self.arch_opt.step()

    def derive(self) -> np.ndarray:
        from methods._oneshot.relax import derive

        return derive(self.space.name, self.alpha)

    def select(self) -> np.ndarray:
        from methods._oneshot.relax import template_cells

        cfg = self.config
        return self.pick_best(template_cells(self.alpha, cfg.n_candidates, self.rng, cfg.templates))
