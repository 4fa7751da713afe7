from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from reports.stats import best_and_ties, cd_groups, friedman, holm, nemenyi_cd, pairwise_tests


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
    assert cd_groups(np.array([1.0, 1.8, 2.6]), cd=1.0) == [(0, 1), (1, 2)]
    assert cd_groups(np.array([1.0, 3.0]), cd=1.0) == []


def test_pairwise_unpaired_and_paired():
    a = np.arange(10.0) + 5
    b = np.arange(10.0)
    pw = pairwise_tests({"a": a, "b": b}, paired=False)
    ref = sps.mannwhitneyu(a, b, alternative="greater").pvalue
    assert pw.p[0, 1] == pytest.approx(ref)
    assert pw.p_holm[0, 1] == pytest.approx(min(1, 2 * ref))
    assert pw.p[1, 0] > 0.5
    assert best_and_ties({"a": a, "b": b}, pw) == {"a"}
    pp = pairwise_tests({"a": a, "b": b}, paired=True)
    assert pp.p[0, 1] == pytest.approx(1 / 1024)  # all ten differences positive
    assert "Wilcoxon" in pp.test
    same = pairwise_tests({"a": b, "b": b.copy()}, paired=True)
    assert same.p[0, 1] == 1.0
    assert best_and_ties({"a": b, "b": b.copy()}, same) == {"a", "b"}


def test_signed_rank_exact_matches_scipy_without_ties_and_handles_ties():
    from reports.stats import signed_rank_exact

    d = np.array([0.3, -0.1, 0.8, 1.2, 0.5, -0.45, 0.9, 0.05])
    for greater in (True, False):
        ref = sps.wilcoxon(d, alternative="greater" if greater else "less", method="exact").pvalue
        assert signed_rank_exact(d, greater) == pytest.approx(ref)
    # ten equal positive differences: only the all-positive sign pattern reaches T = 55
    assert signed_rank_exact(np.full(10, 0.5)) == pytest.approx(1 / 1024)
    # zeros are dropped: [1, 1, 0] behaves like [1, 1] -> p = 1/4
    assert signed_rank_exact(np.array([1.0, 1.0, 0.0])) == pytest.approx(0.25)
    assert signed_rank_exact(np.zeros(4)) == 1.0
