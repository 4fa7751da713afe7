"""TPE-style good/bad kernel density model over categorical dims, as hpbandster's BOHB builds it.

Per budget it keeps (codes, loss); with more than ``min_points`` good and bad points it fits two
Aitchison-Aitken product KDEs (best ``top_n_percent`` vs the rest) and proposes the candidate that
minimises bad/good density among ``num_samples`` draws around good points. Bandwidth: the normal
reference rule clipped to [min_bandwidth, 1] (statsmodels' unordered bound, then hpbandster's
floor). hpbandster applies ``bandwidth_factor`` to continuous dims only, so on an all-categorical
space it has no effect; it is kept as a field for that reason. One deviation: statsmodels counts a
kernel's levels from the fitted data (a constant column divides by zero); we use the space's
number of choices.

Speed, with the same draws and bit-identical densities as refitting on every result and scoring
with ``CategoricalKDE.pdf``: observations go into per-budget arrays; ``observe`` only records
which count a budget's model is fitted on, and the fit happens on the next ``propose`` (only the
largest budget's model is ever used, so most refits were never read); the good KDE is reused
while the good set is unchanged; densities come from lookups into per-pattern kernel products
(``_Fitted``) instead of an (m, n, d) broadcast per KDE.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

_MAX_TABLE_DIMS = 10  # 2^d kernel products per KDE; wider spaces score with CategoricalKDE.pdf


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
        """Density at each row of x (m, d); the reference the fast path matches bit for bit."""
        same = np.atleast_2d(x)[:, None, :] == self.data[None]
        k = np.where(same, 1.0 - self.bw, self.bw / (self.n_choices - 1))
        return k.prod(axis=-1).mean(axis=-1)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Around random data points: keep each op with prob 1-bw, else draw uniformly."""
        rows = self.data[rng.integers(0, len(self.data), n)]
        keep = rng.random(rows.shape) < 1.0 - self.bw
        return np.where(keep, rows, rng.integers(0, self.n_choices, rows.shape)).astype(rows.dtype)


def fast_fit(data: np.ndarray, n_choices: int, min_bandwidth: float) -> CategoricalKDE:
    """``CategoricalKDE.fit`` without np.std's Python overhead: the same ufuncs on the same
    array (so the same summation order and bits); clip as max/min (bandwidths are never NaN)."""
    n, d = data.shape
    x = data.astype(float)
    mean = np.add.reduce(x, 0, None, None, True)  # axis, dtype, out, keepdims (positional: cheaper calls)
    np.true_divide(mean, n, mean)
    np.subtract(x, mean, x)
    np.square(x, x)
    bw = np.add.reduce(x, 0)
    np.true_divide(bw, n, bw)
    np.sqrt(bw, bw)
    np.multiply(bw, 1.06, bw)  # 1.06 * std * n^(-1/(4+d)), left to right
    np.multiply(bw, n ** (-1.0 / (4 + d)), bw)
    np.maximum(bw, min_bandwidth, out=bw)
    np.minimum(bw, 1.0, out=bw)
    return CategoricalKDE(data, bw, n_choices)


class _Budget:
    """One budget's observations in arrival order, grown by doubling.

    ``bits[j, v, r]`` is 2^j where observation r has op v on dim j, else 0: summed over dims at
    a candidate's ops it gives the candidate's match pattern with every observation.
    """

    def __init__(self, n_dims: int, n_choices: int, dtype: np.dtype, capacity: int = 64) -> None:
        self.n = 0
        self.codes = np.empty((capacity, n_dims), dtype)
        self.losses = np.empty(capacity)
        self.bits = np.zeros((n_dims, n_choices, capacity), np.intp)
        self.dims, self.pow2 = np.arange(n_dims), 1 << np.arange(n_dims)
        self.offsets = self.dims * n_choices  # row j*c + v of the (d*c, n) view of bits: dim j, op v

    def add(self, row: np.ndarray, loss: float) -> None:
        n = self.n
        if n == len(self.losses) or (row.dtype != self.codes.dtype
                                     and self.codes.dtype != np.result_type(self.codes, row)):
            self._grow(np.result_type(self.codes, row))
        self.codes[n] = row
        self.losses[n] = loss
        if len(self.pow2) <= _MAX_TABLE_DIMS:
            self.bits[self.dims, row, n] = self.pow2
        self.n = n + 1

    def _grow(self, dtype: np.dtype) -> None:
        """Double the arrays (codes promoted to the dtype np.stack of all rows would give)."""
        n, cap = self.n, 2 * len(self.losses) if self.n == len(self.losses) else len(self.losses)
        codes, losses, bits = np.empty((cap, self.codes.shape[1]), dtype), np.empty(cap), \
            np.zeros(self.bits.shape[:2] + (cap,), np.intp)
        codes[:n], losses[:n], bits[..., :n] = self.codes[:n], self.losses[:n], self.bits[..., :n]
        self.codes, self.losses, self.bits = codes, losses, bits


