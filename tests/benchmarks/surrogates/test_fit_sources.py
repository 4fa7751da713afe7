"""`surrogate fit` on each kind of source (a training cache, a folder of runs), its report files,
and bad input as one line with exit 2."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.spaces.nb201 import NB201Space
from harness.cli import main

pytest.importorskip("xgboost", reason="surrogates need xgboost (the surrogate extra)")


def test_fit_on_a_training_cache_writes_the_file_and_its_figures(tmp_path):
    from benchmarks.surrogates.model import load
    from benchmarks.training.cache import TrainCache, cache_key

    space = NB201Space()
    cache = TrainCache(tmp_path / "train.sqlite")
    codes = space.sample(np.random.default_rng(0), 80)
    for c in codes:
        ident = {"space": "nb201", "arch": space.format(c)[0], "dataset": "digits", "epochs": 4}
        val = 50 + 5 * float((c == 3).sum())
        cache.put(cache_key(ident), {"val": val, "test": val - 1, "cost_s": 10 + float(c.sum()), "epochs": 4,
                                     "train_s": 1.0}, meta=json.dumps(ident, sort_keys=True))
    out = tmp_path / "s.zip"
    assert main(["surrogate", "fit", "--from", str(cache.path), "--space", "nb201", "--out", str(out),
                 "--members", "2", "--trees", "20"]) == 0
    model = load(out)
    assert model.manifest["dataset"] == "digits" and model.fidelity == 4.0
    assert set(model.targets) == {"val", "cost_s", "report_valid", "report_test"}
    report = json.loads((tmp_path / "s.zip.report.json").read_text())
    assert report["targets"]["val"]["kendall_tau"] > 0.5 and set(report["targets"]["val"]["coverage"]) == \
        {"0.5", "0.8", "0.9", "0.95"}
    assert (tmp_path / "s.zip.calibration.png").stat().st_size > 1000 and (tmp_path / "s.zip.report.md").exists()


def test_fit_on_a_folder_of_runs(tiny_surrogate, tmp_path):
    assert main(["compare", "--benchmark", "surrogate", "--data", str(tiny_surrogate), "--dataset", "cifar10-valid",
                 "--methods", "random_search", "--seeds", "0:3", "--budget-evals", "20",
                 "--out", str(tmp_path / "runs")]) == 0
    out = tmp_path / "again.zip"
    assert main(["surrogate", "fit", "--from", str(tmp_path / "runs"), "--space", "nb201", "--out", str(out),
                 "--members", "1", "--trees", "10"]) == 0
    from benchmarks.surrogates.model import load

    assert "60 queries" in load(out).manifest["source"]


@pytest.mark.parametrize("args, msg", [(["--space", "nope"], "unknown surrogate space"),
                                       (["--members", "0"], "--members must be >= 1"),
                                       (["--kind", "odd"], "--kind must be one of")])
def test_bad_fit_input_is_one_line_and_exit_2(tmp_path, capsys, args, msg):
    base = {"--from": str(tmp_path), "--space": "nb201", "--out": str(tmp_path / "x.zip")}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["surrogate", "fit", *[x for kv in base.items() for x in kv]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]
    assert not (tmp_path / "x.zip").exists()
