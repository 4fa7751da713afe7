from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from reports.stats import (
    best_and_ties,
    cd_groups,
    friedman,
    holm,
    iqm,
    min_p_one_sided,
    nemenyi_cd,
    pairwise_tests,
    stratified_bootstrap_ci,
    vargha_delaney,
)


def test_holm_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone max: 0.06
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_ignores_nan():
    p = np.array([[np.nan, 0.5], [0.2, np.nan]])
    got = holm(p)
    np.testing.assert_allclose(got[0, 1], 0.5)
    np.testing.assert_allclose(got[1, 0], 0.4)
    assert np.isnan(got[0, 0])
    np.testing.assert_allclose(holm(np.array([0.6, 0.7])), [1.0, 1.0])


def test_friedman_hand_computed_and_scipy():
    # 4 blocks x 3 methods, no ties; method a always best, c always worst except one block
    s = np.array([[3, 2, 1], [3, 2, 1], [3, 1, 2], [3, 2, 1]], float)
    fr = friedman(s, ["a", "b", "c"])
    np.testing.assert_allclose(fr.avg_ranks, [1.0, 2.25, 2.75])
    # chi2 = 12*4/(3*4) * ((1-2)^2 + (2.25-2)^2 + (2.75-2)^2) = 4 * 1.625 = 6.5
    assert fr.statistic == pytest.approx(6.5)
    ref = sps.friedmanchisquare(*s.T)
    assert fr.statistic == pytest.approx(ref.statistic) and fr.pvalue == pytest.approx(ref.pvalue)
    tied = np.array([[1, 1, 2], [3, 2, 1], [1, 2, 2], [5, 4, 4], [2, 3, 1]], float)
    ref = sps.friedmanchisquare(*tied.T)
    assert friedman(tied, ["a", "b", "c"]).statistic == pytest.approx(ref.statistic)


def test_friedman_two_methods():
    fr = friedman(np.array([[2.0, 1.0]] * 5), ["a", "b"])
    # k=2: chi2 = 12*5/6 * (0.5^2 + 0.5^2) = 5
    assert fr.statistic == pytest.approx(5.0) and fr.pvalue == pytest.approx(sps.chi2.sf(5, 1))


def test_nemenyi_cd_matches_demsar_table():
    # Demšar 2006, Table 5(a): q_0.05 = 1.960, 2.343, 2.569, 2.728 for k = 2..5
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728)]:
        assert nemenyi_cd(k, 10) == pytest.approx(q * np.sqrt(k * (k + 1) / 60), abs=1e-3)


def test_cd_groups():
    assert cd_groups(np.array([1.0, 1.5, 3.0, 3.2]), cd=1.0) == [(0, 1), (2, 3)]
    diff = np.array([[0, 0, 1], [0, 0, 0], [1, 0, 0]], bool)  # only 0 and 2 separated
    assert cd_groups(np.array([2.6, 1.0, 1.8]), different=diff[np.ix_([2, 0, 1], [2, 0, 1])]) == [(0, 1), (1, 2)]
    assert cd_groups(np.array([1.0, 1.8, 2.6]), cd=1.0) == [(0, 1), (1, 2)]
    assert cd_groups(np.array([1.0, 3.0]), cd=1.0) == []


def test_pairwise_unpaired_and_paired():
    a = np.arange(10.0) + 5
    b = np.arange(10.0)
    pw = pairwise_tests({"a": a, "b": b})  # unpaired is the default
    ref = sps.mannwhitneyu(a, b, alternative="greater").pvalue
    assert pw.p[0, 1] == pytest.approx(ref) and "Mann-Whitney" in pw.test
    assert pw.p_holm[0, 1] == pytest.approx(min(1, 2 * ref))
    assert pw.p[1, 0] > 0.5
    assert pw.effect[0, 1] == pytest.approx(vargha_delaney(a, b)) and pw.effect[1, 0] == pytest.approx(1 - pw.effect[0, 1])
    assert best_and_ties({"a": a, "b": b}, pw) == {"a"}
    pp = pairwise_tests({"a": a, "b": b}, paired=True)
    assert pp.p[0, 1] == pytest.approx(1 / 1024)  # all ten differences positive
    assert "Wilcoxon" in pp.test
    same = pairwise_tests({"a": b, "b": b.copy()})
    assert same.p[0, 1] > 0.4 and same.effect[0, 1] == 0.5
    assert best_and_ties({"a": b, "b": b.copy()}, same) == {"a", "b"}


