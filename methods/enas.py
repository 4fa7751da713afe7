"""ENAS (Pham et al., ICML 2018) as a row of the NB201 paper's Table 5 (docs/oneshot.md): an LSTM
controller (methods/_oneshot/controller.py) samples one op per edge; each train minibatch trains the
shared weights of the sampled cell; then the controller takes REINFORCE steps, reward = the sampled
cell's validation-minibatch accuracy (fraction) plus an entropy bonus, against a moving baseline,
``controller_aggregate`` samples per Adam step. At the end ``n_candidates`` controller samples are
scored on one validation minibatch each and the best is returned. NB201 (S2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.options import option
from harness.registry import METHODS
from methods._oneshot.ws_search import PickConfig, WeightSharingSearch


@dataclass(frozen=True)
class Config(PickConfig):
    """NB201 paper: 250 epochs; controller as ENAS (LSTM 2 x 32, temperature 5, tanh 2.5), Adam
    lr 0.001 betas (0, 0.999), entropy 1e-4, baseline decay 0.99, 50 steps x 20 samples per epoch."""

    controller_lr: float = option(0.001, gt=0)
    controller_betas: tuple[float, float] = option((0.0, 0.999), ge=0, lt=1)
    controller_eps: float = option(1e-3, gt=0)
    controller_hidden: int = option(32, ge=1)
    controller_layers: int = option(2, ge=1)
    temperature: float = option(5.0, gt=0)
    tanh_constant: float = option(2.5, gt=0)
    entropy_weight: float = option(1e-4, ge=0)
    baseline_decay: float = option(0.99, ge=0, le=1)
    controller_steps: int = option(50, ge=0)      # Adam steps per epoch
    controller_aggregate: int = option(20, ge=1)  # sampled cells per Adam step


@METHODS.register("enas")
class ENAS(WeightSharingSearch):
    """Controller-sampled weight steps, then REINFORCE steps of the controller on validation."""

    Config = Config
    name = "enas"

    def setup(self, seed: int) -> None:
        from benchmarks.training.optim import Adam
        from methods._oneshot.controller import Controller

        cfg = self.config
        self.controller = Controller(self.space.n_dims, self.space.n_choices, seed, cfg.controller_hidden,
                                     cfg.controller_layers, cfg.temperature, cfg.tanh_constant).to(cfg.device)
        self.controller_opt = Adam(self.controller.parameters(), cfg.controller_lr, cfg.controller_betas,
                                   eps=cfg.controller_eps)
        self.baseline: float | None = None
        self.rewards: list[float] = []
        self.baselines: list[float] = []

    def sample(self) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.controller(self.gen)[0]

    def run_epoch(self, epoch: int) -> None:
        for t_idx, _ in self.batch_pairs():
            self.net.set_path(self.sample())
            self.weight_step(*self.augmented(self.train, t_idx))
        self.train_controller()

    def train_controller(self) -> None:
        """``controller_steps`` Adam steps, each on ``controller_aggregate`` REINFORCE terms."""
        from methods._oneshot import training as one

        cfg = self.config
        valid = list(one.batches(len(self.valid), cfg.batch, self.gen))
        self.controller.train()
        for step in range(cfg.controller_steps):
            self.controller_opt.zero_grad()
            for k in range(cfg.controller_aggregate):
                codes, logp, entropy = self.controller(self.gen)
                idx = valid[(step * cfg.controller_aggregate + k) % len(valid)]
                reward = self.valid_accuracy(codes, idx) / 100.0 + cfg.entropy_weight * float(entropy.detach())
                b = reward if self.baseline is None else self.baseline
                self.baseline = cfg.baseline_decay * b + (1.0 - cfg.baseline_decay) * reward
                self.rewards.append(reward)
                self.baselines.append(self.baseline)
                (-logp * (reward - self.baseline) / cfg.controller_aggregate).backward()
            self.controller_opt.step()

    def derive(self) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.controller(greedy=True)[0]

    def select(self) -> np.ndarray:
        return self.pick_best([self.sample() for _ in range(self.config.n_candidates)])
