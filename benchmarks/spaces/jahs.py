"""JAHS-Bench-201's joint space: an NB201 cell plus four training hyperparameters, as int8[10] codes.

Columns 0-5 are our NB201 op codes (benchmarks/spaces/nb201.py, our edge order), then Activation
(ReLU, Hardswish, Mish), TrivialAugment (False, True), LearningRate and WeightDecay. JAHS's two
continuous hyperparameters are searched on half-decade grids over their ranges (1e-3..1 and
1e-5..1e-2), because the harness's codes are integers; Optimizer has one value (SGD). N, W and
Resolution are fixed per run (benchmark options, benchmarks/jahs.py), the epoch is the fidelity.

JAHS names the cell's edges Op1..Op6 = (1,2), (1,3), (1,4), (2,3), (2,4), (3,4) over nodes 1-4 and
the ops 0-4 = Identity, Zero, ConvBN3x3, ConvBN1x1, AvgPool1x1 (skip_connect, none, nor_conv_3x3,
nor_conv_1x1, avg_pool_3x3): ``jahs_ops`` / ``nb201_codes`` convert.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.spaces._strings import strings
from benchmarks.spaces.nb201 import N_EDGES, N_OPS, NB201Space, parse_one
from harness.errors import ArchError, HarnessError

ACTIVATIONS = ("ReLU", "Hardswish", "Mish")
TRIVIAL_AUGMENT = (False, True)
LEARNING_RATES = tuple(float(f"{v:.6g}") for v in 10.0 ** np.arange(-3.0, 0.01, 0.5))
WEIGHT_DECAYS = tuple(float(f"{v:.6g}") for v in 10.0 ** np.arange(-5.0, -1.99, 0.5))
HP_NAMES = ("Activation", "TrivialAugment", "LearningRate", "WeightDecay")
HP_VALUES: tuple[tuple[Any, ...], ...] = (ACTIVATIONS, TRIVIAL_AUGMENT, LEARNING_RATES, WEIGHT_DECAYS)
CHOICES = np.array([5] * N_EDGES + [len(v) for v in HP_VALUES], dtype=np.int64)
N_DIMS = len(CHOICES)
OPTIMIZER = "SGD"

# JAHS edge k (Op{k+1}) is our slot _SLOT[k]; JAHS op id j is our op _OP[j] (the map is its own inverse)
_SLOT = np.array([0, 1, 3, 2, 4, 5])
_OP = np.array([1, 0, 3, 2, 4])
_PLACE = np.array([int(np.prod(CHOICES[i + 1:])) for i in range(N_DIMS)])  # mixed radix, column 0 most significant


def jahs_ops(nb201: np.ndarray) -> np.ndarray:
    """Our NB201 op codes (..., 6) -> JAHS's Op1..Op6 values."""
    codes = np.asarray(nb201)
    if codes.shape[-1:] != (N_EDGES,) or codes.dtype.kind not in "iu" or (codes.size and (codes.min() < 0
                                                                                       or codes.max() >= N_OPS)):
        raise ArchError(f"NB201 op codes must be integers 0..4 of shape (..., 6), got {codes.dtype} {codes.shape}")
    return _OP[codes[..., _SLOT].astype(np.int64)]


def nb201_codes(ops: np.ndarray) -> np.ndarray:
    """JAHS's Op1..Op6 values (..., 6) -> our NB201 op codes (int8)."""
    ops = np.asarray(ops)
    if ops.shape[-1:] != (N_EDGES,) or ops.dtype.kind not in "iu" or (ops.size and (ops.min() < 0 or ops.max() > 4)):
        raise ArchError(f"JAHS Op1..Op6 must be integers 0..4 of shape (..., 6), got {ops.dtype} {ops.shape}")
    out = np.empty(ops.shape, np.int8)
    out[..., _SLOT] = _OP[ops.astype(np.int64)]
    return out


