"""Significance tests that match how the runs were made.

Per dataset, methods draw their own random stream for every seed, so seed ``s`` of method A shares
nothing with seed ``s`` of method B: the runs are two independent samples and the tests are
unpaired (Mann-Whitney U, with the Vargha-Delaney A effect size). Paired Wilcoxon signed-rank is
offered only for callers whose runs really share randomness.

Across tasks (benchmark x dataset), each task is one block: Friedman's test on the per-task scores,
then pairwise Wilcoxon signed-rank tests on those scores with Holm's correction (Benavoli et al.,
JMLR 2016) or, as an option, Nemenyi's critical difference (Demšar, JMLR 2006). The critical
difference diagram is drawn from the same post-hoc decisions as the table beside it.

scipy is imported inside the functions that need it, and the per-dataset tests (Mann-Whitney U and
the Vargha-Delaney A) need none of it: ``compare``'s summary then costs a fraction of its study
instead of the ~1 s of CPU an ``import scipy.stats`` takes. They follow scipy's
``mannwhitneyu(method="auto")`` exactly (the tests check it): the exact null distribution when
either sample has at most 8 values and there are no ties, else the normal approximation with tie
and continuity corrections, both O(n log n) in the sample size.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import erfc, exp, lgamma, sqrt
from typing import Any

import numpy as np

from harness.errors import DataError

ALPHA = 0.05
MANN_WHITNEY = "Mann-Whitney U (unpaired)"
WILCOXON_PAIRED = "Wilcoxon signed-rank (paired by seed)"
POSTHOCS = ("wilcoxon", "nemenyi")


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (same shape; NaNs are left out of the family).

    Sorted ascending, the i-th smallest of m p-values becomes max_{j<=i} min(1, (m-j+1) p_(j)).
    """
    p = np.asarray(pvalues, float)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    out = np.full(flat.shape, np.nan)
    m = len(ok)
    if m:
        order = ok[np.argsort(flat[ok], kind="stable")]
        scaled = np.minimum(1.0, (m - np.arange(m)) * flat[order])
        out[order] = np.maximum.accumulate(scaled)
    return out.reshape(p.shape)


def midranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks 1..n of ``x`` with ties sharing their mean rank, and the sizes of the tie groups
    (what ``scipy.stats.rankdata`` gives; numpy only)."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    sizes = np.diff(np.r_[starts, len(xs)])
    mean_rank = starts + (sizes + 1) / 2.0  # 1-based mean rank of each tie group
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(mean_rank, sizes)
    return ranks, sizes


def vargha_delaney(a: np.ndarray, b: np.ndarray) -> float:
    """Vargha-Delaney A = P(a > b) + P(a = b) / 2 for independent draws; 0.5 = no effect.

    From the rank sum of ``a`` in the pooled sample (O(n log n)); 0.56 / 0.64 / 0.71 are the usual
    small / medium / large thresholds.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    r = midranks(np.concatenate([a, b]))[0][: len(a)].sum()
    return float((r / len(a) - (len(a) + 1) / 2) / len(b))


def _u_counts(n1: int, n2: int) -> list[int]:
    """Exact null counts of the Mann-Whitney U for sizes (n1, n2): the coefficients of the
    Gaussian binomial [n1 + n2 choose k]_q, k = min(n1, n2), built with integers (no rounding)."""
    k, n = min(n1, n2), n1 + n2
    poly = [1]
    for i in range(1, k + 1):
        m = n - k + i  # multiply by (1 - q^m), then divide by (1 - q^i)
        poly = poly + [0] * m
        for j in range(len(poly) - 1, m - 1, -1):
            poly[j] -= poly[j - m]
        for j in range(i, len(poly)):
            poly[j] += poly[j - i]
        while len(poly) > 1 and poly[-1] == 0:
            poly.pop()
    return poly


def mann_whitney(a: np.ndarray, b: np.ndarray, greater: bool = True) -> float:
    """One-sided Mann-Whitney U p-value of "a > b" (``greater``) or "a < b", as
    ``scipy.stats.mannwhitneyu(a, b, alternative=..., method="auto")`` computes it."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    n1, n2 = len(a), len(b)
    ranks, ties = midranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = u1 if greater else n1 * n2 - u1
    if min(n1, n2) <= 8 and not np.any(ties > 1):  # exact, as scipy's "auto"
        counts = _u_counts(n1, n2)
        tail = sum(counts[round(u):])
        return float(min(1.0, tail / sum(counts)))
    n = n1 + n2
    tie_term = float(np.sum(ties ** 3 - ties)) / (n * (n - 1))
    sd = sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sd == 0:
        return 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / sd  # continuity correction
    return float(min(1.0, 0.5 * erfc(z / sqrt(2.0))))


