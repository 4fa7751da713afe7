"""Genetic operators on integer genomes (predictor_evolution.md): per-gene resampling, one-cut crossover."""
from __future__ import annotations

import numpy as np


def mutate_genes(parents: np.ndarray, prob: float, n_choices: int, rng: np.random.Generator) -> np.ndarray:
    """Each gene redrawn uniformly from 0..n_choices-1 with probability ``prob`` (may redraw itself)."""
    parents = np.atleast_2d(parents)
    mask = rng.random(parents.shape) < prob
    fresh = rng.integers(0, n_choices, size=parents.shape)
    return np.where(mask, fresh, parents).astype(parents.dtype)


def crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Single cut, position uniform in step, 2 step, .., d - step: children = a[:cut] + b[cut:];
    returns (children, cuts). ``step`` = genes per unit exchanged whole (DARTS: 4 per node)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    d = a.shape[1]
    cuts = rng.integers(1, d // step, size=len(a)) * step
    take_a = np.arange(d)[None, :] < cuts[:, None]
    return np.where(take_a, a, b).astype(a.dtype), cuts
