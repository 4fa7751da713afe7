"""Torch network of the macro space (imports torch). Ops come from the training branch."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from benchmarks.training.nets.ops import DilConv, FactorizedReduce, Identity, SepConv
from benchmarks.spaces.macro import HEAD, KERNEL, LAYERS, N_LAYERS, N_OPS, OPS, STEM


def make_op(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """skip (identity / 1x1 / factorized reduce), sep3/5/7 (DARTS double separable), dil3/5."""
    if op == "skip":
        return Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride)
    k = KERNEL[op]
    if op.startswith("sep"):
        return SepConv(c_in, c_out, k, stride, k // 2)
    return DilConv(c_in, c_out, k, stride, k - 1, 2)


class MixedLayer(nn.Module):
    """Sum of the chosen ops."""

    def __init__(self, bits: np.ndarray, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(make_op(o, c_in, c_out, stride) for o, b in zip(OPS, bits) if b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(op(x) for op in self.ops)


class MacroNet(nn.Module):
    """Stem 3x3 conv (16, BN, ReLU6) -> 5 searched layers -> 1x1 conv 1280 (BN, ReLU6) -> pool -> linear."""

    def __init__(self, codes: np.ndarray, num_classes: int = 100, in_channels: int = 3) -> None:
        super().__init__()
        bits = np.asarray(codes).reshape(N_LAYERS, N_OPS)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, STEM, 3, padding=1, bias=False), nn.BatchNorm2d(STEM),
                                  nn.ReLU6())
        layers, c_in = [], STEM
        for b, (c_out, stride) in zip(bits, LAYERS):
            layers.append(MixedLayer(b, c_in, c_out, stride))
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Conv2d(c_in, HEAD, 1, bias=False), nn.BatchNorm2d(HEAD), nn.ReLU6(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(HEAD, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.layers(self.stem(x))))


def count_macs(net: nn.Module, image_size: int, in_channels: int = 3) -> int:
    """MACs of convolutions and linear layers by forward hooks (checks the analytic count)."""
    total = [0]

    def conv(m: nn.Conv2d, _: tuple, out: torch.Tensor) -> None:
        total[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m: nn.Linear, _: tuple, out: torch.Tensor) -> None:
        total[0] += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
             for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, in_channels, image_size, image_size))
    for h in hooks:
        h.remove()
    return total[0]