def min_p_one_sided(n_a: int, n_b: int, paired: bool) -> float:
    """The smallest one-sided p-value the test can give with these sample sizes (no ties).

    Mann-Whitney: only one of the C(n_a + n_b, n_a) orderings is the most extreme; Wilcoxon
    signed-rank: one of the 2^n sign patterns.
    """
    if min(n_a, n_b) < 1:
        return 1.0
    if paired:
        return 0.5 ** min(n_a, n_b)
    return exp(lgamma(n_a + 1) + lgamma(n_b + 1) - lgamma(n_a + n_b + 1))  # 1 / C(n_a + n_b, n_a)


@dataclass(frozen=True)
class Pairwise:
    """``p[i, j]``: p-value of the one-sided test "method i is better than method j";
    ``effect[i, j]``: Vargha-Delaney A of i over j (P(i better) + ties / 2)."""

    methods: list[str]
    p: np.ndarray
    p_holm: np.ndarray
    test: str            # MANN_WHITNEY or WILCOXON_PAIRED
    effect: np.ndarray
    floor: float = 0.0   # smallest Holm-adjusted p these sample sizes allow

    def resolvable(self, alpha: float = ALPHA) -> bool:
        """False when no pair could reach ``alpha`` whatever the data (too few runs)."""
        return self.floor < alpha


