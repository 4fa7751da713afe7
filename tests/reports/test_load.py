from __future__ import annotations

import logging

import pytest

from harness.errors import DataError
from reports.load import IncompatibleRunsError, NoRunsError, load_runs
from tests.report_fixtures import write_run, write_study


def test_load_groups_by_attrs_not_paths(tmp_path):
    write_study(tmp_path, seeds=2)
    # a run filed under a misleading folder still counts by its attributes
    p = write_run(tmp_path / "elsewhere", "rs", "cifar100", 7, [1, 2], [50, 51])
    assert "elsewhere" in str(p)
    rs = load_runs(tmp_path)
    assert rs.methods == ["rea", "rs"]
    assert rs.tasks == [("nb201", "cifar10-valid"), ("nb201", "cifar100")]
    assert len(rs.select("rs", ("nb201", "cifar100"))) == 3
    assert rs.budget == (-1.0, 100.0, -1.0) and rs.cost_unit == "simulated_s"


def test_truncated_and_running_files_are_skipped_with_warning(tmp_path, caplog):
    write_run(tmp_path, "rs", "c10", 0, [1, 2], [50, 51])
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 20)
    write_run(tmp_path, "rs", "c10", 1, [1, 2], [50, 51], complete=False)
    with caplog.at_level(logging.WARNING):
        rs = load_runs(tmp_path)
    assert len(rs.runs) == 1
    assert "broken.h5" in caplog.text and "seed-1.journal" in caplog.text
    assert len(rs.skipped) == 2
    assert len(load_runs(tmp_path, include_running=True).runs) == 2


def test_empty_dir_and_missing_dir(tmp_path):
    with pytest.raises(NoRunsError, match="no usable trajectory"):
        load_runs(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_runs(tmp_path / "nope")


def test_mixed_units_budgets_duplicates(tmp_path):
    write_run(tmp_path / "a", "rs", "c10", 0, [1], [50])
    write_run(tmp_path / "b", "rs", "c10", 1, [1], [50], cost_unit="measured_s")
    with pytest.raises(IncompatibleRunsError, match="cost units") as e:
        load_runs(tmp_path)
    assert "\n" not in str(e.value)
    write_run(tmp_path / "b", "rs", "c10", 1, [1], [50], budget_max_cost_s=50.0)
    with pytest.raises(IncompatibleRunsError, match="budgets.*max_cost_s=50"):
        load_runs(tmp_path)
    (tmp_path / "b" / "nb201" / "c10" / "rs" / "seed-1.h5").unlink()
    write_run(tmp_path / "b", "rs", "c10", 0, [1], [50])
    with pytest.raises(IncompatibleRunsError, match="seed 0"):
        load_runs(tmp_path)
