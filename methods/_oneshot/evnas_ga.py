"""EvNAS genetic operators and decoding on alpha arrays (evnas.md); numpy only, no torch.

An individual's alpha is (cells, edges, ops): S1 (2, 14, 8) normal + reduce, S2 (1, 6, 5). Every
row (one edge of one cell) is the unit of crossover and mutation.
"""
from __future__ import annotations

import numpy as np

# DARTS supernet edges: node i (0..3) reads nodes 0..i+1; rows offset 0, 2, 5, 9 (search_spaces.md)
DARTS_OFFSETS = (0, 2, 5, 9)
DARTS_EDGE_SRC = np.array([s for i in range(4) for s in range(i + 2)])
DARTS_EDGE_NODE = np.array([i for i in range(4) for _ in range(i + 2)])
SHAPES = {"darts": (2, 14, 8), "nb201": (1, 6, 5)}


def softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def random_alpha(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> np.ndarray:
    """n individuals with alpha i.i.d. Uniform(0, 1)."""
    return rng.random((n, *shape))


def decode_nb201(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1, 6, 5) alpha -> (int8[6] NB201 codes, one-hot mask): each edge keeps its arg-max op."""
    codes = np.asarray(alpha)[0].argmax(axis=1).astype(np.int8)
    mask = np.zeros_like(alpha, dtype=np.float64)
    mask[0, np.arange(len(codes)), codes] = 1.0
    return codes, mask


def _decode_darts_cell(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = softmax(alpha)
    ranked = np.argsort(-p, axis=1, kind="stable")
    op = np.where(ranked[:, 0] == 0, ranked[:, 1], ranked[:, 0])  # never `none` (index 0)
    score = p[np.arange(len(p)), op]
    mask = np.zeros_like(alpha, dtype=np.float64)
    pairs = []
    for node, start in enumerate(DARTS_OFFSETS):
        rows = np.arange(start, start + node + 2)
        keep = rows[np.argsort(-score[rows], kind="stable")[:2]]  # best-scored first, as DARTS
        for r in keep:
            mask[r, op[r]] = 1.0
            pairs.extend([op[r], DARTS_EDGE_SRC[r]])
    return np.asarray(pairs, dtype=np.int16), mask


def decode_darts(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2, 14, 8) alpha -> (int16[32] DARTS codes, 0/1 mask with 8 ones per cell)."""
    parts = [_decode_darts_cell(a) for a in np.asarray(alpha)]
    return np.concatenate([c for c, _ in parts]), np.stack([m for _, m in parts])


DECODERS = {"darts": decode_darts, "nb201": decode_nb201}


def mixing_weights(mask: np.ndarray) -> np.ndarray:
    """Row-wise softmax of the decoded mask: what the supernet mixes ops with."""
    return softmax(np.asarray(mask, dtype=np.float64))


def tournament(fitness: np.ndarray, size: int, rng: np.random.Generator) -> int:
    """Index of the fittest of ``size`` distinct individuals drawn uniformly."""
    drawn = rng.choice(len(fitness), size=size, replace=False)
    return int(drawn[np.argmax(fitness[drawn])])


def crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row (cell, edge) from parent a or b with probability 1/2."""
    take_a = rng.random(a.shape[:-1]) < 0.5
    return np.where(take_a[..., None], a, b)


def mutate(alpha: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Each row replaced by fresh Uniform(0, 1) values with probability ``rate``."""
    hit = rng.random(alpha.shape[:-1]) < rate
    fresh = rng.random(alpha.shape)
    return np.where(hit[..., None], fresh, alpha)


def next_generation(pop: np.ndarray, fitness: np.ndarray, tournament_size: int, elites: int,
                    mutation_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Elites copied unchanged; the rest tournament-selected, crossed row-wise, then mutated.

    ``pop`` must be sorted best first (``fitness`` in the same order).
    """
    new = [pop[i].copy() for i in range(elites)]
    while len(new) < len(pop):
        a = tournament(fitness, tournament_size, rng)
        b = tournament(fitness, tournament_size, rng)
        new.append(crossover(pop[a], pop[b], rng))
    children = [mutate(c, mutation_rate, rng) for c in new[elites:]]
    return np.stack(new[:elites] + children)
