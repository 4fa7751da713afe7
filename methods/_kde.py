"""TPE-style good/bad kernel density model over categorical dims, as hpbandster's BOHB builds it.

Per budget it keeps (codes, loss); with more than ``min_points`` good and bad points it fits two
Aitchison-Aitken product KDEs (best ``top_n_percent`` vs the rest) and proposes the candidate that
minimises bad/good density among ``num_samples`` draws around good points. Bandwidth: the normal
reference rule clipped to [min_bandwidth, 1] (statsmodels' unordered bound, then hpbandster's
floor). hpbandster applies ``bandwidth_factor`` to continuous dims only, so on an all-categorical
space it has no effect; it is kept as a field for that reason. One deviation: statsmodels counts a
kernel's levels from the fitted data (a constant column divides by zero); we use the space's
number of choices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CategoricalKDE:
    """Product Aitchison-Aitken kernel density over integer codes."""

    data: np.ndarray  # (n, d) codes
    bw: np.ndarray    # (d,) lambda per dim
    n_choices: int

    @classmethod
    def fit(cls, data: np.ndarray, n_choices: int, min_bandwidth: float) -> "CategoricalKDE":
        n, d = data.shape
        bw = 1.06 * data.astype(float).std(axis=0) * n ** (-1.0 / (4 + d))
        return cls(np.asarray(data), np.clip(bw, min_bandwidth, 1.0), n_choices)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """Density at each row of x (m, d)."""
        same = np.atleast_2d(x)[:, None, :] == self.data[None]
        k = np.where(same, 1.0 - self.bw, self.bw / (self.n_choices - 1))
        return k.prod(axis=-1).mean(axis=-1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Around random data points: keep each op with prob 1-bw, else draw uniformly."""
        rows = self.data[rng.integers(0, len(self.data), n)]
        keep = rng.random(rows.shape) < 1.0 - self.bw
        return np.where(keep, rows, rng.integers(0, self.n_choices, rows.shape)).astype(rows.dtype)


class KDEModel:
    """Observations per budget and the good/bad KDE pair of the largest budget that has one."""

    def __init__(self, n_dims: int, n_choices: int, *, top_n_percent: int, min_points: int | None,
                 num_samples: int, min_bandwidth: float) -> None:
        self.n_choices, self.top_n_percent = n_choices, top_n_percent
        self.min_points = max(min_points or 0, n_dims + 1)  # hpbandster's floor: dims + 1
        self.num_samples, self.min_bandwidth = num_samples, min_bandwidth
        self.obs: dict[float, tuple[list[np.ndarray], list[float]]] = {}
        self.models: dict[float, tuple[CategoricalKDE, CategoricalKDE]] = {}

    def observe(self, budget: float, codes: np.ndarray, loss: float) -> None:
        """Store a result and refit that budget's model (skipped once a larger budget has one)."""
        if self.models and max(self.models) > budget:
            return
        configs, losses = self.obs.setdefault(budget, ([], []))
        configs.append(np.asarray(codes))
        losses.append(loss if np.isfinite(loss) else np.inf)
        n = len(configs)
        if n < self.min_points:
            return
        n_good = max(self.min_points, self.top_n_percent * n // 100)
        n_bad = max(self.min_points, (100 - self.top_n_percent) * n // 100)
        order = np.argsort(losses, kind="stable")
        data = np.stack(configs)
        good, bad = data[order[:n_good]], data[order[n_good:n_good + n_bad]]
        if len(good) <= data.shape[1] or len(bad) <= data.shape[1]:
            return
        self.models[budget] = (CategoricalKDE.fit(good, self.n_choices, self.min_bandwidth),
                               CategoricalKDE.fit(bad, self.n_choices, self.min_bandwidth))

    def propose(self, rng: np.random.Generator) -> np.ndarray | None:
        """The best of ``num_samples`` candidates by bad/good density, or None without a model."""
        if not self.models:
            return None
        good, bad = self.models[max(self.models)]
        cand = good.sample(rng, self.num_samples)
        score = np.maximum(bad.pdf(cand), 1e-32) / np.maximum(good.pdf(cand), 1e-32)
        return cand[int(np.argmin(score))]
