"""TrainingBenchmark: a real 2-architecture digits evaluation, the cache, lazy torch, the preset."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.training.cache import TrainCache
from harness.errors import HarnessError
from harness.protocols import Task
from harness.registry import BENCHMARKS

REPO = Path(__file__).resolve().parents[3]
OPTS = {"C": 8, "N": 1, "train_images": 256, "recipe_changes": {"epochs": 2, "batch_size": 32},
        "threads": 1}


def test_discovery_does_not_import_torch() -> None:
    code = ("import sys; from harness.registry import BENCHMARKS; from harness.studies import STUDIES; "
            "BENCHMARKS.names(); STUDIES.names(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


def test_digits_evaluation_and_cache(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    task = BENCHMARKS.get("nb201-train")("digits", data=None, cache=tmp_path, **OPTS)
    assert isinstance(task, Task) and task.fidelities == (1.0, 2.0)
    codes = task.space.parse(["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                              "nor_conv_3x3~1|nor_conv_3x3~2|",
                              "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    out = task.evaluate(codes, 2.0)
    assert out.val[0] > out.val[1] + 10  # the all-'none' cell cannot learn
    assert (out.cost_s > 0).all() and out.epochs.tolist() == [2.0, 2.0]
    assert ((0 <= out.report_test) & (out.report_test <= 100)).all()
    attrs = task.attrs()
    assert attrs["cost_unit"] == "measured_s" and attrs["benchmark"] == "nb201-train" and attrs["n_train"] == 256
    # a new process (a fresh task on the same cache) answers from the file without training
    again = BENCHMARKS.get("nb201-train")("digits", data=None, cache=tmp_path, **OPTS)
    t0 = time.perf_counter()
    rep = again.evaluate(codes, 2.0)
    assert time.perf_counter() - t0 < 0.5
    for field in ("val", "cost_s", "report_test"):
        assert np.array_equal(getattr(rep, field), getattr(out, field))
    assert len(TrainCache(task.cache.path)) == 2


def test_unknown_option_is_a_one_line_error(tmp_path: Path) -> None:
    from harness.options import factory_specs, validate

    # checked when a study is built, against the factory's declared keywords (harness/options.py)
    with pytest.raises(HarnessError, match="--option epochs: unknown option; options: .*accum"):
        validate(factory_specs(BENCHMARKS.get("nb201-train")), {"epochs": 3}, "--option {}")


def test_default_preset_is_registered() -> None:
    from harness.studies import STUDIES, read_study

    p = STUDIES.get("default")
    assert p == read_study(REPO / "benchmarks" / "studies" / "default.toml")
    assert p["benchmark"] == "nb201-train" and len(p["seeds"]) >= 5
    assert set(p["methods"]) == {"random_search", "regularized_evolution"}


def test_darts_training_with_aux_head_and_drop_path(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    task = BENCHMARKS.get("darts-train")(
        "synthetic", data=None, cache=tmp_path, C=4, layers=3, auxiliary=True, threads=1,
        recipe_changes={"epochs": 1, "batch_size": 32, "aux_weight": 0.4, "drop_path": 0.2, "cutout": 2,
                        "grad_clip": 5.0, "label_smoothing": 0.1})
    codes = task.space.sample(np.random.default_rng(0), 1)
    out = task.evaluate(codes, 1.0)
    assert 0 <= out.val[0] <= 100 and out.cost_s[0] > 0 and task.attrs()["space"] == "darts"


def test_default_preset_runs_through_compare(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from harness.budget import Budget
    from harness.recorder import read_trajectory
    from harness.runner import CompareSpec, compare

    from harness.studies import STUDIES

    p = STUDIES.get("default")
    options = {**p["options"], "train_images": 64, "recipe_changes": {"epochs": 1}}
    spec = CompareSpec(benchmark=p["benchmark"], datasets=("digits",), methods=tuple(p["methods"]), seeds=(0,),
                       budget=Budget(max_evals=2), out=tmp_path / "runs", benchmark_options=options,
                       cache=str(tmp_path / "cache"), workers=1)
    records = compare(spec)
    assert [r["n_evals"] for r in records] == [2, 2]
    traj = read_trajectory(records[0]["path"])
    assert traj.attrs["cost_unit"] == "measured_s" and (traj["cost_s"] > 0).all()
    assert np.isfinite(traj["report_test"]).all() and (traj["fidelity"] == 1.0).all()
