from __future__ import annotations

import numpy as np
import pytest

from harness.errors import DataError
from reports.aggregate import (
    anytime_curves,
    average_ranks,
    finals_from_records,
    finals_from_runs,
    log_grid,
    mean_ci,
    median_iqr,
    paired_matrix,
    ranks_over_time,
    step_interpolate,
)
from reports.load import load_runs
from tests.report_fixtures import write_run, write_study


def test_step_interpolate_takes_last_recorded_value_at_or_before_budget():
    x = np.array([10.0, 25.0, 25.0, 40.0])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    grid = np.array([5.0, 10.0, 24.9, 25.0, 39.0, 40.0, 1e9])
    got = step_interpolate(x, y, grid)
    np.testing.assert_array_equal(got, [np.nan, 1.0, 1.0, 3.0, 3.0, 4.0, 4.0])


def test_step_interpolate_empty_run_is_all_nan():
    assert np.isnan(step_interpolate(np.array([]), np.array([]), np.array([1.0, 2.0]))).all()


def test_log_grid_rejects_nonpositive_start():
    with pytest.raises(DataError, match="start"):
        log_grid(0.0, 10.0)
    g = log_grid(1.0, 100.0, 3)
    np.testing.assert_allclose(g, [1.0, 10.0, 100.0])


def test_mean_ci_matches_t_interval():
    v = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
    b = mean_ci(v)
    # mean 2, sd 1, n 3: half width = t_{0.975, 2} / sqrt(3) = 4.302653 / 1.732051
    np.testing.assert_allclose(b.center, [2.0, 10.0])
    np.testing.assert_allclose(b.hi - b.center, [4.302653 / np.sqrt(3), 0.0], rtol=1e-6)
    one = mean_ci(v[:1])
    np.testing.assert_array_equal(one.lo, one.hi)


def test_median_iqr():
    b = median_iqr(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]))
    np.testing.assert_allclose([b.center[0], b.lo[0], b.hi[0]], [3.0, 2.0, 4.0])


def test_average_ranks_ties_and_nan_rows():
    s = np.array([[3.0, 1.0, 2.0],
                  [5.0, 5.0, 1.0],
                  [np.nan, 0.0, 0.0]])
    # row 1 ranks (best = 1): 1, 3, 2; row 2: 1.5, 1.5, 3; NaN row dropped
    np.testing.assert_allclose(average_ranks(s), [1.25, 2.25, 2.5])
    np.testing.assert_allclose(average_ranks(s, higher_is_better=False), [2.75, 1.75, 1.5])


def test_anytime_curves_and_ranks_over_time(tmp_path):
    write_study(tmp_path, seeds=3)
    rs = load_runs(tmp_path)
    cur = anytime_curves(rs, "test", n_points=50)
    assert cur.grid[-1] == pytest.approx(100.0) and len(cur.grid) == 50
    band = cur.bands[(("nb201", "cifar100"), "rea")]
    assert band.n == 3
    assert np.all(np.diff(band.center[~np.isnan(band.center)]) >= 0)  # incumbents only improve
    reg = anytime_curves(rs, "test", regret=True, n_points=50)
    assert np.nanmin(reg.bands[(("nb201", "cifar100"), "rea")].center) >= 0


def test_curve_exact_budget_value(tmp_path):
    write_run(tmp_path, "rs", "c10", 0, [30, 30, 30], [1, 3, 2], tests=[10, 30, 20])
    write_run(tmp_path, "rs", "c10", 1, [50, 45], [5, 1], tests=[50, 10])
    cur = anytime_curves(load_runs(tmp_path), "test", n_points=5)
    # grid 30 .. 100; at 100 run 0 has incumbent test 30, run 1 has 50
    band = cur.bands[(("nb201", "c10"), "rs")]
    assert band.center[-1] == pytest.approx(40.0)
    assert np.isnan(band.center[0])  # run 1 has no incumbent at cost 30


def test_finals_from_records_and_pairing():
    recs = [{"method": m, "dataset": "d", "seed": s, "report_valid": 1.0 + s, "report_test": 2.0 + s,
             "cost_s": 10.0} for m in ("a", "b") for s in (1, 0)]
    f = finals_from_records(recs)
    np.testing.assert_array_equal(f.values("d", "a", "test"), [2.0, 3.0])  # ordered by seed
    assert paired_matrix(f, "d", ["a", "b"], "test").shape == (2, 2)
    with pytest.raises(DataError, match="report_test"):
        finals_from_records([{"method": "a", "dataset": "d", "seed": 0, "report_valid": 1, "cost_s": 1}])
    unpaired = finals_from_records(recs[:3])
    assert paired_matrix(unpaired, "d", ["a", "b"], "test") is None


def test_finals_from_runs(tmp_path):
    write_run(tmp_path, "rs", "c10", 0, [30, 30, 30], [1, 3, 2], tests=[10, 30, 20])
    f = finals_from_runs(load_runs(tmp_path))
    assert f.tasks == ["c10"] and f.test.tolist() == [30.0] and f.valid.tolist() == [4.0]
    assert f.cost.tolist() == [90.0]


def test_ranks_over_time_ranks_mean_curves_per_task(tmp_path):
    """Seeds of different methods share nothing, so each task is one block: its mean curves."""
    write_run(tmp_path, "a", "c10", 0, [10, 10], [5, 5], tests=[50, 50])
    write_run(tmp_path, "b", "c10", 0, [10, 10], [1, 9], tests=[40, 60])
    write_run(tmp_path, "a", "c10", 1, [10, 10], [5, 5], tests=[50, 50])
    write_run(tmp_path, "b", "c10", 1, [10, 10], [9, 9], tests=[30, 30])
    write_run(tmp_path, "b", "c10", 2, [10, 10], [0, 0], tests=[20, 20])
    ranks, block = ranks_over_time(load_runs(tmp_path), np.array([5.0, 10.0, 20.0]))
    assert block == "1 task(s) (mean curves)"
    assert np.isnan(ranks[:, 0]).all()  # no incumbent yet
    # means at 10: a 50, b (40+30+20)/3 = 30; at 20: a 50, b (60+30+20)/3 = 36.7
    np.testing.assert_allclose(ranks[:, 1:], [[1.0, 1.0], [2.0, 2.0]])
    # medians at 20: a 50, b 30 -> same order; a second task where b wins splits the average
    write_run(tmp_path, "a", "c100", 0, [10], [1], tests=[10])
    write_run(tmp_path, "b", "c100", 0, [10], [1], tests=[90])
    ranks, block = ranks_over_time(load_runs(tmp_path), np.array([20.0]), median=True)
    assert block == "2 task(s) (median curves)"
    np.testing.assert_allclose(ranks[:, 0], [1.5, 1.5])
