"""Training checkpoints shared by the image and language-model trainers: written atomically, verified
when read, read back only for the same run. Imports torch.

A kill mid-write must never destroy the last good checkpoint (``harness.atomic``: a unique temporary,
fsync, rename), and a file that cannot be trusted — unreadable, a foreign file, or one whose contents
no longer match the checksum stored in it (bytes damaged on disk that torch may still unpickle) — is
moved aside to ``.corrupt`` with one warning line, so the run starts again and the evidence is kept,
as the runner does with unreadable run files.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import torch

from harness.atomic import atomic_path, remove_parts
from harness.distributed import Dist, barrier

log = logging.getLogger(__name__)
CHECKSUM = "checksum"  # the key of the state's own digest (of everything else in it)


def state_digest(state: Any) -> str:
    """sha256 of a checkpoint's contents: nested dicts, lists and tuples walked in a fixed order,
    tensors by dtype, shape and bytes, anything else by type and repr. Equal contents give equal
    digests wherever the tensors live (they are read from the CPU)."""
    h = hashlib.sha256()
    _feed(h, state)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}|".encode())
        for key in sorted(obj, key=repr):
            h.update(f"{type(key).__name__}:{key!r}=".encode())
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}{len(obj)}|".encode())
        for item in obj:
            _feed(h, item)
    else:
        h.update(f"{type(obj).__name__}:{obj!r}|".encode())


def save_atomic(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` of ``state`` with its checksum, via a unique temporary, fsync and a rename."""
    body = {k: v for k, v in state.items() if k != CHECKSUM}
    with atomic_path(path) as tmp:
        torch.save({**body, CHECKSUM: state_digest(body)}, tmp)  # a kill leaves the previous one intact


def save_on_main(path: Path, state: dict[str, Any], dist: Dist) -> None:
    """Under torchrun every rank holds the same state: rank 0 writes it and the others wait, so none
    reads a half-written checkpoint later in the same job (one process: just the write)."""
    if dist.main:
        save_atomic(path, state)
    barrier(dist)


def load_matching(path: Path | None, identity: str, device: torch.device | str) -> dict[str, Any] | None:
    """The checkpoint's state if ``path`` holds one of the run ``identity`` whose checksum holds; else
    None (train afresh). An unreadable or damaged file is moved to ``<path>.corrupt``; one of another
    run is left alone. Temporaries of killed writers beside it are removed."""
    if path is None:
        return None
    remove_parts(path.parent, recursive=False)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a checkpoint")
        stored = state.pop(CHECKSUM, None)
        if stored is None:
            raise ValueError("no checksum (written by an older version)")
        if stored != state_digest(state):
            raise ValueError("its contents do not match the checksum stored with them")
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same thing here
        aside = path.with_name(path.name + ".corrupt")
        with contextlib.suppress(FileNotFoundError):  # another DDP rank moved it first
            os.replace(path, aside)
        log.warning("checkpoint %s unreadable (%s); moved to %s and training from scratch", path,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__, aside)
        return None
    if state.get("identity") != identity:
        log.warning("ignoring checkpoint %s of a different run", path)
        return None
    return state
