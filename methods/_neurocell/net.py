"""The neuro-cell template network (seed ``create_base_model``): stem conv, repeated instances of one
shared cell with max-pooling between them, head conv, two dropout-FC layers. Imports torch.

Every cell instance is built from the same ``Cell``, so a mutation of the definition changes all of
them alike; parameter names use unit uids (``cells.<i>.units.<uid>.*``), which stay stable under
mutation, so unchanged layers are inherited by name.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchmarks.spaces.neurocell import Cell, Unit
from harness.errors import HarnessError


@dataclass(frozen=True)
class NetShape:
    """Sizes of the template around the cells (seed values: 64, 128, 128, unpadded, 3 cells)."""

    in_channels: int
    image_size: int
    num_classes: int
    n_cells: int = 3
    stem_width: int = 64
    head_width: int = 128
    fc_width: int = 128
    pad: int = 0               # padding of the template's 3x3 convs (0 on 32x32 CIFAR as in the seed)
    conv_dropout: float = 0.7  # Dropout2d after each cell
    fc_dropout: float = 0.5


class ConvUnit(nn.Module):
    """conv -> ReLU -> BN (the seed's layer order)."""

    def __init__(self, cin: int, cout: int, k: int, pad: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=pad)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.relu(self.conv(x)))


class SepUnit(nn.Module):
    """depthwise k x k -> pointwise 1 x 1 -> ReLU -> BN."""

    def __init__(self, cin: int, cout: int, k: int, pad: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, k, padding=pad, groups=cin, bias=False)
        self.pw = nn.Conv2d(cin, cout, 1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.relu(self.pw(self.dw(x))))


class SkipUnit(nn.Module):
    """ReLU -> BN -> conv: the branch a skip mutation adds (conv last, so zero weights still learn)."""

    def __init__(self, c: int, k: int, pad: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, c, k, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.bn(torch.relu(x)))


def _unit(u: Unit, cin: int) -> nn.Module | None:
    if u.kind == "conv":
        return ConvUnit(cin, u.width, u.k, u.pad)
    if u.kind == "sep":
        return SepUnit(cin, u.width, u.k, u.pad)
    if u.kind == "skip":
        return SkipUnit(cin, u.k, u.pad)
    return None


class CellNet(nn.Module):
    """One instance of the shared cell."""

    def __init__(self, cell: Cell, in_width: int) -> None:
        super().__init__()
        self.cell = cell
        w = cell.widths(in_width)
        self.units = nn.ModuleDict({str(u.uid): m for u in cell.units
                                    if (m := _unit(u, w[u.inputs[0]])) is not None})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = {0: x}
        for u in self.cell.units:
            if u.kind == "add":
                out[u.uid] = out[u.inputs[0]] + out[u.inputs[1]]
            elif u.kind == "cat":
                out[u.uid] = torch.cat([out[i] for i in u.inputs], dim=1)
            else:
                out[u.uid] = self.units[str(u.uid)](out[u.inputs[0]])
        return out[self.cell.output]


def spatial(cell: Cell, size: int) -> int:
    """Side length after one cell instance (unpadded convs shrink it)."""
    s = {0: size}
    for u in cell.units:
        s[u.uid] = s[u.inputs[0]] + 2 * u.pad - u.k + 1 if u.kind in ("conv", "sep", "skip") else s[u.inputs[0]]
    return s[cell.output]


class NeuroCellNet(nn.Module):
    """Template network around ``shape.n_cells`` instances of ``cell``; returns log-probabilities."""

    def __init__(self, cell: Cell, shape: NetShape) -> None:
        super().__init__()
        self.cell_def, self.shape = cell, shape
        p = shape.pad
        self.stem = ConvUnit(shape.in_channels, shape.stem_width, 3, p)
        side, width = shape.image_size + 2 * p - 2, shape.stem_width
        cells = []
        for i in range(shape.n_cells):
            cells.append(CellNet(cell, width))
            width = cell.widths(width)[cell.output]
            side = spatial(cell, side)
            if i < shape.n_cells - 1:
                side //= 2
        if side + 2 * p - 2 < 1:
            raise HarnessError(f"images of side {shape.image_size} are too small for {shape.n_cells} cells of unpadded "
                               f"convs (padding {p}); set pad=1 or fewer cells")
        self.cells = nn.ModuleList(cells)
        self.pool = nn.MaxPool2d(2)
        self.drop2d = nn.Dropout2d(shape.conv_dropout)
        self.head = ConvUnit(width, shape.head_width, 3, p)
        side = side + 2 * p - 2
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(shape.fc_dropout),
                                nn.Linear(shape.head_width * side * side, shape.fc_width), nn.ReLU(),
                                nn.Dropout(shape.fc_dropout), nn.Linear(shape.fc_width, shape.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i, cell in enumerate(self.cells):
            x = self.drop2d(cell(x))
            if i < len(self.cells) - 1:
                x = self.pool(x)
        return torch.log_softmax(self.fc(self.head(x)), dim=1)
