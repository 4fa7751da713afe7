"""The DARTS evaluation network for a genotype (search_spaces.md §2): a stem, ``layers`` cells with
reductions at 1/3 and 2/3 depth, an auxiliary head at 2/3 depth, drop-path. CIFAR and ImageNet stems.
Imports torch."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmarks.training.nets.ops import FactorizedReduce, Identity, ReLUConvBN, darts_op, drop_path
from benchmarks.spaces.darts import CELLS, N_NODES, N_PAIRS, OPS

# (C, layers) for the two standard sizes (DARTS search network / CIFAR evaluation / ImageNet mobile)
SIZES = {"search": (16, 8), "eval": (36, 20), "imagenet": (48, 14)}


class DartsCell(nn.Module):
    """Two preprocessed inputs, k <= 4 nodes each summing two ops, output = concat of nodes 2..k+1
    (k < 4: a partial cell, whose absent trailing nodes are all-zero codes)."""

    def __init__(self, pairs: np.ndarray, C_pp: int, C_p: int, C: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(C_pp, C) if reduction_prev else ReLUConvBN(C_pp, C, 1, 1, 0)
        self.pre1 = ReLUConvBN(C_p, C, 1, 1, 0)
        self.n_nodes = int(np.any(np.asarray(pairs).reshape(N_NODES, 4) != 0, axis=1).sum())
        pairs = np.asarray(pairs)[:2 * self.n_nodes]
        self.srcs = [int(s) for _, s in pairs]
        self.ops = nn.ModuleList(darts_op(OPS[int(op)], C, C, 2 if reduction and src < 2 else 1)
                                 for op, src in pairs)
        self.multiplier = self.n_nodes

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float,
                generator: torch.Generator | None) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node in range(self.n_nodes):
            total = None
            for k in (2 * node, 2 * node + 1):
                h = self.ops[k](states[self.srcs[k]])
                if self.training and not isinstance(self.ops[k], Identity):
                    h = drop_path(h, drop_prob, generator)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHead(nn.Module):
    """Classifier on the 2/3-depth features (DARTS CIFAR head; pools adaptively on small inputs)."""

    def __init__(self, C: int, num_classes: int, imagenet: bool) -> None:
        super().__init__()
        stride = 2 if imagenet else 3
        self.pool = nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False)
        self.small = nn.AdaptiveAvgPool2d(2)
        self.features = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128),
            nn.ReLU(inplace=True), nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768),
            nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x) if min(x.shape[-2:]) >= 5 else self.small(x)
        x = self.features(x)
        return self.classifier(x.mean(dim=(2, 3)))


class DartsNet(nn.Module):
    """DARTS NetworkCIFAR / NetworkImageNet; ``forward`` returns (logits, aux_logits or None)."""

    def __init__(self, codes: np.ndarray, C: int = 36, layers: int = 20, num_classes: int = 10,
                 in_channels: int = 3, auxiliary: bool = True, imagenet: bool = False) -> None:
        super().__init__()
        cells = np.asarray(codes).reshape(len(CELLS), N_PAIRS, 2)
        self.drop_prob = 0.0
        self.generator: torch.Generator | None = None
        if imagenet:
            self.stem0 = nn.Sequential(
                nn.Conv2d(in_channels, C // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C // 2),
                nn.ReLU(inplace=True), nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(C))
            self.stem1 = nn.Sequential(nn.ReLU(inplace=True),
                                       nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C))
            C_pp, C_p, reduction_prev = C, C, True
        else:
            stem_c = 3 * C
            self.stem0 = nn.Sequential(nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(stem_c))
            self.stem1 = None
            C_pp, C_p, reduction_prev = stem_c, stem_c, False
        self.cells = nn.ModuleList()
        self.aux_pos = 2 * layers // 3
        C_cur, C_aux = C, C
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_cur *= 2
            cell = DartsCell(cells[int(reduction)], C_pp, C_p, C_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            C_pp, C_p = C_p, cell.multiplier * C_cur
            if i == self.aux_pos:
                C_aux = C_p
        self.auxiliary = AuxiliaryHead(C_aux, num_classes, imagenet) if auxiliary else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = self.stem0(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_prob, self.generator)
            if i == self.aux_pos and self.auxiliary is not None and self.training:
                aux = self.auxiliary(s1)
        return self.classifier(self.pool(s1).flatten(1)), aux
