"""The PNAS paper's own block space (pnas.md, "Search space (paper)"), for counting and reference.

No benchmark answers this space (the harness maps PNAS onto NB201 and DARTS), but its sizes are the
yardstick the sheet's first check names: block b picks two (input, op) pairs out of (b + 1) inputs x 8
ops, and (I1, O1) / (I2, O2) are interchangeable, so the distinct blocks are unordered pairs with
repetition: 136 for b = 1. Before symmetry removal a level-b expansion has (b + 1)^2 * 8^2 blocks.
"""
from __future__ import annotations

import itertools

from harness.errors import HarnessError

OPS = ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_1x7_7x1", "identity", "avg_pool_3x3",
       "max_pool_3x3", "dil_conv_3x3")


def blocks(b: int, symmetric: bool = True) -> list[tuple[int, int, str, str]]:
    """Every block (I1, I2, O1, O2) at position ``b``: inputs 0..b (H^{c-1}, H^{c-2}, blocks 1..b-1)."""
    if b < 1:
        raise HarnessError(f"pnas paper space: block positions start at 1, got {b}")
    pairs = [(i, o) for i in range(b + 1) for o in OPS]
    chosen = (itertools.combinations_with_replacement(pairs, 2) if symmetric
              else itertools.product(pairs, repeat=2))
    return [(i1, i2, o1, o2) for (i1, o1), (i2, o2) in chosen]
