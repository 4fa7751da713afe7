"""EDNAS recurrent cell search on Penn Treebank (Lee, Kim, Han, arXiv:1910.10397; methods/ednas.md, PTB
row): structure and activation policy vectors trained by REINFORCE on c / perplexity of single-path
children of a weight-sharing DARTS RNN supernet (``benchmarks/training/nets/rnn.py``). Needs the ``rnn`` space
and a task lending token streams (``ptb-train``); the method never sees the test stream. Under torchrun
each rank runs its chunk of the batch columns (``benchmarks/training/rnn_replicas.py``, shared with
``ptb-train``); the ranks stay identical.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import BudgetExhausted, HarnessError
from harness.evaluator import MeteredEvaluator
from harness.options import option
from harness.protocols import SearchSpace
from harness.registry import METHODS
from methods._common import require_space

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """EDNAS PTB search defaults (README, seed ``train_search.py``); policy lr as the README (0.003)."""

    epochs: int = option(150, ge=1)
    batch: int = option(256, ge=2)
    bptt: int = option(35, ge=1)
    lr: float = option(20.0, gt=0)  # SGD without momentum, scaled by window length / bptt
    weight_decay: float = option(5e-7, ge=0)
    grad_clip: float = option(0.25, gt=0)
    beta: float = option(1e-3, ge=0)  # temporal activation regularisation
    nhid: int = option(300, ge=1)  # = embedding size (tied)
    dropout: float = option(0.75, ge=0, lt=1)  # output
    dropouth: float = option(0.25, ge=0, lt=1)
    dropoutx: float = option(0.75, ge=0, lt=1)
    dropouti: float = option(0.2, ge=0, lt=1)
    dropoute: float = option(0.0, ge=0, lt=1)
    policy_lr: float = option(0.003, gt=0)  # README; the seed's code default is 3.5e-4
    policy_betas: tuple[float, float] = option((0.9, 0.999), ge=0, lt=1)
    policy_weight_decay: float = option(1e-3, ge=0)
    baseline_decay: float = option(0.99, ge=0, le=1)
    reward_c: float = option(80.0, gt=0)  # reward = c / perplexity of the minibatch (seed architect.py)
    n_candidates: int = option(100, ge=1)  # final samples, each scored on one valid window of batch // 2 streams
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.n_candidates < 1 or self.epochs < 1 or self.batch < 2:
            raise HarnessError(f"ednas-rnn needs n_candidates, epochs >= 1 and batch >= 2, got "
                               f"{self.n_candidates}, {self.epochs}, {self.batch}")


@METHODS.register("ednas-rnn")
class EDNASRNN:
    """Weight epoch on train (new child per window), policy epoch on valid, then best of N candidates."""

    Config = Config

    def __init__(self, space: SearchSpace, rng: np.random.Generator, config: Config) -> None:
        require_space(space, "rnn", method="ednas-rnn", hint=" (the recurrent cell space: benchmark ptb-train)")
        self.space, self.rng, self.config = space, rng, config
        self.rewards: list[float] = []
        self.baselines: list[float] = []
        self.candidates: list[np.ndarray] = []
        self.scores: list[float] = []
        self.train_losses: list[float] = []

    def search(self, evaluator: MeteredEvaluator) -> str | None:
        import torch

        from benchmarks.training.nets.rnn import RNNModel, batchify
        from benchmarks.training.optim import SGD
        from methods._oneshot import training as one
        from methods._oneshot.ednas_policy import Reinforce, rnn_policy
        from benchmarks.training.rnn_replicas import own, split_columns

        cfg = self.config
        data = evaluator.search_data()
        if not hasattr(data, "n_tokens"):
            raise HarnessError("ednas-rnn needs token streams from the task (benchmark ptb-train)")
        self.reps = one.replicas()  # None for one process: the plain code path
        self.train = own(batchify(data.train, cfg.batch), self.reps).to(cfg.device)
        self.valid = own(batchify(data.valid, cfg.batch), self.reps).to(cfg.device)
        self.select_data = own(batchify(data.valid, max(1, cfg.batch // 2)), self.reps).to(cfg.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.rng.integers(2**62)))
            self.net = RNNModel(data.n_tokens, cfg.nhid, cfg.dropout, cfg.dropouth, cfg.dropoutx, cfg.dropouti,
                                cfg.dropoute, search=True).to(cfg.device)
        self.net.gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
        split_columns(self.net, cfg.batch, self.reps)
        self.policy = rnn_policy(self.net.gen)
        self.reinforce = Reinforce(self.policy, cfg.policy_lr, cfg.policy_betas, cfg.policy_weight_decay,
                                   cfg.baseline_decay)
        self.opt = SGD(self.net.parameters(), 0.0, False, cfg.weight_decay)
        clock = one.Clock(evaluator, self.reps)  # rank 0's seconds under torchrun
        best = None
        try:  # the policy pass is forward-only over the valid stream
            one.alternate_epochs(clock, "ednas-rnn", cfg.epochs, self._weight_epoch, self._policy_epoch)
            with clock.charged("select", 0.0):
                best = self._select()
        except BudgetExhausted:
            best = self.candidates[int(np.argmax(self.scores))] if self.scores else None
            self._finish(evaluator, best)
            raise
        return self._finish(evaluator, best)

    def sample(self) -> tuple[np.ndarray, list]:
        from methods._oneshot.ednas_policy import sample_rnn

        return sample_rnn(self.policy, self.rng)

    def _window(self) -> int:
        """The seed's search window: bptt (95 %) or bptt / 2."""
        return self.config.bptt if self.rng.random() < 0.95 else max(1, self.config.bptt // 2)

    def _weight_epoch(self) -> None:
        """One pass over the train stream; every window trains a freshly sampled child (single path).
        Under torchrun the BN running statistics end as rank 0's (each rank saw its own columns)."""
        from benchmarks.training.nets.rnn import chunks
        from methods._oneshot.training import sync_buffers
        from benchmarks.training.rnn_replicas import train_step

        cfg = self.config
        self.net.train()
        h = self.net.init_hidden(self.train.shape[1])
        for x, y in chunks(self.train, cfg.bptt, self._window):
            self.net.set_path(self.sample()[0])
            h, loss = train_step(self.net, self.opt, x, y, h, cfg.lr * len(x) / cfg.bptt, cfg.grad_clip, cfg.beta,
                                 self.reps)
            self.train_losses.append(loss)
        sync_buffers(self.net, self.reps)

    def _reward(self, x: Any, y: Any, h: Any) -> tuple[float, Any]:
        """c / perplexity of the current child on one window (eval mode, no weight update); under
        torchrun the perplexity of all ranks' columns, the same number on every rank."""
        from benchmarks.training.rnn_replicas import mean_loss

        loss, h = mean_loss(self.net, x, y, h, self.reps)
        if not math.isfinite(loss):  # a diverged child: the worst reward (c / inf), and a fresh hidden
            return 0.0, self.net.init_hidden(h.shape[0])  # state so the next child is not poisoned by NaN
        return self.config.reward_c / math.exp(min(loss, 700.0)), h

    def _policy_epoch(self) -> None:
        """REINFORCE step per valid window: sample, reward c / ppl, moving baseline, Adam."""
        from benchmarks.training.nets.rnn import chunks

        h = self.net.init_hidden(self.valid.shape[1])
        for x, y in chunks(self.valid, self.config.bptt):
            codes, choices = self.sample()
            self.net.set_path(codes)
            reward, h = self._reward(x, y, h)
            self.reinforce.step(choices, reward)
            self.rewards.append(reward)
            self.baselines.append(self.reinforce.baseline)

    def _select(self) -> np.ndarray:
        """Score N_cand samples on consecutive valid windows (hidden carried, wrapping); best wins."""
        from benchmarks.training.nets.rnn import chunks

        windows = list(chunks(self.select_data, self.config.bptt))
        h = self.net.init_hidden(self.select_data.shape[1])
        for k in range(self.config.n_candidates):
            codes, _ = self.sample()
            self.net.set_path(codes)
            x, y = windows[k % len(windows)]
            score, h = self._reward(x, y, h)
            self.candidates.append(codes)
            self.scores.append(score)
        return self.candidates[int(np.argmax(self.scores))]

    def _finish(self, evaluator: MeteredEvaluator, codes: np.ndarray | None) -> str | None:
        """Submit the chosen cell: the task trains it from scratch for the report."""
        if codes is None:
            self.genotype = None
            return None
        evaluator.submit(codes)
        self.genotype = self.space.format(codes)[0]
        log.info("returned RNN cell: %s", self.genotype)
        return self.genotype
