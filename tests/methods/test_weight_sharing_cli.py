"""`compare --preset nb201-weight-sharing-ci`: the six weight-sharing rows of NB201 Table 5 with EvNAS
and EDNAS beside RS and REA, in the paper's layout with its "search (s)" column, on CPU in CI time."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from harness.cli import main  # noqa: E402
from harness.store import read_run  # noqa: E402
from harness.trajectory import KIND_CHARGE, KIND_FINAL  # noqa: E402

ONE_SHOT = ("rsps", "darts_v1", "darts_v2", "gdas", "setn", "enas", "evnas", "ednas")
LABELS = ("RSPS", "DARTS-V1", "DARTS-V2", "GDAS", "SETN", "ENAS", "evnas", "ednas")


def test_weight_sharing_ci_preset_puts_all_eight_beside_the_black_box_rows(tmp_path, capsys, monkeypatch,
                                                                           nb201_data, harness_cache):
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    rc = main(["compare", "--preset", "nb201-weight-sharing-ci", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith("| Method | search (s) | CIFAR-10 valid | CIFAR-10 test |")
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in out.splitlines() if line.startswith("| ")}
    assert rows["REA"][1] == "—" and rows["RS"][1] == "—"  # black-box rows: simulated seconds, no own training
    for m, label in zip(ONE_SHOT, LABELS):
        assert float(rows[label][1].replace(",", "")) > 0, label  # measured seconds of its own training
        assert 0 < float(rows[label][3]) <= 100, label  # the returned cell's CIFAR-10 test, from the table
        traj = read_run(tmp_path / "nb201" / "cifar10-valid" / m, 0)
        kind = traj.columns["kind"]
        assert kind[-1] == KIND_FINAL and (kind == KIND_FINAL).sum() == 1 and (kind == 0).sum() == 0
        assert np.isnan(traj.columns["report_test"][kind == KIND_CHARGE]).all()
        cfg = traj.attrs["config"]
        cfg = json.loads(cfg) if isinstance(cfg, str) else cfg
        assert cfg["track_running_stats"] is True and cfg["C"] == 4
        if m not in ("evnas", "ednas"):
            assert traj.attrs["bn_track_running_stats"] in (True, 1) and traj.attrs["search_epochs_run"] == 1
    assert "weight-sharing search" in out and "search (s): mean measured seconds" in out
    assert {p.name for p in tmp_path.glob("table5.*")} == {"table5.md", "table5.tex", "table5.csv"}
    assert "search (s)" in (tmp_path / "table5.tex").read_text()
