"""NAS-Bench-201 cell space (S2): arch string <-> int8[6] op codes <-> official index, vectorised.

Edges in slot order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2; ops in the benchmark's order. The official
index is the odometer position after ``random.seed(88); random.shuffle`` (search_spaces.md).
"""
from __future__ import annotations

import bisect
import random

import numpy as np

from benchmarks.spaces._strings import strings
from harness.errors import ArchError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES, N_OPS, N_ARCHS = 6, 5, 5**6
_OP_ID = {op: i for i, op in enumerate(OPS)}
_PLACE = 5 ** np.arange(5, -1, -1)  # odometer digit weights, edge 0 most significant
# node-first edge choice of the NB201 REA mutation: node uniform in {1,2,3}, then an incoming edge
_EDGE_PROB = np.array([1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9])
_EDGE_CUM = np.cumsum(_EDGE_PROB)[:-1]
_EDGE_CUM_LIST = _EDGE_CUM.tolist()
_INT8 = np.dtype(np.int8)


def shuffled_positions() -> np.ndarray:
    """index -> odometer position, as the official generator shuffles it."""
    positions = list(range(N_ARCHS))
    random.Random(88).shuffle(positions)
    return np.asarray(positions, dtype=np.int64)


def parse_one(s: str) -> np.ndarray:
    """Parse an arch string; the error names the fault."""
    if not isinstance(s, str):
        raise ArchError(f"arch string must be a str, got {type(s).__name__}")
    groups = s.split("+")
    if len(groups) != 3:
        raise ArchError(f"malformed arch string {s!r}: expected 3 node groups joined by '+', got {len(groups)}")
    codes = np.empty(N_EDGES, dtype=np.int8)
    slot = 0
    for node, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise ArchError(f"malformed arch string {s!r}: node {node} group {group!r} must be wrapped in '|'")
        items = group[1:-1].split("|")
        if len(items) != node:
            raise ArchError(f"malformed arch string {s!r}: node {node} needs {node} inputs, got {len(items)}")
        for src, item in enumerate(items):
            op, sep, j = item.partition("~")
            if not sep:
                raise ArchError(f"malformed arch string {s!r}: input {item!r} lacks '~'")
            if op not in _OP_ID:
                raise ArchError(f"malformed arch string {s!r}: unknown op {op!r} (ops: {', '.join(OPS)})")
            if j != str(src):
                raise ArchError(f"malformed arch string {s!r}: node {node} input {src} names source {j!r}")
            codes[slot] = _OP_ID[op]
            slot += 1
    return codes


class NB201Space:
    """The 15,625-cell space; stateless apart from the index permutation it builds once."""

    name = "nb201"
    n_dims = N_EDGES
    n_choices = N_OPS
    ops = OPS

    def __init__(self) -> None:
        self._idx2pos = shuffled_positions()
        self._pos2idx = np.empty(N_ARCHS, dtype=np.int64)
        self._pos2idx[self._idx2pos] = np.arange(N_ARCHS)
        self._pos2idx_list = self._pos2idx.tolist()
        self._int8_index: dict[bytes, int] | None = None  # built on first use by index_one

    def check(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.shape[-1] != N_EDGES or codes.dtype.kind not in "iu":
            raise ArchError(f"NB201 codes must be integers of shape (..., 6), got {codes.dtype} {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= N_OPS):
            raise ArchError(f"NB201 op codes must lie in 0..4, got range {codes.min()}..{codes.max()}")
        return codes

    def index(self, codes: np.ndarray) -> np.ndarray:
        """Official index of each code row."""
        codes = np.asarray(codes)
        if codes.shape[-1:] != (N_EDGES,) or codes.dtype.kind not in "iu":
            self.check(codes)  # raises, naming the fault
        wide = codes.astype(np.int64)
        # one reduction checks both bounds: negatives wrap to huge values as unsigned
        if wide.size and wide.view(np.uint64).max() >= N_OPS:
            self.check(codes)
        return self._pos2idx[wide @ _PLACE]

    def index_one(self, codes: np.ndarray) -> int:
        """Official index of one code row (n_dims,) without numpy calls: the per-query hot path, where
        six digits do not pay numpy's per-call cost (int8 rows: a dict keyed by their bytes; other
        integer rows: the odometer position in Python). Same answer and errors as ``index``."""
        if codes.dtype is _INT8 and codes.shape == (N_EDGES,):  # what sample and mutate return
            lookup = self._int8_index
            if lookup is None:  # row bytes -> index, for all cells (a few ms, once)
                raw = self.all_codes().tobytes()
                lookup = self._int8_index = {raw[i * N_EDGES:(i + 1) * N_EDGES]: i for i in range(N_ARCHS)}
            index = lookup.get(codes.tobytes())
            if index is not None:
                return index
        elif codes.dtype.kind in "iu" and codes.shape == (N_EDGES,):
            a, b, c, d, e, f = row = codes.tolist()
            if min(row) >= 0 and max(row) < N_OPS:
                return self._pos2idx_list[((((a * 5 + b) * 5 + c) * 5 + d) * 5 + e) * 5 + f]
        return int(self.index(codes.reshape(1, -1))[0])  # raises, naming the fault

    def from_index(self, index: np.ndarray | int) -> np.ndarray:
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= N_ARCHS):
            raise ArchError(f"NB201 index must lie in 0..{N_ARCHS - 1}, got {idx.min()}..{idx.max()}")
        pos = self._idx2pos[idx]
        return ((pos[..., None] // _PLACE) % N_OPS).astype(np.int8)

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "NB201 arch string")
        if items is None:
            return parse_one(s)
        return np.stack([parse_one(x) for x in items]) if items else np.zeros((0, N_EDGES), np.int8)

    def format(self, codes: np.ndarray) -> list[str]:
        codes = np.atleast_2d(self.check(codes))
        out = []
        for c in codes:
            n = [f"|{OPS[c[0]]}~0|", f"|{OPS[c[1]]}~0|{OPS[c[2]]}~1|",
                 f"|{OPS[c[3]]}~0|{OPS[c[4]]}~1|{OPS[c[5]]}~2|"]
            out.append("+".join(n))
        return out

    def all_codes(self) -> np.ndarray:
        """Every cell, row i = official index i."""
        return self.from_index(np.arange(N_ARCHS))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, N_OPS, size=(n, N_EDGES), dtype=np.int8)

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One edge (node-first choice, as NB201's REA) gets a different op."""
        row = np.asarray(codes).tolist()
        u0 = rng.random()  # one draw for the edge (node-first probabilities), one for the op
        u1 = rng.random()
        edge = bisect.bisect_right(_EDGE_CUM_LIST, u0)  # = np.searchsorted(_EDGE_CUM, u0, "right")
        row[edge] = (row[edge] + 1 + int(u1 * (N_OPS - 1))) % N_OPS
        return np.array(row, dtype=np.int8)

    def neighbours(self, codes: np.ndarray) -> np.ndarray:
        """All 24 cells one op change away."""
        base = np.asarray(codes, dtype=np.int8)
        out = np.repeat(base[None], N_EDGES * (N_OPS - 1), axis=0)
        edges = np.repeat(np.arange(N_EDGES), N_OPS - 1)
        shift = np.tile(np.arange(1, N_OPS), N_EDGES)
        out[np.arange(len(out)), edges] = (base[edges] + shift) % N_OPS
        return out
