"""DARTS cell space (S1): genotype string/JSON <-> int16[32] codes, vectorised (search_spaces.md §2).

Codes are the normal cell then the reduction cell, each 8 (op, src) pairs interleaved
``[op0, src0, op1, src1, ...]``; pairs 2i and 2i+1 feed intermediate node i+2. Ops use the DARTS
index order (0 = ``none`` is not a valid genotype op). There is no official index: ``index`` is -1.

Partial cells (PNAS grows cells node by node, pnas.md S1): a cell may have k < 4 nodes; the absent
trailing nodes are all-zero codes, the genotype lists 2k pairs and the cell concatenates nodes 2..k+1.
"""
from __future__ import annotations

import ast
import json

import numpy as np

from benchmarks.spaces._strings import strings
from harness.errors import ArchError

OPS = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
       "dil_conv_3x3", "dil_conv_5x5")
N_NODES, N_PAIRS, CELL_DIMS = 4, 8, 16
CELLS = ("normal", "reduce")
CONCAT = [2, 3, 4, 5]
_OP_ID = {op: i for i, op in enumerate(OPS)}
_N_SRC = np.repeat(np.arange(2, 2 + N_NODES), 2)  # pair k may read nodes 0..1+k//2

DARTS_V1 = ("Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])")
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
            "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _genotype_dict(s: str) -> dict:
    """JSON object or the DARTS ``Genotype(...)`` repr -> dict of fields."""
    text = s.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchError(f"malformed genotype JSON: {exc}") from None
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ArchError(f"malformed genotype {s[:60]!r}: expected JSON or Genotype(normal=..., ...)") from None
    if not (isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Genotype" and not call.args):
        raise ArchError(f"malformed genotype {s[:60]!r}: expected Genotype(normal=..., ...) with keywords")
    out = {}
    for kw in call.keywords:
        v = kw.value
        if isinstance(v, ast.Call) and getattr(v.func, "id", "") == "range":  # DARTS writes range(2, 6)
            out[kw.arg] = list(range(*[ast.literal_eval(a) for a in v.args]))
        else:
            try:
                out[kw.arg] = ast.literal_eval(v)
            except ValueError:
                raise ArchError(f"malformed genotype: field {kw.arg} is not a literal") from None
    return out


def _cell_codes(pairs: object, cell: str) -> np.ndarray:
    if not isinstance(pairs, (list, tuple)) or len(pairs) not in (2, 4, 6, 8):
        raise ArchError(f"genotype {cell} cell needs 2, 4, 6 or {N_PAIRS} (op, src) pairs (1..4 nodes), "
                        f"got {pairs!r:.80}")
    codes = np.zeros(CELL_DIMS, dtype=np.int16)  # absent trailing nodes stay all-zero
    for k, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ArchError(f"genotype {cell} pair {k} must be (op, src), got {pair!r}")
        op, src = pair
        if op not in _OP_ID or op == "none":
            raise ArchError(f"genotype {cell} pair {k}: unknown op {op!r} (ops: {', '.join(OPS[1:])})")
        if not isinstance(src, int) or not 0 <= src < _N_SRC[k]:
            raise ArchError(f"genotype {cell} pair {k}: src must lie in 0..{_N_SRC[k] - 1}, got {src!r}")
        codes[2 * k], codes[2 * k + 1] = _OP_ID[op], src
    return codes


def parse_one(s: str) -> np.ndarray:
    """Parse a genotype (JSON or repr); the error names the fault."""
    if not isinstance(s, str):
        raise ArchError(f"genotype must be a str, got {type(s).__name__}")
    g = _genotype_dict(s)
    missing = [k for k in ("normal", "reduce") if k not in g]
    if missing:
        raise ArchError(f"genotype lacks field(s) {', '.join(missing)}")
    for cell in CELLS:
        want = CONCAT[:len(g[cell]) // 2] if isinstance(g[cell], (list, tuple)) else CONCAT
        concat = list(g.get(f"{cell}_concat", want))
        if concat != want:
            raise ArchError(f"genotype {cell}_concat must be {want}, got {concat}")
    codes = np.concatenate([_cell_codes(g["normal"], "normal"), _cell_codes(g["reduce"], "reduce")])
    DartsSpace.check(codes)
    return codes


class DartsSpace:
    """The DARTS cell space; stateless."""

    name = "darts"
    n_dims = 2 * CELL_DIMS
    ops = OPS

    @staticmethod
    def check(codes: np.ndarray) -> np.ndarray:
        """Validate codes (..., 32): ops 1..7, src in range, the two srcs of a node distinct; absent
        nodes (partial cells) are all-zero and trailing, and a cell keeps at least one node."""
        codes = np.asarray(codes)
        if codes.shape[-1] != DartsSpace.n_dims or codes.dtype.kind not in "iu":
            raise ArchError(f"DARTS codes must be integers of shape (..., 32), got {codes.dtype} {codes.shape}")
        c = codes.reshape(-1, 2, N_PAIRS, 2)
        ops, src = c[..., 0], c[..., 1]
        absent = (c.reshape(-1, 2, N_NODES, 4) == 0).all(axis=-1)
        if absent[..., 0].any() or (absent[..., :-1] & ~absent[..., 1:]).any():
            raise ArchError("DARTS codes invalid: absent nodes (all-zero codes) must be trailing, and a cell "
                            "needs node 0")
        on = ~np.repeat(absent, 2, axis=-1)
        if ops.size and ((ops[on] < 1) | (ops[on] >= len(OPS))).any():
            raise ArchError(f"DARTS op codes must lie in 1..7, got range {ops[on].min()}..{ops[on].max()}")
        if src.size and ((src < 0) | (src >= _N_SRC)).any():
            raise ArchError("DARTS src codes out of range: pair k may only read nodes 0..1+k//2")
        if ((src[..., 0::2] == src[..., 1::2]) & ~absent).any():
            raise ArchError("DARTS codes invalid: the two inputs of a node must come from distinct nodes")
        return codes

    @staticmethod
    def n_nodes(codes: np.ndarray) -> np.ndarray:
        """Nodes present per cell, shape (..., 2): 4 for full cells, fewer for partial ones."""
        c = np.asarray(codes).reshape(*np.shape(codes)[:-1], 2, N_NODES, 4)
        return (c != 0).any(axis=-1).sum(axis=-1)

    def canonical(self, codes: np.ndarray) -> np.ndarray:
        """Order each node's two inputs by (src, op), so equal cells get equal codes."""
        c = np.array(self.check(codes), dtype=np.int16, copy=True).reshape(-1, 2, N_NODES, 2, 2)
        a, b = c[..., 0, :], c[..., 1, :]
        swap = (a[..., 1] > b[..., 1]) | ((a[..., 1] == b[..., 1]) & (a[..., 0] > b[..., 0]))
        first = np.where(swap[..., None], b, a)
        second = np.where(swap[..., None], a, b)
        return np.stack([first, second], axis=-2).reshape(np.shape(codes))

    def index(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(self.check(codes))
        return np.full(codes.shape[0], -1, dtype=np.int64)

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "genotype")
        if items is None:
            return parse_one(s)
        return np.stack([parse_one(x) for x in items]) if items else np.zeros((0, self.n_dims), np.int16)

    def genotype(self, codes: np.ndarray) -> dict:
        """One code row as a genotype dict with the DARTS field names."""
        c = np.asarray(self.check(codes)).reshape(2, N_PAIRS, 2)
        out: dict = {}
        nodes = self.n_nodes(np.asarray(codes).reshape(-1))
        for k, cell in enumerate(CELLS):
            out[cell] = [[OPS[int(op)], int(src)] for op, src in c[k, :2 * nodes[k]]]
            out[f"{cell}_concat"] = CONCAT[:nodes[k]]
        return out

    def format(self, codes: np.ndarray) -> list[str]:
        """Compact JSON genotypes."""
        return [json.dumps(self.genotype(c), separators=(",", ":"))
                for c in np.atleast_2d(self.check(codes))]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Uniform: per node two distinct sources, each with one of the 7 non-none ops."""
        c = np.empty((n, 2, N_NODES, 2, 2), dtype=np.int16)
        c[..., 0] = rng.integers(1, len(OPS), size=(n, 2, N_NODES, 2))
        for node in range(N_NODES):
            n_src = node + 2
            first = rng.integers(0, n_src, size=(n, 2))
            second = (first + rng.integers(1, n_src, size=(n, 2))) % n_src
            c[:, :, node, 0, 1], c[:, :, node, 1, 1] = first, second
        return c.reshape(n, self.n_dims)

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Change one input of one present node of one cell: its op, or its source (AmoebaNet mutation)."""
        nodes = self.n_nodes(np.asarray(codes).reshape(-1))
        child = np.array(self.check(codes), dtype=np.int16, copy=True).reshape(2, N_PAIRS, 2)
        cell = int(rng.integers(0, 2))
        pair = int(rng.integers(0, 2 * nodes[cell]))
        other = child[cell, pair ^ 1, 1]
        if rng.random() < 0.5:
            child[cell, pair, 0] = 1 + (int(child[cell, pair, 0]) - 1 + int(rng.integers(1, 7))) % 7
        else:
            choices = [s for s in range(_N_SRC[pair]) if s != other and s != child[cell, pair, 1]]
            if choices:
                child[cell, pair, 1] = choices[int(rng.integers(0, len(choices)))]
            else:  # node 2 has only two possible sources, both taken: change the op instead
                child[cell, pair, 0] = 1 + (int(child[cell, pair, 0]) - 1 + int(rng.integers(1, 7))) % 7
        return child.reshape(self.n_dims)