def test_pairwise_p_does_not_depend_on_seed_alignment():
    """Two methods whose seeds share nothing: which seed of A sits next to which seed of B must
    not matter, so re-aligning the seeds leaves every p-value unchanged."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(93.7, 0.3, 40), rng.normal(93.6, 0.35, 40)
    ref = pairwise_tests({"a": a, "b": b})
    for k in range(20):
        perm = np.random.default_rng(k).permutation(len(b))
        got = pairwise_tests({"a": a, "b": b[perm]})
        np.testing.assert_array_equal(got.p, ref.p)
        np.testing.assert_array_equal(got.effect, ref.effect)
    # the paired test, by contrast, moves with the alignment: the flaw the default avoids
    paired = {pairwise_tests({"a": a, "b": b[np.random.default_rng(k).permutation(40)]}, paired=True).p[0, 1]
              for k in range(20)}
    assert len(paired) > 1


def test_vargha_delaney_brute_force():
    a, b = np.array([1.0, 2.0, 2.0, 5.0]), np.array([2.0, 3.0, 0.5])
    brute = np.mean([(x > y) + 0.5 * (x == y) for x in a for y in b])
    assert vargha_delaney(a, b) == pytest.approx(brute)


def test_too_few_runs_cannot_separate_and_says_so():
    # 3 methods x 2 runs: the most extreme ordering has p = 1/C(4,2) = 1/6; Holm over 6 pairs -> 1
    assert min_p_one_sided(2, 2, paired=False) == pytest.approx(1 / 6)
    assert min_p_one_sided(5, 5, paired=True) == pytest.approx(1 / 32)
    pw = pairwise_tests({"a": np.array([1.0, 2.0]), "b": np.array([5.0, 6.0]), "c": np.array([9.0, 9.5])})
    assert not pw.resolvable() and pw.floor == 1.0
    big = pairwise_tests({"a": np.arange(10.0), "b": np.arange(10.0) + 20})
    assert big.resolvable() and big.p_holm[1, 0] < 0.05


def test_friedman_wilcoxon_posthoc_and_cd_agree():
    """3 methods over 10 tasks: c beats a and b everywhere, a and b trade places. The post-hoc
    decisions (Wilcoxon + Holm), the bold set and the CD diagram's bars say the same thing."""
    rng = np.random.default_rng(3)
    base = rng.uniform(40, 90, size=10)
    noise = rng.normal(0, 0.2, size=(10, 2))
    s = np.column_stack([base + noise[:, 0], base + noise[:, 1], base + 2.0])
    fr = friedman(s, ["a", "b", "c"])
    ref = sps.wilcoxon(s[:, 2] - s[:, 0]).pvalue
    assert fr.p_posthoc[0, 2] == pytest.approx(min(1.0, ref * 2), rel=1e-9) or fr.p_posthoc[0, 2] >= ref
    assert fr.different[0, 2] and fr.different[1, 2] and not fr.different[0, 1]
    assert fr.best_and_ties() == {"c"}
    groups = cd_groups(fr.avg_ranks, fr.cd, fr.different)
    order = [fr.methods[i] for i in np.argsort(fr.avg_ranks, kind="stable")]
    joined = [{order[i] for i in range(lo, hi + 1)} for lo, hi in groups]
    assert joined == [{"a", "b"}]  # the bar joins exactly the pair the table leaves unseparated
    # every pair inside a bar is not separated; every pair not separated shares a bar
    for i, m in enumerate(fr.methods):
        for j, n in enumerate(fr.methods):
            if i < j:
                assert (not fr.different[i, j]) == any({m, n} <= g for g in joined)
    # 3 tasks cannot separate anything with Wilcoxon: min two-sided p = 0.25
    few = friedman(s[:3], ["a", "b", "c"])
    assert not few.resolvable() and not few.different.any() and few.best_and_ties() == {"a", "b", "c"}
    nem = friedman(s, ["a", "b", "c"], posthoc="nemenyi")
    assert nem.different[0, 2] == (abs(nem.avg_ranks[0] - nem.avg_ranks[2]) >= nem.cd)


def test_iqm_and_stratified_bootstrap_are_deterministic():
    v = np.arange(1.0, 9.0)  # middle half: 3, 4, 5, 6
    assert float(iqm(v)) == pytest.approx(4.5)
    groups = [np.random.default_rng(1).normal(0, 1, 50), np.random.default_rng(2).normal(5, 1, 30)]
    one = stratified_bootstrap_ci(groups, iqm, seed=0, reps=300)
    assert one == stratified_bootstrap_ci(groups, iqm, seed=0, reps=300)
    assert one[1] <= one[0] <= one[2]


def test_tests_scale_linearly():
    """scipy's O(n log n) routines: 5,000 runs per method stay far below a second."""
    import time

    rng = np.random.default_rng(0)
    samples = {m: np.round(rng.normal(93.7, 0.3, 5000), 2) for m in ("a", "b")}
    t0 = time.perf_counter()
    pairwise_tests(samples)
    assert time.perf_counter() - t0 < 1.0


def test_mann_whitney_matches_scipy_exact_and_asymptotic():
    """Our numpy Mann-Whitney equals scipy's method="auto" (exact below 9 values without ties,
    normal approximation with tie and continuity corrections otherwise)."""
    from reports.stats import mann_whitney, midranks

    rng = np.random.default_rng(0)
    for trial in range(150):
        n1, n2 = int(rng.integers(1, 12)), int(rng.integers(1, 25))
        a, b = rng.normal(size=n1), rng.normal(0.5, 1, size=n2)
        if trial % 3 == 0:
            a, b = np.round(a, 1), np.round(b, 1)  # ties
        for alt in ("greater", "less"):
            ref = sps.mannwhitneyu(a, b, alternative=alt).pvalue
            assert mann_whitney(a, b, alt == "greater") == pytest.approx(ref, rel=1e-12, abs=1e-300)
        pooled = np.concatenate([a, b])
        np.testing.assert_allclose(midranks(pooled)[0], sps.rankdata(pooled))
