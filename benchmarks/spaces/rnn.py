"""DARTS/ENAS recurrent cell space (EDNAS on Penn Treebank): genotype JSON <-> int8[16] codes.

Node 0 is the cell's initial state from x_t and h_{t-1}; intermediate node i (1..8) reads ONE earlier
node ``src`` in 0..i-1 through ONE activation (tanh, relu, sigmoid, identity); the cell output is the
mean of nodes 1..8 (``concat`` = 1..8, as DARTS and the EDNAS seed). Codes are ``[act1, src1, act2,
src2, ...]``. ``index`` is the mixed-radix number of the cell (4^8 x 8! = 2,642,411,520 cells).
"""
from __future__ import annotations

import json

import numpy as np

from benchmarks.spaces._strings import strings
from harness.errors import ArchError

ACTS = ("tanh", "relu", "sigmoid", "identity")
STEPS = 8
CONCAT = list(range(1, STEPS + 1))
_ACT_ID = {a: i for i, a in enumerate(ACTS)}
_N_SRC = np.arange(1, STEPS + 1)                       # node i may read nodes 0..i-1
_RADIX = len(ACTS) * _N_SRC                            # choices per node
_PLACE = np.concatenate([[1], np.cumprod(_RADIX)[:-1]]).astype(np.int64)
N_CELLS = int(np.prod(_RADIX.astype(np.int64)))

# the EDNAS seed's discovered cell (genotypes.py "EDNAS"), reference data
EDNAS_PTB = ('{"recurrent": [["identity", 0], ["tanh", 1], ["relu", 1], ["tanh", 2], ["relu", 4], '
             '["relu", 3], ["sigmoid", 4], ["tanh", 7]], "concat": [1, 2, 3, 4, 5, 6, 7, 8]}')


def parse_one(s: str) -> np.ndarray:
    """``{"recurrent": [[act, src] x 8], "concat": [1..8]}`` -> codes; the error names the fault."""
    if not isinstance(s, str):
        raise ArchError(f"RNN genotype must be a str, got {type(s).__name__}")
    try:
        g = json.loads(s)
    except json.JSONDecodeError as exc:
        raise ArchError(f"malformed RNN genotype JSON: {exc}") from None
    if not isinstance(g, dict) or "recurrent" not in g:
        raise ArchError(f"RNN genotype needs a 'recurrent' list of {STEPS} [act, src] pairs, got {s[:60]!r}")
    if list(g.get("concat", CONCAT)) != CONCAT:
        raise ArchError(f"RNN genotype concat must be {CONCAT}, got {g['concat']}")
    pairs = g["recurrent"]
    if not isinstance(pairs, list) or len(pairs) != STEPS:
        raise ArchError(f"RNN genotype needs {STEPS} [act, src] pairs, got {pairs!r:.80}")
    codes = np.empty(2 * STEPS, dtype=np.int8)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ArchError(f"RNN genotype node {i + 1} must be [act, src], got {pair!r}")
        act, src = pair
        if act not in _ACT_ID:
            raise ArchError(f"RNN genotype node {i + 1}: unknown activation {act!r} (known: {', '.join(ACTS)})")
        if not isinstance(src, int) or isinstance(src, bool) or not 0 <= src <= i:
            raise ArchError(f"RNN genotype node {i + 1}: src must lie in 0..{i}, got {src!r}")
        codes[2 * i], codes[2 * i + 1] = _ACT_ID[act], src
    return codes


class RNNSpace:
    """The recurrent cell space; stateless."""

    name = "rnn"
    n_dims = 2 * STEPS
    acts = ACTS

    @staticmethod
    def check(codes: np.ndarray) -> np.ndarray:
        """Validate codes (..., 16): activations 0..3, node i's source in 0..i-1."""
        codes = np.asarray(codes)
        if codes.shape[-1:] != (2 * STEPS,) or codes.dtype.kind not in "iu":
            raise ArchError(f"RNN codes must be integers of shape (..., 16), got {codes.dtype} {codes.shape}")
        act, src = codes[..., 0::2], codes[..., 1::2]
        if act.size and (act.min() < 0 or act.max() >= len(ACTS)):
            raise ArchError(f"RNN activation codes must lie in 0..3, got range {act.min()}..{act.max()}")
        if src.size and ((src < 0) | (src >= _N_SRC)).any():
            raise ArchError("RNN src codes out of range: node i (1..8) may only read nodes 0..i-1")
        return codes

    def index(self, codes: np.ndarray) -> np.ndarray:
        c = np.atleast_2d(self.check(codes)).astype(np.int64)
        return ((c[:, 0::2] * _N_SRC + c[:, 1::2]) * _PLACE).sum(axis=1)

    def from_index(self, index: np.ndarray) -> np.ndarray:
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        if ((idx < 0) | (idx >= N_CELLS)).any():
            raise ArchError(f"RNN cell index must lie in 0..{N_CELLS - 1}")
        digit = (idx[:, None] // _PLACE) % _RADIX
        out = np.empty((len(idx), 2 * STEPS), dtype=np.int8)
        out[:, 0::2], out[:, 1::2] = digit // _N_SRC, digit % _N_SRC
        return out

    def genotype(self, codes: np.ndarray) -> dict:
        c = np.asarray(self.check(codes)).reshape(STEPS, 2)
        return {"recurrent": [[ACTS[int(a)], int(s)] for a, s in c], "concat": list(CONCAT)}

    def format(self, codes: np.ndarray) -> list[str]:
        """Compact JSON genotypes (the seed's Genotype(recurrent, concat) fields)."""
        return [json.dumps(self.genotype(c), separators=(",", ":")) for c in np.atleast_2d(self.check(codes))]

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "RNN cell")
        if items is None:
            return parse_one(s)
        return np.stack([parse_one(x) for x in items]) if items else np.zeros((0, self.n_dims), np.int8)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Uniform over cells: every node an activation and one earlier node."""
        out = np.empty((n, 2 * STEPS), dtype=np.int8)
        out[:, 0::2] = rng.integers(0, len(ACTS), size=(n, STEPS))
        out[:, 1::2] = np.floor(rng.random((n, STEPS)) * _N_SRC)
        return out

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Change one node's activation, or its source (node 1 has one source: its activation)."""
        child = np.array(self.check(codes), dtype=np.int8, copy=True).reshape(-1)
        i = int(rng.integers(0, STEPS))
        if i == 0 or rng.random() < 0.5:
            child[2 * i] = (int(child[2 * i]) + int(rng.integers(1, len(ACTS)))) % len(ACTS)
        else:
            child[2 * i + 1] = (int(child[2 * i + 1]) + int(rng.integers(1, i + 1))) % (i + 1)
        return child
