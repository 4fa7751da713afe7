"""Architecture relaxations of the weight-sharing baselines (docs/oneshot.md): DARTS' softmax mix (also
SETN's joint pass), GDAS' Gumbel-softmax with a hard one-op forward and a straight-through gradient,
template sampling from the learned distribution (SETN) and uniform cells (RSPS, SETN weight steps).
Alphas are (cells, edges, ops) tensors as the supernets' mixing hooks take them. Imports torch.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch

from methods._oneshot.evnas_ga import DECODERS, SHAPES, softmax


def init_alpha(space: str, gen: torch.Generator, device: str = "cpu") -> torch.Tensor:
    """Architecture logits, N(0, 1e-3^2) as DARTS initialises them, a leaf that takes gradients."""
    return (1e-3 * torch.randn(SHAPES[space], generator=gen)).to(device).requires_grad_()


def softmax_mix(alpha: torch.Tensor) -> torch.Tensor:
    """DARTS: every op of an edge weighted by the softmax of its logits (differentiable)."""
    return torch.softmax(alpha, dim=-1)


def gumbel_noise(alpha: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Standard Gumbel noise shaped like ``alpha`` (-log of Exp(1) draws), from ``gen``."""
    e = torch.empty(alpha.shape, dtype=torch.float64).exponential_(generator=gen)
    return (-e.log()).to(alpha.device, alpha.dtype)


def gumbel_hard(alpha: torch.Tensor, tau: float, noise: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """GDAS: per edge the arg-max of softmax((alpha + g) / tau) runs alone; its scale is
    ``1 - soft.detach() + soft`` at that op (value 1, gradient of the soft weight: straight-through).
    Returns (choice (cells, edges), scales (cells, edges))."""
    soft = torch.softmax((alpha + noise) / tau, dim=-1)
    choice = soft.detach().argmax(dim=-1)
    picked = soft.gather(-1, choice.unsqueeze(-1)).squeeze(-1)
    return choice.cpu().numpy(), 1.0 - picked.detach() + picked


def tau_at(epoch: int, epochs: int, tau_max: float, tau_min: float) -> float:
    """GDAS temperature, linear from ``tau_max`` (first epoch) to ``tau_min`` (last)."""
    return tau_max - (tau_max - tau_min) * epoch / max(1, epochs - 1)


def derive(space: str, alpha: torch.Tensor) -> np.ndarray:
    """The cell the logits name: NB201 each edge's arg-max op (``none`` included, as the NB201
    genotype); DARTS the DARTS rule (strongest non-none op, two strongest edges per node)."""
    return DECODERS[space](alpha.detach().double().cpu().numpy())[0]


def template_cells(alpha: torch.Tensor, n: int, rng: np.random.Generator, mode: str) -> list[np.ndarray]:
    """SETN's templates from the learned distribution (NB201): ``sample`` draws ``n`` cells (each edge
    from its softmax), ``topk`` the ``n`` most probable of all 15,625 cells (ties: lower index first)."""
    p = softmax(alpha.detach().double().cpu().numpy()[0])  # (6, 5)
    if mode == "sample":
        c = np.cumsum(p, axis=1)
        u = rng.random((n, p.shape[0]))
        picks = np.array([[min(int(np.searchsorted(c[e], u[i, e] * c[e, -1], side="right")), p.shape[1] - 1)
                           for e in range(p.shape[0])] for i in range(n)])
        return [row.astype(np.int8) for row in picks]
    cells = np.array(list(itertools.product(range(p.shape[1]), repeat=p.shape[0])), dtype=np.int8)
    logp = np.log(p)[np.arange(p.shape[0]), cells].sum(axis=1)
    order = np.argsort(-logp, kind="stable")[:n]
    return [cells[i] for i in order]