class _Fitted:
    """A budget's good/bad pair for its first n observations, with what scoring needs.

    ``table[p]`` is the product kernel for match pattern p (bit j set: dim j equal), multiplied
    over dims in the order ``pdf`` multiplies; ``table[pattern]`` per data row therefore gives
    pdf's exact summands, and they are summed over the same contiguous rows as pdf's mean.
    """

    def __init__(self, obs: _Budget, n: int, rows: np.ndarray, n_good: int, good: CategoricalKDE,
                 bad: CategoricalKDE, patterns: np.ndarray | None, reuse: "_Fitted | None") -> None:
        """``rows``: the good rows then the bad rows (observation indices), ``n_good`` of them good."""
        self.n, self.good_idx, self.bad_idx, self.good, self.bad = n, rows[:n_good], rows[n_good:], good, bad
        self.keep_p = reuse.keep_p if reuse is not None else 1.0 - good.bw
        self.fast = patterns is not None
        if patterns is None:
            return
        self.good_table = reuse.good_table if reuse is not None else _table(good, patterns)
        self.table = np.concatenate((self.good_table, _table(bad, patterns)))
        bits = obs.bits[:, :, rows]  # (d, c, n_good + n_bad)
        bits[0, :, n_good:] += len(patterns)  # bad rows look up the second table
        d, c = bits.shape[:2]
        self.bits = bits.reshape(d * c, -1)  # row j*c + v: dim j has op v
        self.offsets = obs.offsets
        self.n_good = n_good

    def densities(self, cand: np.ndarray) -> tuple[list[float], list[float]]:
        """(good pdf, bad pdf) at each candidate row (m, d)."""
        if not self.fast:
            return self.good.pdf(cand).tolist(), self.bad.pdf(cand).tolist()
        # each candidate's match pattern with every good and bad row, then its kernel product
        k = self.table.take(np.add.reduce(self.bits.take(cand + self.offsets, 0), 1))  # (m, n_good + n_bad)
        ng = self.n_good
        g = np.add.reduce(k[:, :ng], 1)  # per-row pairwise sums, as over pdf's contiguous rows
        b = np.add.reduce(k[:, ng:], 1)
        return np.true_divide(g, ng, g).tolist(), np.true_divide(b, k.shape[1] - ng, b).tolist()

    def propose(self, rng: np.random.Generator, num_samples: int) -> np.ndarray:
        """The best of ``num_samples`` draws around good points by bad/good density (first on ties):
        ``CategoricalKDE.sample``'s draws (keep each op with prob 1-bw, else uniform), written into
        the drawn rows in place."""
        good = self.good
        cand = good.data[rng.integers(0, len(good.data), num_samples)]
        replace = np.greater_equal(rng.random(cand.shape), self.keep_p)  # = not (u < 1 - bw)
        np.copyto(cand, rng.integers(0, good.n_choices, cand.shape), "unsafe", replace)
        g, b = self.densities(cand)
        scores = [max(bi, 1e-32) / max(gi, 1e-32) for gi, bi in zip(g, b)]
        return cand[scores.index(min(scores))]


def _table(kde: CategoricalKDE, patterns: np.ndarray) -> np.ndarray:
    return np.multiply.reduce(np.where(patterns, 1.0 - kde.bw, kde.bw / (kde.n_choices - 1)), -1)  # = .prod(-1)


