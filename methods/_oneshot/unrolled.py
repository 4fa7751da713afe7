"""DARTS' second-order architecture gradient (DARTS-V2): the gradient of the validation loss after one
virtual SGD step of the weights, with the Hessian-vector product taken by central finite differences
(docs/oneshot.md gives the formula). Imports torch.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _grads(loss: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients with a zero tensor for a parameter the loss does not reach."""
    g = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if gi is None else gi for p, gi in zip(params, g)]


def virtual_step(params: list[torch.Tensor], grads: list[torch.Tensor], sgd: Any, lr: float) -> list[torch.Tensor]:
    """DARTS' w' = w - lr (momentum * buffer + g + weight_decay * w), the optimiser's buffers as they are."""
    out = []
    for p, g, buf in zip(params, grads, sgd.buffers):
        d = g + sgd.weight_decay * p
        if buf is not None:
            d = d + sgd.momentum * buf
        out.append(p - lr * d)
    return out


def unrolled_arch_grad(net: nn.Module, alpha: torch.Tensor, sgd: Any, lr: float, train: tuple[torch.Tensor, ...],
                       valid: tuple[torch.Tensor, ...], eps: float = 0.01) -> torch.Tensor:
    """d/d alpha of L_val(w', alpha), w' = virtual_step(w): the direct term minus
    ``lr * (grad_alpha L_train(w+) - grad_alpha L_train(w-)) / (2 r)``, w+- = w +- r dw',
    r = eps / ||dw'||. The weights are restored afterwards; alpha.grad is not touched."""
    params = list(sgd.params)
    w0 = [p.detach().clone() for p in params]
    net.set_mix(torch.softmax(alpha, dim=-1).detach())
    g = _grads(F.cross_entropy(net(train[0]), train[1]), params)
    with torch.no_grad():
        for p, w in zip(params, virtual_step(params, g, sgd, lr)):
            p.copy_(w)
    net.set_mix(torch.softmax(alpha, dim=-1))
    d = _grads(F.cross_entropy(net(valid[0]), valid[1]), [alpha, *params])
    d_alpha, dw = d[0], d[1:]
    r = eps / torch.sqrt(sum((v * v).sum() for v in dw))

    def at(sign: float) -> torch.Tensor:
        with torch.no_grad():
            for p, w, v in zip(params, w0, dw):
                p.copy_(w + sign * r * v)
        net.set_mix(torch.softmax(alpha, dim=-1))
        return _grads(F.cross_entropy(net(train[0]), train[1]), [alpha])[0]

    try:
        hvp = (at(1.0) - at(-1.0)) / (2 * r)
    finally:
        with torch.no_grad():
            for p, w in zip(params, w0):
                p.copy_(w)
    return d_alpha - lr * hvp
