"""Neuro-cell genotypes (Wistuba 2018; spec methods/neuro_cell_evolution.md): one cell definition
shared by every cell instance of the template network, its growth mutations, and a fixed-length
integer code so trajectories can record it. Pure numpy: the weight side lives in methods/_neurocell_*.

A cell is a list of units in topological order; unit 0 is the cell input and the last unit is the
cell output. Unit kinds: ``conv`` (conv -> ReLU -> BN), ``sep`` (depthwise -> pointwise -> ReLU ->
BN), ``skip`` (ReLU -> BN -> conv, the zero-initialised branch), ``add`` (sum of two inputs) and
``cat`` (channel concatenation of two inputs).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from benchmarks.spaces._strings import strings
from harness.errors import ArchError

KINDS = ("conv", "sep", "skip", "add", "cat")
MUTATIONS = ("deeper", "widen", "kernel", "skip", "branch", "sep")
_APPLIES = {  # mutation -> unit kinds it can act on
    "deeper": ("conv", "sep"), "widen": ("conv", "sep"), "kernel": ("conv", "sep"),
    "skip": ("conv", "sep", "add", "cat"), "branch": ("conv",), "sep": ("conv", "sep"),
}
MAX_UNITS = 32
_FIELDS = 6  # kind, width, kernel, padding, input 1, input 2 (positions; -1 = none)
MAX_KERNEL = 7


@dataclass(frozen=True)
class Unit:
    """One layer group of the cell; ``inputs`` are uids (0 = the cell input)."""

    uid: int
    kind: str
    inputs: tuple[int, ...]
    width: int = 0   # output channels of conv / sep (skip, add and cat derive theirs from inputs)
    k: int = 0
    pad: int = 0


@dataclass(frozen=True)
class Cell:
    """The shared cell definition; ``next_uid`` keeps uids (and so parameter names) stable."""

    units: tuple[Unit, ...]
    next_uid: int

    def unit(self, uid: int) -> Unit:
        return next(u for u in self.units if u.uid == uid)

    @property
    def output(self) -> int:
        return self.units[-1].uid

    def consumers(self, uid: int) -> list[Unit]:
        return [u for u in self.units if uid in u.inputs]

    def widths(self, in_width: int) -> dict[int, int]:
        """Output channels of every unit (uid 0 = the cell input) for an input of ``in_width``."""
        w = {0: in_width}
        for u in self.units:
            w[u.uid] = (w[u.inputs[0]] if u.kind in ("add", "skip") else
                        sum(w[i] for i in u.inputs) if u.kind == "cat" else u.width)
        return w


@dataclass(frozen=True)
class Mutation:
    """One drawn mutation; ``mapping`` is Net2Wider's source filter for every new output channel."""

    kind: str
    target: int
    new_uids: tuple[int, ...] = ()
    mapping: tuple[int, ...] = ()


def template_cell(width: int, k: int = 3, pad: int = 0) -> Cell:
    """The seed's initial cell: one conv k x k (unpadded on CIFAR) -> ReLU -> BN."""
    return Cell((Unit(1, "conv", (0,), width, k, pad),), 2)


def propose(cell: Cell, rng: np.random.Generator, allowed: tuple[str, ...] = MUTATIONS,
            widen: tuple[float, float] = (1.2, 2.0)) -> Mutation:
    """Draw a unit, then a mutation type, redrawing the type until it applies (as the seed does)."""
    units = [u for u in cell.units if any(u.kind in _APPLIES[m] and _fits(cell, u, m) for m in allowed)]
    if not units or len(cell.units) + 3 > MAX_UNITS:
        raise ArchError(f"no mutation in {allowed} applies to a cell of {len(cell.units)} units")
    u = units[int(rng.integers(len(units)))]
    while True:
        m = allowed[int(rng.integers(len(allowed)))]
        if u.kind in _APPLIES[m] and _fits(cell, u, m):
            break
    n = cell.next_uid
    if m == "widen":
        w = u.width
        new_w = max(w + 1, int(round(w * rng.uniform(*widen))))
        extra = rng.integers(0, w, size=new_w - w)
        return Mutation(m, u.uid, (), tuple(range(w)) + tuple(int(i) for i in extra))
    n_new = {"deeper": 1, "sep": 1, "skip": 2, "branch": 2, "kernel": 0}[m]
    return Mutation(m, u.uid, tuple(range(n, n + n_new)))


def _fits(cell: Cell, u: Unit, m: str) -> bool:
    if m == "kernel":
        return u.k + 2 <= MAX_KERNEL
    if m == "branch":
        return u.width >= 2
    return True


