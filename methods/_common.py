"""Small helpers the methods share (numpy only): the space check and architecture keys for dedup."""
from __future__ import annotations

import hashlib

import numpy as np

from harness.errors import HarnessError
from harness.protocols import SearchSpace


def require_space(space: SearchSpace, *names: str, method: str, hint: str = "") -> None:
    """One-line error when a method is run on a space it has no mapping for (``hint`` says where to go)."""
    if space.name not in names:
        raise HarnessError(f"{method} needs the {' or '.join(names)} space, got {space.name!r}{hint}")


def arch_keys(space: SearchSpace, codes: np.ndarray) -> np.ndarray:
    """int64 identity per row: the space's index where it has one (NB201), else a stable hash of the
    canonical codes (DARTS: the inputs of a node in either order are the same cell)."""
    codes = np.atleast_2d(np.asarray(codes))
    index = np.asarray(space.index(codes), dtype=np.int64)
    if len(index) and (index >= 0).all():
        return index
    canon = space.canonical(codes) if hasattr(space, "canonical") else codes
    rows = np.ascontiguousarray(np.asarray(canon, dtype=np.int64))
    return np.array([int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little", signed=True)
                     for r in rows], dtype=np.int64)
