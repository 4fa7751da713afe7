"""``--isolate``: the method in a fresh process of its own. Its trajectory is the in-process one bit
for bit, every probe of issue 19 item 3 finds nothing there (not even ``gc`` or the benchmark's own
loader), and a child that fails or dies is one line with the run left resumable."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.budget import Budget
from harness.cli import build_parser
from harness.cli.compare import spec_from_args
from harness.config import CACHE_ENV, DATA_ENV
from harness.errors import HarnessError, ResumeError
from harness.isolation import IsolationError
from harness.journal import read_journal
from harness.recorder import Recorder, journal_path, read_trajectory
from harness.registry import METHODS
from harness.run import run_one
from harness.trajectory import COLUMNS
from tests.harness.sealed_probes import COST, Cheater, ProbeTask, Stopper

BUDGET = Budget(max_cost_s=12000)


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> None:
    METHODS.discover()
    monkeypatch.setitem(METHODS._items, "cheater", Cheater)  # registered for this test only
    monkeypatch.setitem(METHODS._items, "stopper", Stopper)


def _same_run(a: Path | str, b: Path | str) -> None:
    """Identical rows (wall-clock seconds aside) and attributes (``isolated`` aside)."""
    x, y = read_trajectory(a), read_trajectory(b)
    np.testing.assert_array_equal(x.codes, y.codes)
    for k in COLUMNS:
        if k != "wall_s":
            assert x.columns[k].tobytes() == y.columns[k].tobytes(), k
    drop = {"isolated", "digest"}  # the digest covers the wall-clock column too
    assert {k: v for k, v in x.attrs.items() if k not in drop} == {k: v for k, v in y.attrs.items() if k not in drop}


@pytest.mark.parametrize("method", ["regularized_evolution"])
def test_isolated_run_is_the_in_process_run_bit_for_bit(tmp_path: Path, method: str) -> None:
    task = ProbeTask()
    inproc = run_one(method, task, BUDGET, 7, tmp_path / "in.h5")
    isolated = run_one(method, task, BUDGET, 7, tmp_path / "iso.h5", isolate=True)
    assert read_trajectory(isolated["path"]).attrs["isolated"] in (True, 1)
    _same_run(inproc["path"], isolated["path"])


def test_every_probe_finds_nothing_in_an_isolated_process(tmp_path: Path, probes: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    data, cache = tmp_path / "data", tmp_path / "cache"
    for folder in (data, cache):
        folder.mkdir()
        (folder / "table.h5").write_bytes(b"test accuracies")
    monkeypatch.setenv(DATA_ENV, str(data))
    monkeypatch.setenv(CACHE_ENV, str(cache))
    config = {"probes": "all", "data": str(data), "cache": str(cache)}
    out = run_one("cheater", ProbeTask(), BUDGET, 3, tmp_path / "runs" / "c.h5", config, isolate=True)
    traj = read_trajectory(out["path"])
    found = json.loads(traj.attrs["probes"])
    for name in ("attr _task", "getattr computed", "vars", "__dict__", "reset spent", "refund"):
        assert str(found[name]).startswith("refused"), (name, found[name])
    for name in ("make", "h5py", "open data", "open cache", "parent memory"):
        assert str(found[name]).startswith("refused: PermissionError"), (name, found[name])
    assert found["walk"] == found["gc"] == found["frames"] == found["traceback"] == found["environment"] == []
    assert len(traj) == 108 and traj.attrs["spent_cost_s"] == 108 * COST and traj.attrs["ended"] == "budget"
    assert traj.attrs["method"] == "cheater" and traj.attrs["seed"] == 3 and traj.attrs["status"] == "complete"


def test_the_same_probes_do_reach_the_table_in_process(tmp_path: Path, probes: None, nb201_data: Path,
                                                        harness_cache: Path, nb201_table_path: Path) -> None:
    """The control: without --isolate the non-attribute probes work, so the test above can fail."""
    config = {"probes": "all", "data": str(nb201_data), "cache": str(harness_cache), "queries": 1}
    out = run_one("cheater", ProbeTask(), BUDGET, 3, tmp_path / "c.h5", config)
    found = json.loads(read_trajectory(out["path"]).attrs["probes"])
    assert found["make"] == "NB201Task" and found["h5py"].startswith("read")
    assert "ProbeTask" in found["gc"] and "MeteredEvaluator" in found["frames"]
    assert found["walk"] == []  # the attribute walk stays sealed in-process too


class MeasuredProbeTask(ProbeTask):
    """Costs declared measured: its runs are journaled row by row (docs/storage.md), so a run cut by
    a dying child is resumed by replay."""

    def attrs(self) -> dict:
        return {**super().attrs(), "cost_unit": "measured_s"}


def test_a_child_that_dies_is_one_line_and_the_run_resumes(tmp_path: Path, probes: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    task, path = MeasuredProbeTask(), tmp_path / "s.h5"
    monkeypatch.setenv("SEALED_PROBE_FAIL", "exit")
    with pytest.raises(IsolationError, match=r"died \(exit code 3\) after 5 evaluation") as info:
        run_one("stopper", task, BUDGET, 1, path, isolate=True)
    assert "\n" not in str(info.value)
    cut = read_journal(journal_path(path))
    assert not path.exists() and len(cut.trajectory) == 5
    monkeypatch.delenv("SEALED_PROBE_FAIL")
    changed = tmp_path / "changed.h5"  # the same run with another first row: replay catches it, across processes
    rec = Recorder(changed, 6, cut.attrs, durable=True)
    t = cut.trajectory
    for i in range(len(t)):
        rec.append((t.codes[i] + (i == 0)) % 5, {k: t[k][i] for k in COLUMNS})
    rec.close(complete=False)
    with pytest.raises(ResumeError, match="resume mismatch at row 0"):
        run_one("stopper", task, BUDGET, 1, changed, isolate=True)
    run_one("stopper", task, BUDGET, 1, path, isolate=True)  # replays the 5, then goes on
    run_one("stopper", task, BUDGET, 1, tmp_path / "whole.h5")
    _same_run(path, tmp_path / "whole.h5")


@pytest.mark.parametrize("how, message", [("raise", r"stopper raised ValueError in its isolated process: boom"),
                                          ("harness", r"^stopper needs option x$")])
def test_method_errors_cross_as_one_line(tmp_path: Path, probes: None, monkeypatch: pytest.MonkeyPatch,
                                         how: str, message: str) -> None:
    monkeypatch.setenv("SEALED_PROBE_FAIL", how)
    with pytest.raises(IsolationError, match=message):
        run_one("stopper", ProbeTask(), BUDGET, 1, tmp_path / "s.h5", isolate=True)
    assert list(tmp_path.iterdir()) == []  # nothing finished is claimed: the run starts again


class _TrainingTask(ProbeTask):
    def search_data(self) -> None: ...
    def final_test(self, model: object, recipe: object) -> tuple[float, float]: ...


def test_models_handed_back_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(IsolationError, match="cannot hand .* trained model back across processes"):
        run_one("random_search", _TrainingTask(), BUDGET, 1, tmp_path / "t.h5", isolate=True)


def test_compare_flag_sets_the_spec() -> None:
    args = build_parser().parse_args(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid",
                                      "--methods", "random_search", "--seeds", "0", "--budget-evals", "5",
                                      "--isolate"])
    assert spec_from_args(args, {}).isolate is True
    args = build_parser().parse_args(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid",
                                      "--methods", "random_search", "--seeds", "0", "--budget-evals", "5"])
    assert spec_from_args(args, {}).isolate is False
    assert issubclass(IsolationError, HarnessError)