def apply(cell: Cell, m: Mutation) -> Cell:
    """The child cell (structure only); ``methods._neurocell.morph`` moves the weights alike."""
    u = cell.unit(m.target)
    if m.kind == "widen":
        return _swap(cell, u.uid, [replace(u, width=len(m.mapping))], u.uid)
    if m.kind == "kernel":
        return _swap(cell, u.uid, [replace(u, k=u.k + 2, pad=u.pad + 1)], u.uid)
    if m.kind in ("deeper", "sep"):
        (n,) = m.new_uids
        new = Unit(n, "conv" if m.kind == "deeper" else "sep", (u.uid,), u.width, u.k, u.k // 2)
        return _swap(cell, u.uid, [u, new], n)
    a, b = m.new_uids
    if m.kind == "skip":
        k = u.k or 3
        return _swap(cell, u.uid, [u, Unit(a, "skip", (u.uid,), 0, k, k // 2), Unit(b, "add", (u.uid, a))], b)
    h = u.width // 2  # branch: the filters split into two parallel convs, concatenated
    return _swap(cell, u.uid, [replace(u, width=h), Unit(a, "conv", u.inputs, u.width - h, u.k, u.pad),
                               Unit(b, "cat", (u.uid, a))], b)


def _swap(cell: Cell, uid: int, block: list[Unit], out: int) -> Cell:
    """Replace unit ``uid`` by ``block``; later units that read ``uid`` read ``out`` instead."""
    units: list[Unit] = []
    seen = False
    for v in cell.units:
        if v.uid == uid:
            units.extend(block)
            seen = True
        elif seen and uid != out and uid in v.inputs:
            units.append(replace(v, inputs=tuple(out if i == uid else i for i in v.inputs)))
        else:
            units.append(v)
    return Cell(tuple(units), max([cell.next_uid] + [b.uid + 1 for b in block]))


def encode(cell: Cell) -> np.ndarray:
    """Fixed-length int16 code: six fields per unit, inputs as positions (0 = cell input), -1 padded."""
    if len(cell.units) > MAX_UNITS:
        raise ArchError(f"a neuro-cell holds at most {MAX_UNITS} units, got {len(cell.units)}")
    pos = {0: 0, **{u.uid: i + 1 for i, u in enumerate(cell.units)}}
    out = np.full((MAX_UNITS, _FIELDS), -1, dtype=np.int16)
    for i, u in enumerate(cell.units):
        ins = [pos[j] for j in u.inputs] + [-1]
        out[i] = (KINDS.index(u.kind), u.width, u.k, u.pad, ins[0], ins[1])
    return out.reshape(-1)


def decode(codes: np.ndarray) -> Cell:
    """The cell of a code (uids renumbered to positions)."""
    rows = np.asarray(codes, dtype=np.int64).reshape(MAX_UNITS, _FIELDS)
    units = []
    for i, (kind, width, k, pad, a, b) in enumerate(rows):
        if kind < 0:
            break
        if not 0 <= kind < len(KINDS) or not 0 <= a <= i or b > i:
            raise ArchError(f"malformed neuro-cell code at unit {i + 1}: {rows[i].tolist()}")
        units.append(Unit(i + 1, KINDS[kind], (int(a),) if b < 0 else (int(a), int(b)), int(width), int(k), int(pad)))
    if not units:
        raise ArchError("a neuro-cell code needs at least one unit")
    return Cell(tuple(units), len(units) + 1)


def format_cell(cell: Cell) -> str:
    """``kind/width/k/pad<inputs`` per unit (inputs as positions, 0 = cell input), e.g.
    ``conv/128/3/0<0 skip/0/3/1<1 add/0/0/0<1,2``."""
    pos = {0: 0, **{u.uid: i + 1 for i, u in enumerate(cell.units)}}
    return " ".join(f"{u.kind}/{u.width}/{u.k}/{u.pad}<{','.join(str(pos[i]) for i in u.inputs)}"
                    for u in cell.units)


def parse_cell(s: str) -> Cell:
    try:
        units = []
        for i, item in enumerate(s.split(), start=1):
            head, _, ins = item.partition("<")
            kind, width, k, pad = head.split("/")
            units.append(Unit(i, kind, tuple(int(j) for j in ins.split(",")), int(width), int(k), int(pad)))
    except ValueError:
        raise ArchError(f"malformed neuro-cell string {s!r}: expected 'kind/width/k/pad<in[,in]' per unit") from None
    return decode(encode(Cell(tuple(units), len(units) + 1)))


class NeuroCellSpace:
    """Neuro-cells grown from the template; no official numbering (index is -1)."""

    name = "neurocell"
    n_dims = MAX_UNITS * _FIELDS

    def __init__(self, width: int = 128, k: int = 3, pad: int = 0) -> None:
        self.template = template_cell(width, k, pad)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Cells 0..3 random mutations away from the template."""
        out = []
        for _ in range(n):
            cell = self.template
            for _ in range(int(rng.integers(0, 4))):
                cell = apply(cell, propose(cell, rng))
            out.append(encode(cell))
        return np.stack(out) if out else np.zeros((0, self.n_dims), np.int16)

    def mutate(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cell = decode(codes)
        return encode(apply(cell, propose(cell, rng)))

    def parse(self, s: str | list[str]) -> np.ndarray:
        items = strings(s, "neuro-cell")
        if items is None:
            return encode(parse_cell(s))
        return np.stack([encode(parse_cell(x)) for x in items]) if items else np.zeros((0, self.n_dims), np.int16)

    def format(self, codes: np.ndarray) -> list[str]:
        return [format_cell(decode(c)) for c in np.atleast_2d(codes)]

    def index(self, codes: np.ndarray) -> np.ndarray:
        return np.full(len(np.atleast_2d(codes)), -1, dtype=np.int64)
