"""Significance tests for final results: pairwise one-sided tests with Holm correction, and the
Friedman test with the Nemenyi critical difference (Demšar, JMLR 2006)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import stats as sps

from harness.errors import DataError


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


@dataclass(frozen=True)
class Pairwise:
    """``p[i, j]``: p-value of the one-sided test "method i is better than method j"."""

    methods: list[str]
    p: np.ndarray
    p_holm: np.ndarray
    test: str  # "Wilcoxon signed-rank (paired by seed)" or "Mann-Whitney U"


def _one_sided(a: np.ndarray, b: np.ndarray, paired: bool, greater: bool) -> float:
    alt = "greater" if greater else "less"
    if paired:  # drop seeds where either value is missing
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = a[keep], b[keep]
    else:
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 1 or len(b) < 1:
        return float("nan")
    if paired:
        return signed_rank_exact(a - b, greater)
    return float(sps.mannwhitneyu(a, b, alternative=alt).pvalue)


def signed_rank_exact(d: np.ndarray, greater: bool = True) -> float:
    """Exact one-sided Wilcoxon signed-rank p-value of differences ``d`` (H1: d > 0 if ``greater``).

    Zero differences are dropped (Wilcoxon's convention); tied |d| get mid-ranks and the null
    distribution of the positive rank sum is enumerated for those ranks by dynamic programming,
    so ties and small samples stay exact and deterministic (scipy falls back to a slow random
    permutation test there).
    """
    d = np.asarray(d, float)
    d = d[d != 0]
    if len(d) == 0:
        return 1.0  # identical results: no evidence either way
    r2 = np.rint(2 * sps.rankdata(np.abs(d))).astype(np.int64)  # doubled mid-ranks are integers
    t = int(r2[d > 0].sum())
    prob = np.zeros(int(r2.sum()) + 1)
    prob[0] = 1.0
    for r in r2:  # each rank joins the positive sum with probability 1/2
        shifted = np.zeros_like(prob)
        shifted[r:] = prob[:-r]
        prob = 0.5 * (prob + shifted)
    return float(min(1.0, prob[t:].sum() if greater else prob[:t + 1].sum()))


def pairwise_tests(samples: dict[str, np.ndarray], paired: bool,
                   higher_is_better: bool = True) -> Pairwise:
    """One-sided test for every ordered pair of methods, Holm-corrected over all k(k-1) pairs.

    NaN values (a report value missing from the benchmark) are left out, pairwise when paired.

    ``samples`` maps method -> final values; when ``paired`` they must be aligned by seed
    (same length, same order) and the Wilcoxon signed-rank test is used, else Mann-Whitney U.
    """
    methods = list(samples)
    k = len(methods)
    if paired and len({len(v) for v in samples.values()}) > 1:
        raise DataError("paired tests need the same seeds for every method")
    p = np.full((k, k), np.nan)
    for i, a in enumerate(methods):
        for j, b in enumerate(methods):
            if i != j:
                p[i, j] = _one_sided(np.asarray(samples[a], float), np.asarray(samples[b], float),
                                     paired, higher_is_better)
    name = "Wilcoxon signed-rank (paired by seed)" if paired else "Mann-Whitney U"
    return Pairwise(methods, p, holm(p), name)


def best_and_ties(samples: dict[str, np.ndarray], pw: Pairwise, alpha: float = 0.05,
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


@dataclass(frozen=True)
class Friedman:
    """Friedman test over N blocks (rows) and k methods, with the Nemenyi critical difference."""

    methods: list[str]
    avg_ranks: np.ndarray  # (k,), 1 = best
    statistic: float       # chi-square, tie-corrected
    pvalue: float
    n_blocks: int
    cd: float              # Nemenyi critical difference of average ranks at ``alpha``
    alpha: float


def friedman(scores: np.ndarray, methods: list[str], higher_is_better: bool = True,
             alpha: float = 0.05) -> Friedman:
    """Friedman chi-square on an (N, k) score matrix; ranks within each row, 1 = best.

    chi2 = 12 N / (k (k+1)) * sum_j (R_j - (k+1)/2)^2, divided by the tie correction
    1 - sum(t^3 - t) / (N k (k^2 - 1)); df = k - 1. Matches scipy.stats.friedmanchisquare
    for k >= 3 and also works for k = 2.
    """
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
    return Friedman(list(methods), avg, float(chi2), pval, n, nemenyi_cd(k, n, alpha), alpha)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """CD = q_alpha sqrt(k (k+1) / (6 N)), q_alpha = studentized range quantile / sqrt(2)."""
    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def cd_groups(avg_ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi] (positions in rank order) whose rank span is below ``cd``.

    Positions refer to ``np.argsort(avg_ranks)``; only groups of two or more are returned, and a
    group contained in another is dropped. These are the bars of a critical-difference diagram.
    """
    r = np.sort(np.asarray(avg_ranks, float))
    groups: list[tuple[int, int]] = []
    for lo in range(len(r)):
        hi = lo
        while hi + 1 < len(r) and r[hi + 1] - r[lo] < cd:
            hi += 1
        if hi > lo and not any(g[0] <= lo and hi <= g[1] for g in groups):
            groups.append((lo, hi))
    return groups