class JahsSpace:
    """The joint space on its grid: 5^6 cells x 3 x 2 x 7 x 7 = 4,593,750 configurations."""

    name = "jahs"
    n_dims = N_DIMS
    choices = tuple(int(c) for c in CHOICES)

    @property
    def n_choices(self) -> int:
        """Methods that assume one choice count for every column (reinforce, bohb, enas) stop with one line."""
        raise HarnessError(f"the jahs space's columns have different numbers of choices {list(self.choices)}; "
                           "use a method that samples and mutates through the space (random_search, "
                           "regularized_evolution, local_search)")

    def check(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.shape[-1:] != (N_DIMS,) or codes.dtype.kind not in "iu":
            raise ArchError(f"JAHS codes must be integers of shape (..., {N_DIMS}), got {codes.dtype} {codes.shape}")
        if codes.size and ((codes < 0).any() or (codes >= CHOICES).any()):
            raise ArchError(f"JAHS codes out of range (column choices {list(self.choices)})")
        return codes

    def index(self, codes: np.ndarray) -> np.ndarray:
        return self.check(codes).astype(np.int64) @ _PLACE

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(0, CHOICES, size=(n, N_DIMS)).astype(np.int8)

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One column (uniform) gets a different value (uniform among the others)."""
        row = np.array(self.check(codes), dtype=np.int8)
        col, u = int(rng.integers(N_DIMS)), float(rng.random())
        k = int(CHOICES[col])
        row[col] = (int(row[col]) + 1 + int(u * (k - 1))) % k
        return row

    def neighbours(self, codes: np.ndarray) -> np.ndarray:
        """Every configuration one column change away (39 of them)."""
        base = np.asarray(self.check(codes), dtype=np.int8)
        out = []
        for col, k in enumerate(self.choices):
            for shift in range(1, k):
                row = base.copy()
                row[col] = (int(base[col]) + shift) % k
                out.append(row)
        return np.stack(out)

    def configs(self, codes: np.ndarray) -> list[dict[str, Any]]:
        """JAHS configurations (its names; no fidelities) of each code row."""
        codes = np.atleast_2d(self.check(codes))
        ops = jahs_ops(codes[:, :N_EDGES])
        out = []
        for row, op in zip(codes.tolist(), ops.tolist()):
            conf: dict[str, Any] = {f"Op{k + 1}": int(v) for k, v in enumerate(op)}
            for name, values, j in zip(HP_NAMES, HP_VALUES, row[N_EDGES:]):
                conf[name] = values[j]
            conf["Optimizer"] = OPTIMIZER
            out.append(conf)
        return out

    def from_config(self, conf: dict[str, Any]) -> np.ndarray:
        """A JAHS configuration -> codes; continuous values must lie on the grid (relative 1e-6)."""
        try:
            cell = nb201_codes(np.array([int(conf[f"Op{k + 1}"]) for k in range(N_EDGES)]))
            row = list(cell.tolist())
            for name, values in zip(HP_NAMES, HP_VALUES):
                row.append(_position(name, values, conf[name]))
        except KeyError as exc:
            raise ArchError(f"JAHS configuration lacks {exc.args[0]!r}") from None
        if conf.get("Optimizer", OPTIMIZER) != OPTIMIZER:
            raise ArchError(f"JAHS Optimizer must be {OPTIMIZER}, got {conf['Optimizer']!r}")
        return np.array(row, dtype=np.int8)

    def format(self, codes: np.ndarray) -> list[str]:
        codes = np.atleast_2d(self.check(codes))
        cells = NB201Space().format(codes[:, :N_EDGES])
        return [" ".join([cell] + [f"{n}={_text(v[j])}" for n, v, j in zip(HP_NAMES, HP_VALUES, row[N_EDGES:])])
                for cell, row in zip(cells, codes.tolist())]

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "JAHS configuration string")
        if items is None:
            return _parse_one(s)
        return np.stack([_parse_one(x) for x in items]) if items else np.zeros((0, N_DIMS), np.int8)


def _text(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _position(name: str, values: tuple[Any, ...], value: Any) -> int:
    for j, v in enumerate(values):
        if isinstance(v, float) and not isinstance(value, (bool, str)):
            if abs(float(value) - v) <= 1e-6 * v:
                return j
        elif value == v or str(value) == str(v):
            return j
    raise ArchError(f"JAHS {name}={value!r} is not on the grid {[_text(v) for v in values]}")


def _parse_one(s: str) -> np.ndarray:
    """``<NB201 arch string> Activation=ReLU TrivialAugment=True LearningRate=0.1 WeightDecay=0.001``."""
    if not isinstance(s, str):
        raise ArchError(f"JAHS configuration string must be a str, got {type(s).__name__}")
    cell, *pairs = s.split()
    values = dict(p.partition("=")[::2] for p in pairs)
    if sorted(values) != sorted(HP_NAMES):
        raise ArchError(f"malformed JAHS configuration {s!r}: needs {', '.join(n + '=' for n in HP_NAMES)}")
    row = list(parse_one(cell).tolist())
    for name, choices in zip(HP_NAMES, HP_VALUES):
        text = values[name]
        row.append(_position(name, choices, float(text) if isinstance(choices[0], float) else text))
    return np.array(row, dtype=np.int8)
