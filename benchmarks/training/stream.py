"""DataLoaders over a streamed dataset (``benchmarks/training/data/folders.py``) for the trainer:
worker processes decode and augment, pinned memory on CUDA, and a distributed batch sampler that
cuts every global batch exactly as the in-memory path does (``benchmarks/training/trainer.py``).

Why not the stock ``DistributedSampler`` order: it interleaves a permutation over the ranks, so N
ranks would train other batch-norm chunks than one process with ``accum=N``, and results would
depend on the process count. ``ChunkSampler`` is a DistributedSampler (``set_epoch``, one shard per
rank) whose shard of a step is this rank's contiguous chunks of the global batch. Imports torch.
"""
from __future__ import annotations

import logging
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from benchmarks.training.data.folders import FileList, FolderData, Images, collate, transforms_for
from harness.distributed import Dist
from harness.errors import DataError
from harness.seeding import torch_seed

log = logging.getLogger(__name__)
_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant: per-image seeds from one epoch seed


class ChunkSampler(DistributedSampler):
    """Yields, per step, this rank's ``accum`` chunks of a global batch of ``batch`` images drawn from
    a permutation seeded by (train seed, epoch), each image keyed with its augmentation seed."""

    def __init__(self, n: int, batch: int, dist: Dist, accum: int, seed: int) -> None:
        super().__init__(range(n), num_replicas=dist.world, rank=dist.rank, shuffle=True, seed=seed, drop_last=True)
        self.n, self.batch, self.accum, self.train_seed = n, batch, accum, seed
        self.steps = max(1, n // batch)
        chunks = dist.world * accum
        if batch % chunks:
            raise DataError(f"global batch {batch} must be divisible by processes x micro-batches = {chunks}")
        self.share = batch // dist.world

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:  # type: ignore[override]
        g = torch.Generator().manual_seed(torch_seed(self.train_seed, "epoch", str(self.epoch)))
        perm = torch.randperm(self.n, generator=g)
        base = torch_seed(self.train_seed, "augment", str(self.epoch))
        lo = self.rank * self.share
        for step in range(self.steps):
            idx = perm[step * self.batch:(step + 1) * self.batch][lo:lo + self.share].tolist()
            yield [((base + i * _MIX) % 2**63, i) for i in idx]


def _eval_batches(n: int, batch: int, dist: Dist) -> list[list[tuple[None, int]]]:
    """This rank's interleaved share of a split, in batches (as ``Trainer.accuracy`` scores in memory)."""
    idx = np.arange(dist.rank, n, dist.world)
    return [[(None, int(i)) for i in idx[s:s + batch]] for s in range(0, len(idx), batch)]


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # decoding is per image; threads would only contend


def loader(data: FolderData, files: FileList, batches: object, cuda: bool, train: bool) -> DataLoader:
    """A DataLoader over ``files`` with the data's worker count; persistent workers across epochs. In a
    daemonic process (a worker of ``compare --workers N``), which may not start processes, it decodes
    in the process: slower, same result (augmentation does not depend on the worker count)."""
    import multiprocessing

    w = int(data.workers)
    if w and multiprocessing.current_process().daemon:
        if train:  # once per training, not per evaluation pass
            log.warning("%s: decoding in the process, not in %d DataLoader workers: this is a compare worker, "
                        "which may not start processes (run compare with --workers 1 or under torchrun)", data.name, w)
        w = 0
    return DataLoader(Images(files, transforms_for(data, train)), batch_sampler=batches, num_workers=w,
                      collate_fn=collate, pin_memory=cuda, persistent_workers=w > 0 and train,
                      prefetch_factor=4 if w else None, worker_init_fn=_worker_init if w else None)


class Stream:
    """Batches of a streamed dataset for one trainer: the training loader lives from ``start`` to
    ``stop`` (its workers persist across epochs); evaluation loaders are made per pass."""

    def __init__(self, data: FolderData, dist: Dist, cuda: bool) -> None:
        self.data, self.dist, self.cuda = data, dist, cuda
        self.sampler: ChunkSampler | None = None
        self.loader: DataLoader | None = None
        self._warned: set[str] = set()

    def start(self, batch: int, accum: int, seed: int) -> None:
        self.sampler = ChunkSampler(len(self.data.train), batch, self.dist, accum, seed)
        self.loader = loader(self.data, self.data.train, self.sampler, self.cuda, train=True)

    def stop(self) -> None:
        self.sampler = self.loader = None  # the workers end with the loader

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's (uint8 images, labels) of every step of ``epoch``."""
        assert self.sampler is not None and self.loader is not None, "start() first"
        self.sampler.set_epoch(epoch)
        for x, y, bad in self.loader:
            self.check(bad)
            yield x, y

    def eval_batches(self, files: FileList, batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Evaluation batches of ``files`` (this rank's share), decoded by short-lived workers."""
        for x, y, bad in loader(self.data, files, _eval_batches(len(files), batch, self.dist), self.cuda, False):
            self.check(bad)
            yield x, y

    def check(self, bad: list[tuple[str, str]]) -> None:
        """Unreadable images: stop (one line naming the first) or warn once per file and go on."""
        for path, reason in bad:
            if self.data.bad_images == "stop":
                raise DataError(f"unreadable image {path}: {reason} (--option bad_images=skip, or train "
                                f"--bad-images skip, replaces such images by the next readable one)")
            if path not in self._warned:
                self._warned.add(path)
                log.warning("unreadable image %s (%s); replaced by the next readable one", path, reason)
