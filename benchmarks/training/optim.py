"""SGD and Adam computed with the same tensor operations as torch.optim.SGD / torch.optim.Adam
(single-tensor path), so they agree bit for bit on CPU.

torch.optim's constructor imports torch._dynamo (3-8 s per process on CPU), paid by every compare
worker and every torchrun rank; these ~30-line equivalents keep short trainings and the predictors'
and policies' fits short. SGD has momentum, Nesterov and coupled weight decay; Adam coupled (L2)
weight decay.
"""
from __future__ import annotations

from typing import Iterable

import torch


class SGD:
    """``buf = m * buf + g + wd * p``; step along ``g + m * buf`` (Nesterov) or ``buf``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], momentum: float, nesterov: bool,
                 weight_decay: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self, lr: float) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            d = p.grad.add(p, alpha=self.weight_decay) if self.weight_decay else p.grad
            if self.momentum:
                buf = self.buffers[i]
                buf = d.clone() if buf is None else buf.mul_(self.momentum).add_(d)
                self.buffers[i] = buf
                d = d.add(buf, alpha=self.momentum) if self.nesterov else buf
            p.add_(d, alpha=-lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def state_dict(self) -> dict[str, list[torch.Tensor]]:
        return {"buffers": [torch.zeros(0) if b is None else b for b in self.buffers]}

    def load_state_dict(self, state: dict[str, list[torch.Tensor]]) -> None:
        self.buffers = [None if b.numel() == 0 else b.to(p.device) for b, p in zip(state["buffers"], self.params)]


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
