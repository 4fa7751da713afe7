"""Weight-sharing supernets of the NB201 (S2) and DARTS (S1) spaces, built from the training layer's
ops (search_spaces.md). Mixing hooks: ``set_weights`` (every op, weighted per edge: EvNAS; ``set_mix``
the same with a differentiable tensor: DARTS, SETN), ``set_path`` (only the chosen ops, weight 1: EDNAS,
RSPS, ENAS) and ``set_hard`` (one op per edge times a differentiable scale: GDAS). Imports torch.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from benchmarks.training.nets.ops import (DARTS_OPS, NB201_OPS, FactorizedReduce, ReLUConvBN, ResNetBasicBlock,
                             Zero, darts_op, nb201_op)
from benchmarks.training.nets.nb201 import NB201Net
from methods._oneshot.evnas_ga import DARTS_OFFSETS


class MixedEdge(nn.Module):
    """All candidate ops of one edge; ``none`` (Zero) is never run, it would only add zeros."""

    def __init__(self, ops: Sequence[nn.Module]) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)

    def mixed(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor | None:
        out = None
        for k, op in enumerate(self.ops):
            if not isinstance(op, Zero):
                y = w[k] * op(x)
                out = y if out is None else out + y
        return out

    def single(self, x: torch.Tensor, k: int) -> torch.Tensor | None:
        return None if isinstance(self.ops[k], Zero) else self.ops[k](x)

    def scaled(self, x: torch.Tensor, k: int, scale: torch.Tensor) -> torch.Tensor | None:
        """Only op ``k`` runs, times ``scale`` (the straight-through weight that carries the gradient)."""
        return None if isinstance(self.ops[k], Zero) else scale * self.ops[k](x)


def _add(total: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor | None:
    if y is None:
        return total
    return y if total is None else total + y


class _Mixing(nn.Module):
    """The two hooks; ``weights`` is (cells, edges, ops), ``path`` the space's integer codes."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: torch.Tensor | None = None
        self.path: np.ndarray | None = None
        self.scales: torch.Tensor | None = None  # with ``path``: per-edge multipliers (set_hard)

    def set_weights(self, weights: np.ndarray) -> None:
        """Mix every op of every edge with these per-edge weights (EvNAS)."""
        device = next(self.parameters()).device
        self.weights, self.path = torch.as_tensor(np.asarray(weights), dtype=torch.float32, device=device), None
        self.scales = None

    def set_mix(self, weights: torch.Tensor) -> None:
        """Mix every op with these (cells, edges, ops) weights, keeping their graph (DARTS, SETN)."""
        self.weights, self.path, self.scales = weights, None, None

    def set_path(self, codes: np.ndarray) -> None:
        """Run only the ops the codes name, each with weight 1 (EDNAS)."""
        self.weights, self.path, self.scales = None, np.asarray(codes).astype(np.int64), None

    def set_hard(self, choice: np.ndarray, scales: torch.Tensor) -> None:
        """One op per edge, ``choice`` (cells, edges) its index, times ``scales`` (cells, edges) (GDAS).
        Every edge runs, so on DARTS cells all 14 edges of a cell are active, as in the relaxed net."""
        self.weights, self.path, self.scales = None, np.asarray(choice).astype(np.int64), scales


