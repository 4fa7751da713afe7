"""The NB201 network for one cell (search_spaces.md §1): stem, 3 stages of N cells, ResNet reduction
blocks, BN-ReLU, global average pooling, linear. Imports torch."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmarks.training.nets.ops import NB201_OPS, ResNetBasicBlock, nb201_op
from benchmarks.spaces.nb201 import EDGES


class NB201Cell(nn.Module):
    """Node i = sum over j < i of op(i<-j)(node j); ``none`` edges are left out (they add zeros)."""

    def __init__(self, codes: np.ndarray, C: int) -> None:
        super().__init__()
        self.edges = [(i, j) for (i, j), c in zip(EDGES, codes) if NB201_OPS[int(c)] != "none"]
        self.ops = nn.ModuleList(nb201_op(NB201_OPS[int(c)], C, C, 1)
                                 for c in codes if NB201_OPS[int(c)] != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for (i, j), op in zip(self.edges, self.ops):
            if nodes[j] is not None:
                y = op(nodes[j])
                nodes[i] = y if nodes[i] is None else nodes[i] + y
        return nodes[3] if nodes[3] is not None else x.mul(0.0)


class NB201Net(nn.Module):
    """The fixed NB201 skeleton around one cell; C=16, N=5 is the benchmark's size."""

    def __init__(self, codes: np.ndarray, C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c_prev = C
        for stage in range(3):
            c = C * 2**stage
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c, 2))
            layers.extend(NB201Cell(codes, c) for _ in range(N))
            c_prev = c
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))


def count_params(model: nn.Module, skip: str = "auxiliary") -> int:
    """Trainable parameters, leaving out the auxiliary head as the papers' counts do."""
    return sum(p.numel() for n, p in model.named_parameters() if skip not in n)
