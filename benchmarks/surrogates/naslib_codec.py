"""Our DARTS codes (benchmarks/spaces/darts.py) <-> the NASLib / NAS-Bench-301 "compact" encoding.

Compact: two cells (normal, reduce), each 8 pairs ``(src, op)`` in genotype order, ops indexed in
``max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5``
(no ``none``): our op code is the compact op + 1, and our codes store ``(op, src)`` per pair.
"""
from __future__ import annotations

import ast

import numpy as np

from benchmarks.spaces.darts import OPS, DartsSpace
from harness.errors import ArchError

COMPACT_OPS = OPS[1:]


def to_compact(codes: np.ndarray) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """One full-cell code row -> ((src, op) x 8, (src, op) x 8)."""
    c = np.asarray(DartsSpace.check(np.asarray(codes).reshape(-1))).reshape(2, 8, 2)
    if (c[..., 0] == 0).any():
        raise ArchError("the compact encoding holds full cells only (4 nodes each)")
    return tuple(tuple((int(src), int(op) - 1) for op, src in cell) for cell in c)  # type: ignore[return-value]


def from_compact(compact: object) -> np.ndarray:
    """The compact encoding (a nested sequence or its ``str``) -> one int16 code row of 32."""
    if isinstance(compact, str):
        try:
            compact = ast.literal_eval(compact)
        except (ValueError, SyntaxError):
            raise ArchError(f"malformed compact DARTS encoding {compact[:60]!r}") from None
    try:
        arr = np.asarray(compact, dtype=np.int64)
    except (ValueError, TypeError):
        raise ArchError("compact DARTS encoding must be two cells of 8 (src, op) pairs") from None
    if arr.shape != (2, 8, 2):
        raise ArchError(f"compact DARTS encoding must be two cells of 8 (src, op) pairs, got shape {arr.shape}")
    if ((arr[..., 1] < 0) | (arr[..., 1] >= len(COMPACT_OPS))).any():
        raise ArchError(f"compact DARTS op indices must lie in 0..{len(COMPACT_OPS) - 1}")
    codes = np.stack([arr[..., 1] + 1, arr[..., 0]], axis=-1).astype(np.int16).reshape(32)
    return DartsSpace.check(codes)
