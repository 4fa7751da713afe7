"""Batch-wise normalisation and augmentation (random crop, flip, cutout) drawn from a
torch.Generator for the whole global batch, so every process of a DDP job draws the same values and
1-process and N-process training agree. Imports torch."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in 0..1, then per-channel standardisation."""
    x = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def draw(n: int, side: int, crop_pad: int, flip: bool, cutout: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Augmentation parameters for ``n`` images (always the same number of draws per batch)."""
    return {
        "oy": torch.randint(0, 2 * crop_pad + 1, (n,), generator=g),
        "ox": torch.randint(0, 2 * crop_pad + 1, (n,), generator=g),
        "flip": (torch.rand(n, generator=g) < 0.5) & flip,
        "cy": torch.randint(0, side, (n,), generator=g),
        "cx": torch.randint(0, side, (n,), generator=g),
    }


def apply(x: torch.Tensor, p: dict[str, torch.Tensor], crop_pad: int, cutout: int) -> torch.Tensor:
    """Crop from the zero-padded image, flip, then cut out a square (clipped at the border)."""
    n, _, h, w = x.shape
    dev = x.device
    p = {k: v.to(dev) for k, v in p.items()}
    if crop_pad:
        xp = F.pad(x, (crop_pad,) * 4)
        rows = (p["oy"][:, None] + torch.arange(h, device=dev))[:, None, :, None]
        cols = (p["ox"][:, None] + torch.arange(w, device=dev))[:, None, None, :]
        batch = torch.arange(n, device=dev)[:, None, None, None]
        chan = torch.arange(x.shape[1], device=dev)[None, :, None, None]
        x = xp[batch, chan, rows, cols]
    x = torch.where(p["flip"].view(-1, 1, 1, 1), x.flip(3), x)
    if cutout:
        ys = torch.arange(h, device=dev)[None, :, None]
        xs = torch.arange(w, device=dev)[None, None, :]
        half = cutout // 2
        cy, cx = p["cy"].view(-1, 1, 1) - half, p["cx"].view(-1, 1, 1) - half
        inside = (ys >= cy) & (ys < cy + cutout) & (xs >= cx) & (xs < cx + cutout)
        x = x * (~inside).unsqueeze(1).to(x.dtype)
    return x
