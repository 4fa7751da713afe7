"""Adam with coupled (L2) weight decay, computed with the same tensor operations as torch.optim.Adam
(single-tensor path), so the two agree bit for bit on CPU.

Like ``_sgd.py`` it exists because torch.optim's constructor imports torch._dynamo (3-8 s per
process), paid once by every compare worker whose method fits a predictor or a policy. Private.
"""
from __future__ import annotations

from typing import Iterable

import torch


class Adam:
    """``m <- lerp(m, g, 1 - b1)``, ``v <- b2 v + (1 - b2) g^2``, step ``lr / c1 * m / (sqrt(v) / sqrt(c2) + eps)``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 weight_decay: float = 0.0, eps: float = 1e-8) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, (self.b1, self.b2), self.wd, self.eps, self.t = lr, betas, weight_decay, eps, 0
        self.m = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.v = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        step_size = self.lr / (1 - self.b1 ** self.t)
        c2_sqrt = (1 - self.b2 ** self.t) ** 0.5
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad.add(p, alpha=self.wd) if self.wd else p.grad
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, (v.sqrt() / c2_sqrt).add_(self.eps), value=-step_size)
