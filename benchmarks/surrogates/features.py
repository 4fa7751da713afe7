"""Model inputs from a space's codes: one-hot per code position (plus op counts for DARTS cells),
canonical first so that equal cells give equal inputs. Numpy only."""
from __future__ import annotations

import numpy as np

from harness.errors import HarnessError

# cardinality of each code position per space: NB201 6 edges x 5 ops; DARTS (op 0..7, src 0..4) x 16
_CARD = {
    "nb201": np.full(6, 5),
    "darts": np.tile([8, 5], 16),
}
SPACES = tuple(_CARD)


def space_of(name: str):  # -> SearchSpace
    """The search space object of a name the surrogate files use."""
    if name == "nb201":
        from benchmarks.spaces.nb201 import NB201Space

        return NB201Space()
    if name == "darts":
        from benchmarks.spaces.darts import DartsSpace

        return DartsSpace()
    raise HarnessError(f"unknown surrogate space {name!r}; known: {', '.join(SPACES)}")


def encode(space: str, codes: np.ndarray) -> np.ndarray:
    """(n, n_features) float32 inputs for ``codes`` (n, n_dims) of ``space``."""
    if space not in _CARD:
        raise HarnessError(f"unknown surrogate space {space!r}; known: {', '.join(SPACES)}")
    codes = np.atleast_2d(np.asarray(codes)).astype(np.int64)
    if space == "darts":
        from benchmarks.spaces.darts import DartsSpace

        codes = DartsSpace().canonical(codes).astype(np.int64)
    card = _CARD[space]
    if codes.shape[1] != len(card):
        raise HarnessError(f"{space} codes need {len(card)} entries, got shape {codes.shape}")
    offsets = np.concatenate([[0], np.cumsum(card)[:-1]])
    out = np.zeros((len(codes), int(card.sum())), dtype=np.float32)
    out[np.arange(len(codes))[:, None], offsets + codes] = 1.0
    if space == "darts":  # how often each op appears in each cell
        ops = codes.reshape(-1, 2, 8, 2)[..., 0]
        counts = np.stack([(ops == k).sum(axis=2) for k in range(1, 8)], axis=-1).reshape(len(codes), -1)
        out = np.concatenate([out, counts.astype(np.float32)], axis=1)
    return out
