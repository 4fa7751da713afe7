"""``gpus``: one run at a time per local GPU, for studies of many small trainings.

One forked worker per device, each seeing only its own (``CUDA_VISIBLE_DEVICES`` set to that one
device before it runs anything), takes the next run from the queue; so the devices rotate over the
runs and none runs two at once. Devices come from ``--executor-option devices=0,1,...``, else from
``CUDA_VISIBLE_DEVICES``, else from torch's device count. A single large job keeps the lockstep DDP
path (``torchrun``, harness/lockstep.py). The driver must not have touched CUDA before the fork.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Iterator

from harness.errors import HarnessError
from harness.executors.local import Chunk, Work, forked_map
from harness.registry import EXECUTORS


def local_devices(given: str | None = None) -> list[str]:
    """The device names to rotate over: ``given`` (comma list), else ``CUDA_VISIBLE_DEVICES``, else
    ``0..n-1`` for torch's device count (torch is asked only then, without initialising CUDA here)."""
    text = given if given is not None else os.environ.get("CUDA_VISIBLE_DEVICES")
    if text is not None:
        return [d.strip() for d in text.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


@EXECUTORS.register("gpus")
class GpuExecutor:
    """One run per local GPU at a time (a worker per device, CUDA_VISIBLE_DEVICES rotating)."""

    max_chunk = 1  # each run is a chunk, so a free device takes the next run

    def __init__(self, workers: int, devices: str | None = None) -> None:
        self.workers, self.devices = int(workers), devices

    def map(self, work: Work, chunks: list[Chunk]) -> Iterator[Any]:
        devices = local_devices(self.devices)
        if not devices:
            raise HarnessError("the gpus executor found no GPU (set CUDA_VISIBLE_DEVICES or "
                               "--executor-option devices=0,1)")
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            raise HarnessError("the gpus executor forks its workers, but CUDA is already initialised in this "
                               "process; start the study in a fresh process")
        yield from forked_map(work, chunks, [{"CUDA_VISIBLE_DEVICES": d} for d in devices[:max(1, len(chunks))]])