class NB201Supernet(_Mixing):
    """NB201 skeleton (stem, 3 stages of N cells, ResNet reductions); every edge holds all 5 ops."""

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
                 affine: bool = False, track_running_stats: bool = True) -> None:
        super().__init__()
        base = NB201Net(np.zeros(6, dtype=np.int8), C, N, num_classes, in_channels)  # the fixed skeleton
        self.stem, self.lastact, self.classifier = base.stem, base.lastact, base.classifier
        layers: list[nn.Module] = []
        c = C
        for block in base.cells:  # each (empty) cell becomes 6 mixed edges at the stage's width
            if isinstance(block, ResNetBasicBlock):
                c = block.conv_b[1].out_channels
                layers.append(block)
            else:
                layers.append(nn.ModuleList(
                    MixedEdge([nb201_op(n, c, c, 1, affine, track_running_stats) for n in NB201_OPS])
                    for _ in range(6)))
        self.layers = nn.ModuleList(layers)

    def _cell(self, edges: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x]
        e = 0
        for i in range(1, 4):
            total = None
            for j in range(i):
                if nodes[j] is not None:
                    if self.weights is not None:
                        y = edges[e].mixed(nodes[j], self.weights[0, e])
                    elif self.scales is not None:
                        y = edges[e].scaled(nodes[j], int(self.path.reshape(-1)[e]), self.scales[0, e])
                    else:
                        y = edges[e].single(nodes[j], int(self.path[e]))
                    total = _add(total, y)
                e += 1
            nodes.append(total)
        return nodes[3] if nodes[3] is not None else x.mul(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weights is None and self.path is None:
            raise RuntimeError("set_weights or set_path before running the supernet")
        x = self.stem(x)
        for layer in self.layers:
            x = self._cell(layer, x) if isinstance(layer, nn.ModuleList) else layer(x)
        x = self.lastact(x)
        return self.classifier(x.mean(dim=(2, 3)))


def _darts_candidate(name: str, C: int, stride: int, track: bool) -> nn.Module:
    op = darts_op(name, C, C, stride, False, track)
    if "pool" in name:  # the DARTS search network follows pools with a non-affine BN
        return nn.Sequential(op, nn.BatchNorm2d(C, affine=False, track_running_stats=track))
    return op


class DartsSearchCell(nn.Module):
    """Two preprocessed inputs, 4 nodes, 14 mixed edges; output = concat of nodes 2..5."""

    def __init__(self, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool,
                 track: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = (FactorizedReduce(C_pp, C, 2, False, track) if reduction_prev
                     else ReLUConvBN(C_pp, C, 1, 1, 0, 1, False, track))
        self.pre1 = ReLUConvBN(C_p, C, 1, 1, 0, 1, False, track)
        self.edges = nn.ModuleList(
            MixedEdge([_darts_candidate(n, C, 2 if reduction and src < 2 else 1, track) for n in DARTS_OPS])
            for node in range(4) for src in range(node + 2))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor | None,
                pairs: np.ndarray | None,
                hard: tuple[np.ndarray, torch.Tensor] | None = None) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node, start in enumerate(DARTS_OFFSETS):
            total = None
            if hard is not None:  # (14 op indices, 14 scales): every edge, one op each
                for src in range(node + 2):
                    e = start + src
                    total = _add(total, self.edges[e].scaled(states[src], int(hard[0][e]), hard[1][e]))
            elif weights is not None:
                for src in range(node + 2):
                    total = _add(total, self.edges[start + src].mixed(states[src], weights[start + src]))
            else:
                for op, src in pairs[2 * node:2 * node + 2]:
                    total = _add(total, self.edges[start + int(src)].single(states[int(src)], int(op)))
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSupernet(_Mixing):
    """DARTS search network: stem 3C, ``layers`` cells with reductions at 1/3 and 2/3 depth."""

    def __init__(self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
                 track_running_stats: bool = True, stem_multiplier: int = 3) -> None:
        super().__init__()
        stem_c = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_c))
        C_pp, C_p, C_cur, reduction_prev = stem_c, stem_c, C, False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            C_cur = C_cur * 2 if reduction else C_cur
            self.cells.append(DartsSearchCell(C_pp, C_p, C_cur, reduction, reduction_prev, track_running_stats))
            reduction_prev = reduction
            C_pp, C_p = C_p, 4 * C_cur
        self.classifier = nn.Linear(C_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weights is None and self.path is None:
            raise RuntimeError("set_weights or set_path before running the supernet")
        s0 = s1 = self.stem(x)
        hard = self.scales is not None
        cells = None if self.path is None or hard else self.path.reshape(2, 16)
        for cell in self.cells:
            k = int(cell.reduction)  # normal weights to normal cells (the EDNAS seed swaps them)
            w = None if self.weights is None else self.weights[k]
            s0, s1 = s1, cell(s0, s1, w, None if cells is None else cells[k].reshape(8, 2),
                              (self.path.reshape(2, 14)[k], self.scales[k]) if hard else None)
        return self.classifier(s1.mean(dim=(2, 3)))
