"""Candidate operations of the NB201 (S2) and DARTS (S1) cell spaces, shared by the fixed networks,
the weight-sharing supernets and Net2Net-style morphisms (search_spaces.md, NB201 and DARTS code).

Every op takes ``(C_in, C_out, stride, affine, track_running_stats)`` so one definition serves the
evaluation networks (affine BN) and supernets (non-affine BN). Imports torch.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
DARTS_OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")


def _bn(C: int, affine: bool, track: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(C, affine=affine, track_running_stats=track)


class ReLUConvBN(nn.Sequential):
    """ReLU -> conv (no bias) -> BN: the NB201 ``nor_conv`` and the DARTS cell preprocessing."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            _bn(C_out, affine, track_running_stats))


class DilConv(nn.Sequential):
    """ReLU -> depthwise (dilated) conv -> pointwise 1x1 -> BN (DARTS ``dil_conv``)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            _bn(C_out, affine, track_running_stats))


class SepConv(nn.Sequential):
    """Two stacked DilConv(dilation 1), the second at stride 1 (DARTS ``sep_conv``)."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            DilConv(C_in, C_in, kernel, stride, padding, 1, affine, track_running_stats),
            DilConv(C_in, C_out, kernel, 1, padding, 1, affine, track_running_stats))


class Identity(nn.Module):
    """``skip_connect`` at stride 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """``none``: zeros shaped like the op's output (strided, C_out channels)."""

    def __init__(self, C_in: int, C_out: int, stride: int) -> None:
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        if x.shape[1] != self.C_out:
            return x.new_zeros(x.shape[0], self.C_out, x.shape[2], x.shape[3])
        return x.mul(0.0)


class FactorizedReduce(nn.Module):
    """Stride-2 reduction by two offset 1x1 convs whose outputs are concatenated, then BN.

    Odd inputs are padded so both halves have the same size (as NB201 does).
    """

    def __init__(self, C_in: int, C_out: int, stride: int = 2, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        if stride == 1:  # only a channel change (NB201 uses this when C_in != C_out)
            self.convs = nn.ModuleList([nn.Conv2d(C_in, C_out, 1, bias=False)])
        else:
            half = C_out // 2
            self.convs = nn.ModuleList([nn.Conv2d(C_in, half, 1, stride=stride, bias=False),
                                        nn.Conv2d(C_in, C_out - half, 1, stride=stride, bias=False)])
        self.relu = nn.ReLU(inplace=False)
        self.bn = _bn(C_out, affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if len(self.convs) == 1:
            return self.bn(self.convs[0](x))
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


class Pool(nn.Module):
    """3x3 average or max pooling (padding 1; average excludes padding), with a 1x1 ReLUConvBN in
    front when the channel count changes (NB201) and an optional BN after (DARTS supernet)."""

    def __init__(self, mode: str, C_in: int, C_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True, bn_after: bool = False) -> None:
        super().__init__()
        self.pre = (ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
                    if C_in != C_out else None)
        self.pool = (nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
                     if mode == "avg" else nn.MaxPool2d(3, stride=stride, padding=1))
        self.post = _bn(C_out, False, track_running_stats) if bn_after else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre is not None:
            x = self.pre(x)
        x = self.pool(x)
        return self.post(x) if self.post is not None else x


def _skip(C_in: int, C_out: int, stride: int, affine: bool, track: bool) -> nn.Module:
    if stride == 1 and C_in == C_out:
        return Identity()
    return FactorizedReduce(C_in, C_out, stride, affine, track)


OpFactory = Callable[[int, int, int, bool, bool], nn.Module]

NB201_FACTORIES: dict[str, OpFactory] = {
    "none": lambda ci, co, s, a, t: Zero(ci, co, s),
    "skip_connect": _skip,
    "nor_conv_1x1": lambda ci, co, s, a, t: ReLUConvBN(ci, co, 1, s, 0, 1, a, t),
    "nor_conv_3x3": lambda ci, co, s, a, t: ReLUConvBN(ci, co, 3, s, 1, 1, a, t),
    "avg_pool_3x3": lambda ci, co, s, a, t: Pool("avg", ci, co, s, a, t),
}

DARTS_FACTORIES: dict[str, OpFactory] = {
    "none": lambda ci, co, s, a, t: Zero(ci, co, s),
    "max_pool_3x3": lambda ci, co, s, a, t: Pool("max", ci, co, s, a, t),
    "avg_pool_3x3": lambda ci, co, s, a, t: Pool("avg", ci, co, s, a, t),
    "skip_connect": _skip,
    "sep_conv_3x3": lambda ci, co, s, a, t: SepConv(ci, co, 3, s, 1, a, t),
    "sep_conv_5x5": lambda ci, co, s, a, t: SepConv(ci, co, 5, s, 2, a, t),
    "dil_conv_3x3": lambda ci, co, s, a, t: DilConv(ci, co, 3, s, 2, 2, a, t),
    "dil_conv_5x5": lambda ci, co, s, a, t: DilConv(ci, co, 5, s, 4, 2, a, t),
}


def nb201_op(name: str, C_in: int, C_out: int, stride: int = 1, affine: bool = True,
             track_running_stats: bool = True) -> nn.Module:
    """An NB201 candidate op by name."""
    return NB201_FACTORIES[name](C_in, C_out, stride, affine, track_running_stats)


def darts_op(name: str, C_in: int, C_out: int, stride: int = 1, affine: bool = True,
             track_running_stats: bool = True) -> nn.Module:
    """A DARTS candidate op by name."""
    return DARTS_FACTORIES[name](C_in, C_out, stride, affine, track_running_stats)


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block: two 3x3 ReLUConvBN with a pooled 1x1 shortcut at stride 2."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.shortcut: nn.Module = nn.Sequential(
                nn.AvgPool2d(2, stride=2, padding=0, ceil_mode=True), nn.Conv2d(C_in, C_out, 1, bias=False))
        elif C_in != C_out:
            self.shortcut = ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.shortcut = Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def drop_path(x: torch.Tensor, drop_prob: float, generator: torch.Generator | None) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest (DARTS drop-path)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    dev = generator.device if generator is not None else x.device
    mask = torch.empty(x.shape[0], 1, 1, 1, device=dev).bernoulli_(keep, generator=generator)
    return x / keep * mask.to(x.device, x.dtype)