def _clean(a: np.ndarray, b: np.ndarray, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    if paired:  # drop seeds where either value is missing
        keep = ~(np.isnan(a) | np.isnan(b))
        return a[keep], b[keep]
    return a[~np.isnan(a)], b[~np.isnan(b)]


def one_sided(a: np.ndarray, b: np.ndarray, paired: bool, greater: bool = True) -> float:
    """p-value of "a > b" (``greater``) or "a < b": scipy's Mann-Whitney U, or its Wilcoxon
    signed-rank test of ``a - b`` when ``paired``; both pick the exact or the normal
    approximation by sample size (O(n log n) for large samples)."""
    a, b = _clean(np.asarray(a, float), np.asarray(b, float), paired)
    if len(a) < 1 or len(b) < 1:
        return float("nan")
    if paired:
        from scipy import stats as sps

        d = a - b
        if not np.any(d != 0):
            return 1.0  # identical results: no evidence either way
        return float(sps.wilcoxon(d, alternative="greater" if greater else "less", zero_method="wilcox").pvalue)
    return mann_whitney(a, b, greater)


def pairwise_tests(samples: dict[str, np.ndarray], paired: bool = False,
                   higher_is_better: bool = True) -> Pairwise:
    """One-sided test for every ordered pair of methods, Holm-corrected over all k(k-1) pairs.

    ``samples`` maps method -> final values; NaN values are left out (pairwise when paired). The
    default is unpaired (Mann-Whitney U); pass ``paired=True`` only when seed ``s`` of every
    method used the same random stream, and then the arrays must be aligned by seed.
    """
    methods = list(samples)
    k = len(methods)
    if paired and len({len(v) for v in samples.values()}) > 1:
        raise DataError("paired tests need the same seeds for every method")
    vals = {m: np.asarray(v, float) for m, v in samples.items()}
    p = np.full((k, k), np.nan)
    effect = np.full((k, k), np.nan)
    floors = []
    for i, a in enumerate(methods):
        for j, b in enumerate(methods):
            if i == j:
                continue
            p[i, j] = one_sided(vals[a], vals[b], paired, higher_is_better)
            x, y = _clean(vals[a], vals[b], paired)
            effect[i, j] = vargha_delaney(x, y) if higher_is_better else vargha_delaney(y, x)
            floors.append(min_p_one_sided(len(x), len(y), paired))
    floor = min(1.0, len(floors) * max(min(floors), 0.0)) if floors else 1.0
    return Pairwise(methods, p, holm(p), WILCOXON_PAIRED if paired else MANN_WHITNEY, effect, floor)


def best_and_ties(samples: dict[str, np.ndarray], pw: Pairwise, alpha: float = ALPHA,
                  higher_is_better: bool = True,
                  center: Callable[[np.ndarray], Any] = np.mean) -> set[str]:
    """The method with the best ``center`` (mean) plus those the best is not significantly better
    than (Holm-adjusted one-sided p >= alpha)."""
    vals = {m: np.asarray(v, float)[~np.isnan(np.asarray(v, float))] for m, v in samples.items()}
    means = {m: float(center(v)) if len(v) else np.nan for m, v in vals.items()}
    finite = [m for m in pw.methods if np.isfinite(means[m])]
    if not finite:
        return set()
    best = (max if higher_is_better else min)(finite, key=lambda m: means[m])
    i = pw.methods.index(best)
    return {best} | {m for j, m in enumerate(pw.methods)
                     if m in finite and j != i and not pw.p_holm[i, j] < alpha}


def too_few_line(floor: float, alpha: float, what: str, remedy: str = "run more seeds") -> str:
    """The one line a table prints when its tests cannot separate anything."""
    return (f"With these {what}, no difference can be significant at α={alpha:g}: the smallest "
            f"Holm-adjusted p-value possible is {floor:.3g}, so bold marks every method; {remedy}.")


@dataclass(frozen=True)
class Friedman:
    """Friedman test over N blocks (rows) and k methods, with its post-hoc decisions.

    ``different[i, j]``: the post-hoc test separates methods i and j at ``alpha``; ``p_posthoc``
    holds its Holm-adjusted two-sided p-values (Wilcoxon) or NaN (Nemenyi, which uses ``cd``).
    """

    methods: list[str]
    avg_ranks: np.ndarray  # (k,), 1 = best
    statistic: float       # chi-square, tie-corrected
    pvalue: float
    n_blocks: int
    cd: float              # Nemenyi critical difference of average ranks at ``alpha``
    alpha: float
    posthoc: str = "wilcoxon"
    p_posthoc: np.ndarray | None = None
    different: np.ndarray | None = None
    floor: float = 0.0     # smallest Holm-adjusted post-hoc p these blocks allow (Wilcoxon)

    def resolvable(self) -> bool:
        return self.floor < self.alpha

    def best_and_ties(self) -> set[str]:
        """The best average rank and the methods the post-hoc test does not separate from it."""
        b = int(np.argmin(self.avg_ranks))
        diff = self.different if self.different is not None else np.zeros((len(self.methods),) * 2, bool)
        return {self.methods[b]} | {m for j, m in enumerate(self.methods) if j != b and not diff[b, j]}


def friedman(scores: np.ndarray, methods: list[str], higher_is_better: bool = True,
             alpha: float = ALPHA, posthoc: str = "wilcoxon") -> Friedman:
    """Friedman chi-square on an (N, k) score matrix (rows = blocks = tasks), ranks within each
    row (1 = best), then the post-hoc pairwise decisions.

    chi2 = 12 N / (k (k+1)) * sum_j (R_j - (k+1)/2)^2, divided by the tie correction
    1 - sum(t^3 - t) / (N k (k^2 - 1)); df = k - 1. Matches scipy.stats.friedmanchisquare
    for k >= 3 and also works for k = 2. ``posthoc``: "wilcoxon" (two-sided signed-rank on the
    block scores, Holm over the k(k-1)/2 pairs) or "nemenyi" (|R_i - R_j| >= CD).
    """
    from scipy import stats as sps

    if posthoc not in POSTHOCS:
        raise DataError(f"post-hoc test must be one of {', '.join(POSTHOCS)}, got {posthoc!r}")
    s = np.asarray(scores, float)
    if s.ndim != 2 or s.shape[1] != len(methods) or len(methods) < 2:
        raise DataError(f"Friedman needs an (N, k>=2) score matrix, got shape {s.shape}")
    s = s[~np.isnan(s).any(axis=1)]
    n, k = s.shape
    if n < 2:
        raise DataError(f"Friedman needs at least 2 complete blocks, got {n}")
    r = sps.rankdata(-s if higher_is_better else s, axis=1)
    avg = r.mean(axis=0)
    chi2 = 12.0 * n / (k * (k + 1)) * np.sum((avg - (k + 1) / 2.0) ** 2)
    ties = sum(np.sum(c ** 3 - c) for c in (np.unique(row, return_counts=True)[1] for row in r))
    denom = 1.0 - ties / (n * k * (k * k - 1))
    chi2 = chi2 / denom if denom > 0 else 0.0
    pval = float(sps.chi2.sf(chi2, k - 1)) if denom > 0 else 1.0
    cd = nemenyi_cd(k, n, alpha)
    if posthoc == "nemenyi":
        different = np.abs(avg[:, None] - avg[None, :]) >= cd
        np.fill_diagonal(different, False)
        return Friedman(list(methods), avg, float(chi2), pval, n, cd, alpha, posthoc, None, different, 0.0)
    p = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            d = s[:, i] - s[:, j]
            p[i, j] = 1.0 if not np.any(d != 0) else float(sps.wilcoxon(d, zero_method="wilcox").pvalue)
    adj = holm(p)
    adj = np.where(np.isnan(adj), adj.T, adj)  # symmetric
    different = np.nan_to_num(adj, nan=1.0) < alpha
    floor = min(1.0, k * (k - 1) / 2 * 2 * 0.5 ** n)  # two-sided exact minimum, times the family
    return Friedman(list(methods), avg, float(chi2), pval, n, cd, alpha, posthoc, adj, different, floor)


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """CD = q_alpha sqrt(k (k+1) / (6 N)), q_alpha = studentized range quantile / sqrt(2)."""
    from scipy import stats as sps

    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def cd_groups(avg_ranks: np.ndarray, cd: float | None = None,
              different: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi] (positions in rank order) of methods no two of which are separated.

    Separation is the post-hoc decision ``different`` (indexed like ``avg_ranks``) or, without
    it, a rank difference of at least ``cd`` (Nemenyi). Positions refer to
    ``np.argsort(avg_ranks)``; only groups of two or more are returned, and a group contained in
    another is dropped. These are the bars of a critical-difference diagram.
    """
    ranks = np.asarray(avg_ranks, float)
    order = np.argsort(ranks, kind="stable")
    if different is None:
        if cd is None:
            raise DataError("cd_groups needs a critical difference or the post-hoc decisions")
        r = ranks[order]
        sep = np.abs(r[:, None] - r[None, :]) >= cd
    else:
        sep = np.asarray(different, bool)[np.ix_(order, order)]
    groups: list[tuple[int, int]] = []
    for lo in range(len(order)):
        hi = lo
        while hi + 1 < len(order) and not sep[lo:hi + 2, lo:hi + 2].any():
            hi += 1
        if hi > lo and not any(g[0] <= lo and hi <= g[1] for g in groups):
            groups.append((lo, hi))
    return groups


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% of values (rliable's robust aggregate)."""
    from scipy.stats import trim_mean

    return trim_mean(np.asarray(values, float), 0.25, axis=axis)


def stratified_bootstrap_ci(groups: list[np.ndarray], statistic: Callable[..., np.ndarray],
                            seed: int, reps: int = 1000, level: float = 0.95) -> tuple[float, float, float]:
    """(point, lo, hi): ``statistic`` of the pooled values and its percentile CI, resampling runs
    within each group (task) independently, as rliable does. ``statistic(x, axis=-1)``."""
    groups = [np.asarray(g, float)[~np.isnan(np.asarray(g, float))] for g in groups]
    groups = [g for g in groups if len(g)]
    if not groups:
        return (float("nan"),) * 3  # type: ignore[return-value]
    rng = np.random.default_rng(seed)
    point = float(statistic(np.concatenate(groups)[None], axis=-1)[0])
    draws = np.concatenate([g[rng.integers(0, len(g), size=(reps, len(g)))] for g in groups], axis=1)
    stats = statistic(draws, axis=-1)
    lo, hi = np.percentile(stats, [50 * (1 - level), 50 * (1 + level)])
    return point, float(lo), float(hi)
