"""EDNAS (Lee, Kim, Han, arXiv:1910.10397; methods/ednas.md): decoupled structure and operation policy
vectors trained by REINFORCE on minibatch accuracy of single-path children of a shared supernet.
DARTS (S1) cell as the seed (normal policies drive normal cells); NB201 (S2) via input subsets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import BudgetExhausted, HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._common import require_space

NB201_MAPPING = "structure = non-empty input subset per node (1/3/7), op = 4 non-none ops; 11,904 cells"


@dataclass(frozen=True)
class Config:
    """Seed defaults for CIFAR-10 (ednas.md); supernet and BN fields are recorded with every run."""

    epochs: int = option(300, ge=1)
    batch: int = option(128, ge=1)
    lr: float = option(0.05, gt=0)
    lr_min: float = option(0.001, ge=0)
    momentum: float = option(0.9, ge=0, le=1)
    weight_decay: float = option(3e-4, ge=0)
    nesterov: bool = True
    grad_clip: float = option(5.0, gt=0)
    policy_lr: float = option(3.5e-4, gt=0)
    policy_betas: tuple[float, float] = option((0.5, 0.999), ge=0, lt=1)
    policy_weight_decay: float = option(1e-3, ge=0)
    baseline_decay: float = option(0.99, ge=0, le=1)
    train_portion: float = option(0.8, gt=0, lt=1)  # of train + valid images: weights; the rest: policy rewards
    n_candidates: int = option(100, ge=1)  # final samples, each scored on one random policy-split minibatch
    C: int = option(16, ge=1)
    N: int = option(5, ge=1)  # NB201 cells per stage
    layers: int = option(8, ge=1)  # DARTS search-network cells
    affine: bool = False
    track_running_stats: bool = True
    cutout: int = option(0, ge=0)  # weight steps use the data's crop/flip; the seed search has no cutout
    nb201_mapping: str = NB201_MAPPING
    submit_darts: bool = True        # DARTS: submit, so a training task trains it (the report); false: only return it
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not 0.0 < self.train_portion < 1.0:
            raise HarnessError(f"ednas train_portion must lie in (0, 1), got {self.train_portion}")
        if self.n_candidates < 1:
            raise HarnessError(f"ednas n_candidates must be >= 1, got {self.n_candidates}")


@METHODS.register("ednas")
class EDNAS:
    """Policy vectors + single-path supernet: weight epoch, policy epoch, then best of N candidates."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        require_space(space, "nb201", "darts", method="ednas",
                      hint=" (recurrent cells: method ednas-rnn)" if space.name == "rnn" else "")
        self.space, self.rng, self.config = space, rng, config
        self.rewards: list[float] = []
        self.baselines: list[float] = []
        self.candidates: list[np.ndarray] = []
        self.scores: list[float] = []

    def search(self, evaluator: MeteredEvaluator) -> str | None:
        import torch

        from methods._oneshot import training as one
        from methods._oneshot.ednas_policy import SPACES, Reinforce

        cfg, name = self.config, self.space.name
        data = self.data = evaluator.search_data()
        self.reps = one.replicas()  # data-parallel under torchrun, else None
        self.pool = one.to_tensors(np.concatenate([data.train_x, data.valid_x]),
                                   np.concatenate([data.train_y, data.valid_y]), data, cfg.device)
        perm = self.rng.permutation(len(self.pool))
        cut = int(round(cfg.train_portion * len(perm)))
        self.weight_ids, self.policy_ids = torch.as_tensor(perm[:cut]), torch.as_tensor(perm[cut:])
        self.net = one.build_supernet(name, cfg, data.num_classes, data.in_channels,
                                      int(self.rng.integers(2**62))).to(cfg.device)
        self.gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        make_policy, self._sample = SPACES[name]
        self.policy = make_policy(self.gen)
        self.reinforce = Reinforce(self.policy, cfg.policy_lr, cfg.policy_betas, cfg.policy_weight_decay,
                                   cfg.baseline_decay)
        self.opt = one.CosineSGD(self.net.parameters(), cfg, cfg.nesterov, cfg.epochs)
        clock = one.Clock(evaluator, self.reps)
        try:
            one.alternate_epochs(clock, "ednas", cfg.epochs, self._weight_epoch, self._policy_epoch)
            with clock.charged("select", 0.0):
                best = self._select()
        except BudgetExhausted:
            self._finish(evaluator, self.candidates[int(np.argmax(self.scores))] if self.scores else None)
            raise
        return self._finish(evaluator, best)

    def sample(self) -> tuple[np.ndarray, list]:
        """One child architecture from the current policies."""
        return self._sample(self.policy, self.rng)

    def _weight_epoch(self) -> None:
        from methods._oneshot import training as one

        self.net.train()
        for idx in one.batches(len(self.weight_ids), self.config.batch, self.gen):
            self._weight_step(self.weight_ids[idx])
        self.opt.end_epoch()
        one.sync_buffers(self.net, self.reps)  # rewards run in eval mode: rank 0's running statistics

    def _policy_epoch(self) -> None:
        """Forward-only pass over the policy split."""
        from methods._oneshot import training as one

        for idx in one.batches(len(self.policy_ids), self.config.batch, self.gen):
            self._policy_step(self.policy_ids[idx])

    def _weight_step(self, ids: Any) -> None:
        """SGD step on the shared weights with a fresh child; ``ids`` index the weight split."""
        from methods._oneshot import training as one

        codes, _ = self.sample()
        self.net.set_path(codes)
        one.sgd_step(self.net, self.opt, self.pool, ids, self.data, self.config.cutout, self.gen,
                     self.config.grad_clip, self.reps)

    def _reward(self, codes: np.ndarray, ids: Any) -> float:
        """Minibatch accuracy (fraction) of the child, eval mode, no weight update."""
        from methods._oneshot import training as one

        self.net.set_path(codes)
        with one.eval_mode(self.net):
            return one.score(self.net, self.pool.x[ids], self.pool.y[ids], len(ids), self.reps) / 100.0

    def _policy_step(self, ids: Any) -> None:
        """REINFORCE step on the policies; ``ids`` index the policy split."""
        codes, choices = self.sample()
        reward = self._reward(codes, ids)
        self.reinforce.step(choices, reward)
        self.rewards.append(reward)
        self.baselines.append(self.reinforce.baseline)

    def _select(self) -> np.ndarray:
        """Score N_cand samples, each on one random policy-split minibatch; the best one wins."""
        n = len(self.policy_ids)
        for _ in range(self.config.n_candidates):
            codes, _ = self.sample()
            start = int(self.rng.integers(0, max(1, n - self.config.batch + 1)))
            self.candidates.append(codes)
            self.scores.append(self._reward(codes, self.policy_ids[start:start + self.config.batch]))
        return self.candidates[int(np.argmax(self.scores))]

    def _finish(self, evaluator: MeteredEvaluator, codes: np.ndarray | None) -> str | None:
        """The chosen cell: submitted on NB201, returned as a genotype on DARTS."""
        from methods._oneshot.training import finish

        self.genotype = finish(self.space, evaluator, codes, self.config.submit_darts)
        return self.genotype
