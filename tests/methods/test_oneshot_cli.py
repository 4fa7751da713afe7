"""One-shot methods through `python -m harness compare` (in-process ``cli.main``): darts-train lends its
train/valid images and trains the returned genotype from scratch; NB201 puts them beside RS/REA."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.training.cache import cache_key  # noqa: E402
from benchmarks.spaces.darts import DartsSpace  # noqa: E402
from harness.cli import main  # noqa: E402
from harness.store import read_run  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402

TINY = {"evnas": dict(population=2, tournament=1, generations=1, C=4, layers=2, N=1, cutout=0),
        "ednas": dict(epochs=1, C=4, layers=2, N=1, n_candidates=2)}


def _sets(methods: tuple[str, ...], **extra: object) -> list[str]:
    out = []
    for m in methods:
        for k, v in {**TINY[m], **extra}.items():
            out += ["--set", f"{m}.{k}={json.dumps(v)}"]
    return out


def _read(folder) -> dict:
    traj = read_run(folder, 0)
    return {**traj.columns, "codes": traj.codes, "attrs": traj.attrs}


def test_darts_train_via_cli_trains_the_returned_genotype_and_hands_out_no_test(tmp_path, caplog, capsys,
                                                                                 monkeypatch):
    from benchmarks.training.task import TrainingBenchmark

    handed = []
    hook = TrainingBenchmark.search_data
    monkeypatch.setattr(TrainingBenchmark, "search_data", lambda self: handed.append((self, hook(self))) or handed[-1][1])
    caplog.set_level(logging.INFO, logger="methods._oneshot.training")
    methods = ("evnas", "ednas")
    rc = main(["compare", "--benchmark", "darts-train", "--dataset", "digits", "--methods", ",".join(methods),
               "--seeds", "0", "--budget-epochs", "10", "--workers", "1", "--out", str(tmp_path / "runs"),
               "--cache", str(tmp_path / "cache"), "--option", "C=4", "--option", "layers=2",
               "--option", "train_images=96", "--option", "threads=1",
               "--option", 'recipe_changes={"epochs": 1}', *_sets(methods)])  # submits by default
    assert rc == 0
    table = capsys.readouterr().out
    assert "| evnas" in table and "| ednas" in table and "measured own training" in table
    returned = [json.loads(r.getMessage().split(": ", 1)[1]) for r in caplog.records
                if r.getMessage().startswith("returned genotype")]
    assert len(returned) == 2
    # the hook hands out train + valid only (the test split stays in the task)
    assert len(handed) == 2
    for task, sd in handed:
        d = task.data()
        assert (len(sd.train_y), len(sd.valid_y)) == (96, len(d.valid)) and sd.train_x is d.train.x
        assert sd.valid_x is d.valid.x and not any(v is d.test.x or v is d.test.y for v in vars(sd).values())
    space = DartsSpace()
    for m, genotype in zip(methods, returned):
        r = _read(tmp_path / "runs" / "darts-train" / "digits" / m)
        kind = r["kind"]
        charge, final = kind == KIND_CHARGE, kind == KIND_FINAL
        assert final.sum() == 1 and kind[-1] == KIND_FINAL and charge.sum() == len(kind) - 1
        assert r["epochs"][charge].sum() == 1 and (r["cost_s"][charge] > 0).all()  # measured s, 1 epoch
        assert r["attrs"]["spent_epochs"] == 1 and r["attrs"]["cost_unit"] == "measured_s"
        # the final row is the returned genotype, trained from scratch by the benchmark for the report
        assert np.array_equal(r["codes"][-1], space.parse(json.dumps(genotype)))
        assert 0 <= r["report_test"][-1] <= 100 and 0 <= r["report_valid"][-1] <= 100
        assert np.isnan(r["report_test"][charge]).all() and np.isnan(r["val"]).all()  # nothing flowed back
        cfg = json.loads(r["attrs"]["config"])
        assert cfg["track_running_stats"] is True and cfg["C"] == 4  # BN settings travel with the run
    # the benchmark trained both genotypes at the full recipe (1 epoch here) and cached nothing else
    task = handed[0][0]
    task.cache.reload()
    assert len(task.cache) == 2
    for g in returned:
        hit = task.cache.get(cache_key(task.identity(space.parse(json.dumps(g)), int(task.default_fidelity))))
        assert hit is not None and hit["epochs"] == 1 and hit["train_s"] > 0


def test_nb201_study_puts_one_shot_beside_rs_rea_with_both_cost_columns(tmp_path, nb201_data, harness_cache,
                                                                         capsys):
    methods = ("evnas", "ednas")
    rc = main(["compare", "--preset", "nb201-oneshot-ci", "--seeds", "0", "--out", str(tmp_path / "runs"),
               "--data", str(nb201_data), "--cache", str(harness_cache),
               *(f"--set={m}.track_running_stats=false" for m in methods)])
    assert rc == 0
    lines = {ln.split("|")[1].replace("†", "").strip(): [c.strip() for c in ln.split("|")[2:-1]]
             for ln in capsys.readouterr().out.splitlines() if ln.startswith("| ") and "---" not in ln}
    header = lines.pop("method")
    own = header.index("of which measured own training (s)")
    total = header.index("cost (s)")  # mixed units: each row says its own
    for m in ("RS", "REA"):  # simulated seconds near the budget, no own training (display names)
        value, unit = lines[m][total].split()
        assert lines[m][own] == "—" and unit == "sim." and float(value.replace(",", "")) > 2000
    for m in methods:  # measured seconds: all of the cost is the method's own training
        assert lines[m][total] == f"{lines[m][own]} measured" and 0 < float(lines[m][own]) < 600
        r = _read(tmp_path / "runs" / "nb201" / "cifar10-valid" / m)
        assert (r["kind"] == KIND_FINAL).sum() == 1 and r["attrs"]["search_images"] == "digits"
        cfg = json.loads(r["attrs"]["config"])
        assert cfg["track_running_stats"] is False and cfg["affine"] is False


@pytest.mark.parametrize("space", ["nb201", "darts"])
@pytest.mark.parametrize("track", [True, False])
def test_bn_settings_reach_every_supernet_op(space, track):
    """The recorded BN flags are the ones the ops run with (NB201 results move by points with them)."""
    from methods._oneshot.training import build_supernet
    from methods._oneshot.supernets import MixedEdge
    from methods.evnas import Config

    net = build_supernet(space, Config(C=4, N=1, layers=2, affine=False, track_running_stats=track), 10, 1, 0)
    bns = [m for e in net.modules() if isinstance(e, MixedEdge) for m in e.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(b.track_running_stats is track and b.affine is False for b in bns)
