"""The run store: one writer per --out (a second compare stops at once, naming the holder; a stale
lock is taken over), readers never lock, and the layout follows rules, never the clock."""
from __future__ import annotations

import json
import os
import time

import pytest

from harness.budget import Budget
from harness.cli import main
from harness.store import LOCK_NAME, StoreLockedError, StudyLock


def test_a_second_writer_stops_at_once_naming_the_holder(tmp_path, capsys):
    held = StudyLock(tmp_path / "runs").acquire()
    try:
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            StudyLock(tmp_path / "runs").acquire()
        code = main(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods", "random_search",
                     "--seeds", "0:1", "--budget-evals", "5", "--out", str(tmp_path / "runs"), "--data", str(tmp_path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "being written by another compare" in err[0], err
    finally:
        held.release()
    assert not (tmp_path / "runs" / LOCK_NAME).exists()
    StudyLock(tmp_path / "runs").acquire().release()  # free again


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, caplog):
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999_999_999, "host": "elsewhere", "since": "then"}))
    (tmp_path / "x.h5.999999999-beef.part").write_bytes(b"half")  # a dead writer's temporary
    with StudyLock(tmp_path):
        assert "taking over the lock" in caplog.text and "999999999" in caplog.text
        assert not (tmp_path / "x.h5.999999999-beef.part").exists()


def test_a_folder_flag_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(Exception, match="is a file, not a folder"):
        StudyLock(tmp_path / "f").acquire()


def _layout(out):
    """Each slot's stored runs as (file kind, seeds in it); pack names carry a random token."""
    from harness.store import scan

    found = []
    for path, runs, _ in scan(out):
        kind = "pack" if path.name.startswith("pack-") else path.suffix
        found.append((str(path.parent.relative_to(out)), kind, tuple(sorted(r.slot[3] for r in runs))))
    return sorted(found)


@pytest.mark.parametrize("factor", [0.1, 10.0])
def test_the_clock_decides_nothing_about_storage(nb201_data, harness_cache, tmp_path, monkeypatch, factor):
    """The same study on a fast and a slowed clock (every perf_counter reading scaled) lays out and
    records identically, apart from the measured wall column."""
    from harness.runner import CompareSpec, compare
    from harness.store import scan

    def spec(out):
        return CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=("random_search", "regularized_evolution"),
                           seeds=tuple(range(4)), budget=Budget(max_cost_s=12000), out=out, data=str(nb201_data),
                           cache=str(harness_cache), workers=1)

    compare(spec(tmp_path / "ref"))
    real = time.perf_counter
    t0 = real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + (real() - t0) * factor)
    compare(spec(tmp_path / "scaled"))
    monkeypatch.undo()
    assert _layout(tmp_path / "ref") == _layout(tmp_path / "scaled")

    def rows(out):
        return {r.slot: (r.trajectory.codes.tobytes(), r.trajectory["cum_cost_s"].tobytes())
                for _, runs, _ in scan(out) for r in runs}

    assert rows(tmp_path / "ref") == rows(tmp_path / "scaled")


def test_a_reader_sees_a_run_in_progress_without_disturbing_it(tmp_path):
    """load_runs(include_running=True) reads a live journal as plain bytes (no HDF5 lock), and the
    writer goes on appending after the read."""
    import numpy as np

    from harness.identity import stamp
    from harness.recorder import Recorder, journal_path
    from reports.load import load_runs

    attrs = stamp({"method": "m", "benchmark": "b", "dataset": "d", "seed": 0, "cost_unit": "measured_s",
                   **Budget(max_evals=10).as_attrs()})
    path = tmp_path / "b" / "d" / "m" / "seed-0.h5"
    rec = Recorder(path, 6, attrs, durable=True)
    row = dict(arch_index=1, fidelity=12.0, cost_s=1.0, cum_cost_s=1.0, epochs=1.0, val=50.0, report_valid=51.0,
               report_test=52.0, wall_s=0.1, kind=0)
    rec.append(np.zeros(6, np.int16), row)
    with StudyLock(tmp_path):  # the writer holds the store
        live = load_runs(tmp_path, include_running=True)
        assert [r.final_test for r in live.runs] == [52.0]
        rec.append(np.ones(6, np.int16), {**row, "cum_cost_s": 2.0, "val": 60.0, "report_test": 62.0})
        rec.close(complete=True)
    assert not journal_path(path).exists()
    assert [r.final_test for r in load_runs(tmp_path).runs] == [62.0]
