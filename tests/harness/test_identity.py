"""A run's identity covers everything that determines its result; a store never reuses a run of
another identity (it says which keys differ, in one line), whatever encoder wrote the run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from harness.budget import Budget
from harness.cli import main
from harness.errors import ResumeError
from harness.identity import canonical, check_same, differing, identity_of, run_id, stamp
from harness.packs import read_pack, write_pack
from harness.recorder import Recorder, read_trajectory
from harness.trajectory import Trajectory


def test_one_canonical_encoding_whatever_the_value_types():
    a = {"x": np.int64(3), "y": (1.5, np.float32(2.0)), "z": {"b": None, "a": [np.bool_(True)]}}
    b = {"z": {"a": [True], "b": None}, "y": [1.5, 2.0], "x": 3}
    assert canonical(a) == canonical(b)
    assert run_id(identity_of(a)) == run_id(identity_of(b))
    assert canonical({"v": float("nan")}) == '{"v":"nan"}'  # no bare NaN in JSON
    # what only describes a run is not identity
    assert run_id(identity_of({**b, "package_version": "9", "spent_cost_s": 1.0, "status": "x"})) == run_id(
        identity_of(b))


def test_identity_survives_every_store_format(tmp_path):
    attrs = stamp({"method": "m", "config": {"p": 2, "q": [1, 2]}, "seed": 3, "benchmark": "b", "dataset": "d",
                   "constraint": None, "budget_max_cost_s": 12000.0})
    traj = Trajectory.empty(6, dict(attrs))
    rec = Recorder(tmp_path / "own.h5", 6, attrs)
    rec.close(complete=True)
    write_pack(tmp_path / "pack.h5", [traj])
    for stored in (read_trajectory(tmp_path / "own.h5").attrs, read_pack(tmp_path / "pack.h5")[0][1].attrs):
        check_same("x", stored, attrs)  # the same run, read back from either format
        assert stored["run_id"] == attrs["run_id"]
        assert run_id(json.loads(stored["identity"])) == attrs["run_id"]


def test_a_different_run_is_named_by_its_differing_keys():
    a = stamp({"method": "m", "seed": 1, "report_test_key": "cifar10/test_acc/hp200"})
    b = stamp({"method": "m", "seed": 1, "report_test_key": "cifar10-valid/test_acc/hp200"})
    assert differing(json.loads(a["identity"]), json.loads(b["identity"])) == ["report_test_key"]
    with pytest.raises(ResumeError) as e:
        check_same("where.h5", a, b)
    msg = str(e.value)
    assert "\n" not in msg and "report_test_key" in msg and "cifar10-valid/test_acc/hp200" in msg


def _compare(out, *extra):
    return main(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid", "--methods", "random_search",
                 "--seeds", "0:2", "--budget-evals", "20", "--out", str(out), "--workers", "1", *extra])


def test_a_benchmark_option_is_part_of_the_identity(nb201_data, harness_cache, tmp_path, capsys, monkeypatch):
    """The issue's reproduction: the same study with --option report_test=same into the same --out
    used to print '2 runs (0 new)' and report the old column."""
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    assert _compare(tmp_path / "runs") == 0
    capsys.readouterr()
    assert _compare(tmp_path / "runs", "--option", "report_test=same") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a different run" in err[0] and "report_test_key" in err[0], err
    # a fresh --out runs it, and the first study is still whole
    assert _compare(tmp_path / "other", "--option", "report_test=same") == 0
    assert _compare(tmp_path / "runs") == 0
    assert "2 runs (0 new)" in capsys.readouterr().err


def test_a_training_option_is_part_of_the_identity(tmp_path):
    """A stored nb201-train run with C=4 is not reused by a study asking for C=8 (no training needed:
    the store is checked before any work)."""
    pytest.importorskip("torch")
    from harness.run import run_attrs
    from harness.runner import CompareSpec, compare
    from harness.store import run_file

    def spec(c):
        return CompareSpec(benchmark="nb201-train", datasets=("digits",), methods=("random_search",), seeds=(0,),
                           budget=Budget(max_evals=1), out=tmp_path / "runs", cache=str(tmp_path / "cache"),
                           benchmark_options={"C": c, "N": 1, "train_images": 32, "threads": 1})

    from harness.runner import make_tasks

    s4 = spec(4)
    task = make_tasks(s4)["digits"]
    attrs = run_attrs("random_search", task, s4.budget, 0, None, None)
    rec = Recorder(run_file(s4.out, "nb201-train", "digits", "random_search", 0), task.space.n_dims, attrs)
    rec.close(complete=True)
    assert compare(s4)[0]["skipped"]  # the same run: reused
    with pytest.raises(ResumeError, match="net") as e:
        compare(spec(8))
    assert "\n" not in str(e.value)
