"""Rank / world helpers for torch.distributed; single-process when not launched by torchrun.

Torch is imported inside the functions so tabular runs never load it.
"""
from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dist:
    """This process's place in the job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def from_env() -> Dist:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK."""
    env = os.environ
    return Dist(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def joined() -> Dist:
    """This process's place if torchrun's process group is up, else one process. A method that trains
    data-parallel asks this, not ``from_env``: under torchrun a benchmark without DDP runs its study on
    rank 0 alone and never joins the group, so rank 0 must then not wait for the others."""
    d = from_env()
    return d if d.active and _group_up() else Dist()


def init(backend: str | None = None) -> Dist:
    """Join the process group torchrun set up (nccl on CUDA, else gloo); no-op for one process."""
    d = from_env()
    if d.active:
        import torch
        import torch.distributed as td

        if not td.is_initialized():
            backend = backend or _default_backend(torch)
            if backend == "nccl":  # object collectives (broadcast_object) use the current device
                torch.cuda.set_device(d.local_rank)
            td.init_process_group(backend=backend)
            # gloo's worker threads still hold tensors if the group outlives the interpreter; freeing
            # them during finalization aborts the process (SIGABRT), so tear the group down first
            atexit.register(shutdown)
    return d


def _default_backend(torch: Any) -> str:
    """nccl when every local rank has a GPU of its own; gloo otherwise (CPU, or several ranks sharing
    one GPU, which nccl refuses)."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    return "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= local else "gloo"


def _group_up() -> bool:
    """Whether a default process group exists, without importing torch when nothing has."""
    import sys

    td = sys.modules.get("torch.distributed")
    return td is not None and td.is_available() and td.is_initialized()


def shutdown() -> None:
    """Destroy the default process group if one is up; safe to call twice or without torch loaded."""
    if _group_up():
        import torch.distributed as td

        td.destroy_process_group()


def all_reduce_sum(values: Any, d: Dist) -> Any:
    """Sum a float64 tensor over processes (returned unchanged for one process)."""
    if d.active:
        import torch.distributed as td

        td.all_reduce(values, op=td.ReduceOp.SUM)
    return values


def broadcast_object(obj: Any, d: Dist) -> Any:
    """Rank 0's picklable ``obj`` on every process (``obj`` itself for one process); others pass None."""
    if not d.active:
        return obj
    import torch.distributed as td

    box = [obj if d.main else None]
    td.broadcast_object_list(box, src=0)
    return box[0]


def barrier(d: Dist) -> None:
    if d.active:
        import torch.distributed as td

        td.barrier()


def broadcast_buffers(module: Any, d: Dist) -> None:
    """Give every process rank 0's buffers (batch-norm running statistics) before evaluating."""
    if d.active:
        import torch.distributed as td

        for buf in module.buffers():
            td.broadcast(buf, src=0)