class KDEModel:
    """Observations per budget and the good/bad KDE pair of the largest budget that has one.

    ``models`` maps each budget that has a model to the number of its observations the model is
    fitted on (hpbandster refits on every result; the fit itself waits for the next proposal).
    """

    def __init__(self, n_dims: int, n_choices: int, *, top_n_percent: int, min_points: int | None,
                 num_samples: int, min_bandwidth: float) -> None:
        self.n_dims, self.n_choices, self.top_n_percent = n_dims, n_choices, top_n_percent
        self.min_points = max(min_points or 0, n_dims + 1)  # hpbandster's floor: dims + 1
        self.num_samples, self.min_bandwidth = num_samples, min_bandwidth
        self.obs: dict[float, _Budget] = {}
        self.models: dict[float, int] = {}
        self._fitted: dict[float, _Fitted] = {}
        self._patterns = ((np.arange(1 << n_dims)[:, None] >> np.arange(n_dims)) & 1 == 1
                          if n_dims <= _MAX_TABLE_DIMS else None)

    def _split(self, n: int) -> tuple[int, int]:
        """(n_good, n_bad) as hpbandster sizes them for n observations."""
        return (max(self.min_points, self.top_n_percent * n // 100),
                max(self.min_points, (100 - self.top_n_percent) * n // 100))

    def observe(self, budget: float, codes: np.ndarray, loss: float) -> None:
        """Store a result and mark that budget's model current (skipped once a larger budget has one)."""
        if self.models and max(self.models) > budget:
            return
        row = np.asarray(codes)
        obs = self.obs.get(budget)
        if obs is None:
            obs = self.obs[budget] = _Budget(self.n_dims, self.n_choices, row.dtype)
        obs.add(row, loss if math.isfinite(loss) else math.inf)
        n = obs.n
        if n < self.min_points:
            return
        n_good, n_bad = self._split(n)
        if min(n_good, n) <= self.n_dims or min(n_bad, n - n_good) <= self.n_dims:
            return
        self.models[budget] = n

    def _fit(self, budget: float, n: int) -> _Fitted:
        """The pair for a budget's first n observations, exactly as refitting per result made it."""
        obs = self.obs[budget]
        n_good, n_bad = self._split(n)
        rows = obs.losses[:n].argsort(kind="stable")[:n_good + n_bad]  # good rows, then bad rows
        good_idx = rows[:n_good]
        last = self._fitted.get(budget)
        if last is not None and last.good_idx.tobytes() == good_idx.tobytes():
            good, reuse = last.good, last
        else:
            good, reuse = fast_fit(obs.codes[good_idx], self.n_choices, self.min_bandwidth), None
        bad = fast_fit(obs.codes[rows[n_good:]], self.n_choices, self.min_bandwidth)
        return _Fitted(obs, n, rows, n_good, good, bad, self._patterns, reuse)

    def propose(self, rng: np.random.Generator) -> np.ndarray | None:
        """The best of ``num_samples`` candidates by bad/good density, or None without a model."""
        if not self.models:
            return None
        budget = max(self.models)
        n = self.models[budget]
        fitted = self._fitted.get(budget)
        if fitted is None or fitted.n != n:
            fitted = self._fitted[budget] = self._fit(budget, n)
        return fitted.propose(rng, self.num_samples)


def model_for(space: Any, config: Any) -> KDEModel:
    """The good/bad KDE model of a BOHB-style method, sized for ``space`` from its ``config``
    (the BOHB options: top_n_percent, min_points_in_model, num_samples, min_bandwidth)."""
    return KDEModel(space.n_dims, int(getattr(space, "n_choices")), top_n_percent=config.top_n_percent,
                    min_points=config.min_points_in_model, num_samples=config.num_samples,
                    min_bandwidth=config.min_bandwidth)


def draw_from(model: KDEModel, rng: np.random.Generator, random_fraction: float,
              fallback: Callable[[], np.ndarray]) -> np.ndarray:
    """BOHB's draw: a proposal of the model once it has one (unless the random fraction says a
    uniform cell), else ``fallback()``; the rng is touched only once the model exists, as before."""
    if model.models and rng.random() >= random_fraction:
        proposal = model.propose(rng)
        if proposal is not None:
            return proposal
    return fallback()
