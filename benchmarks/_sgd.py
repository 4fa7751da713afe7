"""SGD with momentum, Nesterov and coupled weight decay, as torch.optim.SGD computes it.

torch.optim's constructor imports torch._dynamo (3-5 s per process on CPU), paid by every compare
worker and every torchrun rank; this ~30-line equivalent keeps short trainings short. Private.
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
