"""Shared plumbing of the weight-sharing methods (EvNAS, EDNAS): data on the device, seeded batches and
augmentation, the supernet for the space, SGD + cosine, accuracy, and charging measured time. Under
torchrun (process group up) the steps and accuracies go data-parallel through ``Replicas``; with one
process ``replicas()`` is None and the plain functions run, as before. Imports torch.
"""
from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.protocols import SearchData
from benchmarks.training.replicas import Replicas, replicas  # noqa: F401 - replicas: methods call one.replicas()

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tensors:
    """One split, normalised, on the device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


def to_tensors(x: Any, y: Any, data: SearchData, device: str) -> Tensors:
    """uint8 (0..255) or float (0..1) images -> normalised float32 on ``device``."""
    from benchmarks.training.augment import normalise

    mean, std = torch.tensor(data.mean), torch.tensor(data.std)
    x = normalise(torch.as_tensor(np.asarray(x)), mean, std)
    return Tensors(x.to(device), torch.as_tensor(np.asarray(y), dtype=torch.long).to(device))


def batches(n: int, size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Index minibatches of one shuffled pass over ``n`` items (last one may be short)."""
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, size):
        yield perm[start:start + size]


def augment(x: torch.Tensor, data: SearchData, cutout: int, gen: torch.Generator) -> torch.Tensor:
    """The training layer's crop / flip / cutout, drawn from ``gen``."""
    from benchmarks.training.augment import apply, draw

    if not (data.crop_pad or data.flip or cutout):
        return x
    return apply(x, draw(len(x), x.shape[-1], data.crop_pad, data.flip, cutout, gen), data.crop_pad, cutout)


def build_supernet(space: str, cfg: Any, num_classes: int, in_channels: int, seed: int) -> nn.Module:
    """The space's supernet, initialised from ``seed`` without touching torch's global RNG state."""
    from methods._oneshot.supernets import DartsSupernet, NB201Supernet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if space == "nb201":
            return NB201Supernet(cfg.C, cfg.N, num_classes, in_channels, cfg.affine, cfg.track_running_stats)
        if space == "darts":
            return DartsSupernet(cfg.C, cfg.layers, num_classes, in_channels, cfg.track_running_stats)
    raise HarnessError(f"weight-sharing search supports the spaces nb201 and darts, got {space!r}")


class CosineSGD:
    """The training layer's SGD with a cosine learning rate stepped once per epoch (CosineAnnealingLR)."""

    def __init__(self, params: Any, cfg: Any, nesterov: bool, epochs: int) -> None:
        from benchmarks.training.optim import SGD

        self.opt = SGD(params, cfg.momentum, nesterov, cfg.weight_decay)
        self.lr0, self.lr_min, self.epochs, self.epoch = cfg.lr, cfg.lr_min, max(1, epochs), 0

    @property
    def lr(self) -> float:
        t = min(self.epoch, self.epochs) / self.epochs
        return self.lr_min + 0.5 * (self.lr0 - self.lr_min) * (1 + math.cos(math.pi * t))

    def zero_grad(self) -> None:
        self.opt.zero_grad()

    def step(self) -> None:
        self.opt.step(self.lr)

    def end_epoch(self) -> None:
        self.epoch += 1


def train_step(net: nn.Module, opt: CosineSGD, x: torch.Tensor, y: torch.Tensor,
               clip: float) -> float:
    """One cross-entropy SGD step with grad-norm clipping; returns the loss."""
    opt.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), clip)
    opt.step()
    return float(loss.detach())


def sgd_step(net: nn.Module, opt: CosineSGD, split: Tensors, idx: torch.Tensor, data: SearchData, cutout: int,
             gen: torch.Generator, clip: float, reps: Replicas | None = None) -> float:
    """One augmented SGD step on ``split[idx]``; with ``reps`` each rank runs its chunk of the batch."""
    if reps is not None:
        return reps.train_step(net, opt, split, idx, data, cutout, gen, clip)
    return train_step(net, opt, augment(split.x[idx], data, cutout, gen), split.y[idx], clip)


def sync_buffers(net: nn.Module, reps: Replicas | None) -> None:
    """After a weight epoch: rank 0's BN running statistics on every rank (no-op for one process)."""
    if reps is not None:
        reps.sync_buffers(net)


def score(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, reps: Replicas | None) -> float:
    """``accuracy``, or with ``reps`` the same over the ranks' chunks (counts summed)."""
    return accuracy(net, x, y, batch) if reps is None else reps.accuracy(net, x, y, batch)


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    """Top-1 accuracy in percent, without gradients."""
    correct = 0
    for start in range(0, len(y), batch):
        correct += int((net(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum())
    return 100.0 * correct / max(1, len(y))


@contextmanager
def eval_mode(net: nn.Module, on: bool = True) -> Iterator[None]:
    """Eval mode (running BN statistics) inside the block, training mode restored after."""
    was = net.training
    net.train(not on)
    try:
        yield
    finally:
        net.train(was)


class Clock:
    """Measures wall-clock seconds of a block and charges them, with epochs, to the evaluator. With
    ``reps`` every rank charges and remembers rank 0's seconds, so all ranks stop at the same epoch."""

    def __init__(self, evaluator: Any, reps: Replicas | None = None) -> None:
        self.evaluator, self.reps = evaluator, reps
        self.last: dict[str, float] = {}

    @contextmanager
    def charged(self, what: str, epochs: float) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        if self.reps is not None:
            seconds = self.reps.agree(seconds)
        self.last[what] = seconds
        self.evaluator.charge(seconds, epochs)

    def fits(self, seconds: float, epochs: float) -> bool:
        """Whether spending this much more stays within the budget (used to cap generations)."""
        s = self.evaluator.spent
        return self.evaluator.budget.fits(s.evals, s.cost_s + seconds, s.epochs + epochs)


def alternate_epochs(clock: Clock, method: str, epochs: int, weights: Callable[[], None],
                     policy: Callable[[], None]) -> None:
    """EDNAS-style epochs: a weight pass (charged one epoch) then a forward-only policy pass (charged
    none), for as long as one more epoch, timed like the last one, fits the budget."""
    for epoch in range(epochs):
        if not clock.fits(clock.last.get("weights", 0.0) + clock.last.get("policy", 0.0), 1.0):
            log.info("%s: budget fits no further epoch; stopping after %d", method, epoch)
            return
        with clock.charged("weights", 1.0):
            weights()
        with clock.charged("policy", 0.0):
            policy()


def finish(space: Any, evaluator: Any, codes: np.ndarray | None, submit_darts: bool) -> str | None:
    """The returned architecture: NB201 cells go to ``evaluator.submit`` (the harness looks up their
    report); DARTS genotypes are returned as JSON and submitted unless ``submit_darts`` is off (a
    training task then trains them from scratch for the report)."""
    if codes is None:
        return None
    text = space.format(codes)[0]
    if space.name == "nb201" or submit_darts:
        evaluator.submit(codes)
    if space.name != "nb201":
        log.info("returned genotype: %s", text)
    return text
