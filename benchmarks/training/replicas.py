"""Data-parallel training under torchrun for the weight-sharing methods (EvNAS, EDNAS; ednas-rnn and
the ``ptb-train`` evaluation through ``benchmarks/training/rnn_replicas.py``).

Every rank holds the same supernet and draws the same global batch from the same generator (the study
runs in lockstep); each rank runs only its contiguous chunk of it. Gradients are averaged by hand (one
flat all-reduce per step, each rank's share weighted by its chunk size) before clipping and the SGD
step, so the parameters stay identical everywhere. A manual all-reduce instead of torch DDP because a
single-path step (EDNAS) leaves most ops unused and a short last batch can leave a rank nothing to run:
a per-parameter "has a gradient" flag travels with the gradients, and a parameter keeps ``grad = None``
exactly when no rank produced one, as in one process. Accuracies are counts summed over the ranks'
chunks. Imports torch.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.distributed import Dist, all_reduce_sum, broadcast_buffers, broadcast_object


class Replicas:
    """This rank's share of every global batch and the collectives that keep the replicas identical."""

    def __init__(self, dist: Dist) -> None:
        self.dist = dist

    def part(self, n: int) -> slice:
        """This rank's contiguous chunk of ``n`` items; chunk sizes differ by at most one."""
        base, extra = divmod(n, self.dist.world)
        r = self.dist.rank
        start = r * base + min(r, extra)
        return slice(start, start + base + (r < extra))

    def train_step(self, net: nn.Module, opt: Any, split: Any, idx: torch.Tensor, data: Any, cutout: int,
                   gen: torch.Generator, clip: float) -> float:
        """One SGD step on the global batch ``split[idx]``: augmentation drawn for the whole batch (the
        generator advances as in one process), forward/backward on this rank's chunk, averaged gradients,
        clipping, step. Returns the global batch's mean loss."""
        from benchmarks.training.augment import apply, draw

        n, part = len(idx), self.part(len(idx))
        mine = idx[part]
        x = split.x[mine]
        if data.crop_pad or data.flip or cutout:
            p = draw(n, split.x.shape[-1], data.crop_pad, data.flip, cutout, gen)
            x = apply(x, {k: v[part] for k, v in p.items()}, data.crop_pad, cutout)
        opt.zero_grad()
        loss = None
        if len(mine):
            loss = F.cross_entropy(net(x), split.y[mine])
            loss.backward()
        total = self.average_grads(net, len(mine) / n, loss)
        nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        return total

    def average_grads(self, net: nn.Module, share: float, loss: torch.Tensor | None) -> float:
        """grad <- sum over ranks of share * grad, in one all-reduce of [grads, has-grad flags, loss];
        returns the share-weighted loss summed over ranks. ``share`` is this rank's fraction of the
        global batch (images for the CNN step, token columns for the RNN step), so the result is the
        full batch's mean gradient. Shared by every data-parallel step so they average alike."""
        params = [p for p in net.parameters() if p.requires_grad]
        device = params[0].device
        has = [p.grad is not None for p in params]
        parts = [p.grad.reshape(-1) * share if h else torch.zeros(p.numel(), device=device)
                 for p, h in zip(params, has)]
        flags = torch.tensor([float(h) for h in has], device=device)
        weighted_loss = torch.zeros(1, device=device) if loss is None else loss.detach().reshape(1) * share
        buf = all_reduce_sum(torch.cat(parts + [flags, weighted_loss]), self.dist)
        offset, used = 0, buf[-len(params) - 1:-1].tolist()
        for p, u in zip(params, used):
            k = p.numel()
            p.grad = buf[offset:offset + k].view_as(p) if u > 0 else None
            offset += k
        return float(buf[-1])

    @torch.no_grad()
    def accuracy(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
        """Top-1 % over all of ``x``: each global batch of ``batch`` items is cut like a training
        batch, and the ranks' correct counts are summed (exact integers, the same on every rank)."""
        correct = torch.zeros(1, dtype=torch.float64, device=y.device)
        for start in range(0, len(y), batch):
            part = self.part(min(batch, len(y) - start))
            lo, hi = start + part.start, start + part.stop
            if hi > lo:
                correct += (net(x[lo:hi]).argmax(1) == y[lo:hi]).sum()
        correct = all_reduce_sum(correct, self.dist)
        return 100.0 * float(correct) / max(1, len(y))

    def sync_buffers(self, net: nn.Module) -> None:
        """Rank 0's BN running statistics everywhere (each rank updated them from its own chunks)."""
        broadcast_buffers(net, self.dist)

    def agree(self, value: float) -> float:
        """Rank 0's number on every rank (measured seconds that decide whether another epoch fits)."""
        return float(broadcast_object(float(value), self.dist))


def replicas() -> Replicas | None:
    """Data-parallel helpers when this process is one of several in a joined torchrun group, else None
    (under torchrun a benchmark that is not DDP-capable runs on rank 0 alone, outside the group)."""
    from harness.distributed import joined

    d = joined()
    return Replicas(d) if d.active else None
