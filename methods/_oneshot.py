"""Shared plumbing of the weight-sharing methods (EvNAS, EDNAS): data on the device, seeded batches and
augmentation, the supernet for the space, SGD + cosine, accuracy, and charging measured time.
Private: imports torch.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.protocols import SearchData


@dataclass(frozen=True)
class Tensors:
    """One split, normalised, on the device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


def to_tensors(x: Any, y: Any, data: SearchData, device: str) -> Tensors:
    """uint8 (0..255) or float (0..1) images -> normalised float32 on ``device``."""
    x = torch.as_tensor(x)
    x = x.float().div(255.0) if x.dtype == torch.uint8 else x.float()
    mean = torch.tensor(data.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(data.std, dtype=torch.float32).view(1, -1, 1, 1)
    return Tensors(((x - mean) / std).to(device), torch.as_tensor(y, dtype=torch.long).to(device))


def batches(n: int, size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Index minibatches of one shuffled pass over ``n`` items (last one may be short)."""
    perm = torch.randperm(n, generator=gen)
    for start in range(0, n, size):
        yield perm[start:start + size]


def augment(x: torch.Tensor, crop_pad: int, flip: bool, cutout: int, gen: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding), horizontal flip and cutout, drawn from ``gen``."""
    n, _, h, w = x.shape
    if crop_pad > 0:
        padded = F.pad(x, (crop_pad,) * 4)
        dy = torch.randint(0, 2 * crop_pad + 1, (n,), generator=gen).tolist()
        dx = torch.randint(0, 2 * crop_pad + 1, (n,), generator=gen).tolist()
        x = torch.stack([padded[i, :, a:a + h, b:b + w] for i, (a, b) in enumerate(zip(dy, dx))])
    if flip:
        flipped = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flipped.view(-1, 1, 1, 1).to(x.device), x.flip(3), x)
    if cutout > 0:
        cy = torch.randint(0, h, (n,), generator=gen).tolist()
        cx = torch.randint(0, w, (n,), generator=gen).tolist()
        x = x.clone()
        for i, (a, b) in enumerate(zip(cy, cx)):
            x[i, :, max(0, a - cutout // 2):a + cutout // 2, max(0, b - cutout // 2):b + cutout // 2] = 0.0
    return x


def build_supernet(space: str, cfg: Any, num_classes: int, in_channels: int, seed: int) -> nn.Module:
    """The space's supernet, initialised from ``seed`` without touching torch's global RNG state."""
    from methods._supernets import DartsSupernet, NB201Supernet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if space == "nb201":
            return NB201Supernet(cfg.C, cfg.N, num_classes, in_channels, cfg.affine, cfg.track_running_stats)
        if space == "darts":
            return DartsSupernet(cfg.C, cfg.layers, num_classes, in_channels, cfg.track_running_stats)
    raise HarnessError(f"weight-sharing search supports the spaces nb201 and darts, got {space!r}")


def sgd(params: Any, cfg: Any, nesterov: bool, steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """SGD with momentum and weight decay, and a cosine schedule over ``steps`` scheduler steps."""
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                          nesterov=nesterov)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps), eta_min=cfg.lr_min)


def train_step(net: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               clip: float) -> float:
    """One cross-entropy SGD step with grad-norm clipping; returns the loss."""
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), clip)
    opt.step()
    return float(loss.detach())


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
    """Measures wall-clock seconds of a block and charges them, with epochs, to the evaluator."""

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator
        self.last: dict[str, float] = {}

    @contextmanager
    def charged(self, what: str, epochs: float) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        seconds = time.perf_counter() - t0
        self.last[what] = seconds
        self.evaluator.charge(seconds, epochs)

    def fits(self, seconds: float, epochs: float) -> bool:
        """Whether spending this much more stays within the budget (used to cap generations)."""
        s = self.evaluator.spent
        return self.evaluator.budget.fits(s.evals, s.cost_s + seconds, s.epochs + epochs)
