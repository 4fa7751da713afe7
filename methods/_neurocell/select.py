"""Tournament selection shared by both neuro-cell evolution variants (no torch)."""
from __future__ import annotations

import math

import numpy as np


def tournament(fitness: np.ndarray, rng: np.random.Generator, share: float) -> int:
    """Index of the fittest of max(2, floor(share x n)) members drawn without replacement (spec check 4)."""
    n = len(fitness)
    size = min(n, max(2, int(math.floor(share * n))))
    picks = rng.choice(n, size=size, replace=False)
    return int(picks[int(np.argmax(fitness[picks]))])
