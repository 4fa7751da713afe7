"""PNAS on S1 (pnas.md, "S1 (DARTS space)"): a block is a DARTS intermediate node, B = 4 levels.

Node b (level b) reads two distinct inputs among the cell inputs and nodes 0..b-2 (b + 1 choices)
with one of the 7 non-``none`` ops on each, so a parent expands into C(b+1, 2) * 49 children: 49,
147, 294, 490. The inputs are taken in increasing order (the canonical form), so no child is
counted twice. One genotype serves both cell types (PNAS convention): the reduction half of the
codes repeats the normal half. A partial cell's absent nodes are all-zero codes (darts_space.py).
"""
from __future__ import annotations

import itertools

import numpy as np

from benchmarks.spaces.darts import CELL_DIMS, N_NODES, OPS

OP_CODES = np.arange(1, len(OPS), dtype=np.int16)  # the 7 non-none ops
LEVELS = N_NODES
N_SLOTS, N_TOKEN_OPS = N_NODES + 1, len(OPS)       # token tables: input 0..4, op 0..7


def node_choices(level: int) -> np.ndarray:
    """(C(level+1, 2) * 49, 4) codes [op_a, src_a, op_b, src_b] for node ``level - 1``, src_a < src_b."""
    rows = [(oa, a, ob, b) for a, b in itertools.combinations(range(level + 1), 2)
            for oa in OP_CODES for ob in OP_CODES]
    return np.array(rows, dtype=np.int16)


def shared(normal: np.ndarray) -> np.ndarray:
    """Full codes (n, 32) with the reduction cell equal to the normal cell."""
    normal = np.atleast_2d(normal)
    return np.concatenate([normal, normal], axis=1).astype(np.int16)


def level_one(rng: np.random.Generator) -> np.ndarray:
    """The 49 one-node cells, in a seeded random order (trained whole; a budget cut keeps no op bias)."""
    normal = np.zeros((49, CELL_DIMS), dtype=np.int16)
    normal[:, :4] = node_choices(1)
    return shared(normal[rng.permutation(len(normal))])


def expand(parents: np.ndarray, level: int) -> np.ndarray:
    """Every way to add node ``level - 1`` to each parent (which has ``level - 1`` nodes)."""
    normal = np.atleast_2d(parents)[:, :CELL_DIMS]
    choices = node_choices(level)
    kids = np.repeat(normal, len(choices), axis=0)
    kids[:, 4 * (level - 1):4 * level] = np.tile(choices, (len(normal), 1))
    return shared(kids)


def tokens(codes: np.ndarray, level: int) -> list[np.ndarray]:
    """(input, op) tokens of the normal cell's first ``level`` nodes: 2 per node."""
    pairs = np.atleast_2d(codes)[:, :4 * level].reshape(-1, 2 * level, 2).astype(np.int64)
    return [p[:, ::-1].copy() for p in pairs]  # (op, src) -> (slot = src, op)
