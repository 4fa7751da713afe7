"""Training checkpoints shared by the image and language-model trainers: written atomically, read back
only for the same run. Imports torch.

A kill mid-write must never destroy the last good checkpoint (write ``.part``, then rename), and a file
that still cannot be read (a disk fault, a foreign file) is moved aside to ``.corrupt`` with one warning
line, so the run starts again and the evidence is kept, as the runner does with unreadable run files.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import torch

from harness.distributed import Dist, barrier

log = logging.getLogger(__name__)


def save_atomic(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to ``path`` via ``path.part`` and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    torch.save(state, part)
    os.replace(part, path)  # a kill mid-write leaves the previous checkpoint intact


def save_on_main(path: Path, state: dict[str, Any], dist: Dist) -> None:
    """Under torchrun every rank holds the same state: rank 0 writes it and the others wait, so none
    reads a half-written checkpoint later in the same job (one process: just the write)."""
    if dist.main:
        save_atomic(path, state)
    barrier(dist)


def load_matching(path: Path | None, identity: str, device: torch.device | str) -> dict[str, Any] | None:
    """The checkpoint's state if ``path`` holds one of the run ``identity``; else None (train afresh).
    An unreadable file is moved to ``<path>.corrupt``; one of another run is left alone."""
    if path is None or not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict):
            raise ValueError(f"holds a {type(state).__name__}, not a checkpoint")
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
