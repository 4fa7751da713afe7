"""Training progress: `harness train` prints one line per epoch on stderr; `compare` on a training
benchmark logs one line per query; the train cache row keeps the same figures (images/s, data wait)."""
from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("torch")

from harness.cli import main  # noqa: E402
from harness.progress import Epochs, duration, epoch_line  # noqa: E402

ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def test_train_on_digits_prints_one_line_per_epoch(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r.json"
    assert main(["train", "--arch", ARCH, "--dataset", "digits", "--set", "epochs=3", "--train-images", "96",
                 "--threads", "1", "--device", "cpu", "--out", str(out)]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("train epoch")]
    assert [ln.split(":")[0] for ln in lines] == ["train epoch 1/3", "train epoch 2/3", "train epoch 3/3"]
    for key in ("loss", "train acc", "images/s", "data wait", "ETA"):
        assert key in lines[0]
    assert lines[-1].endswith("ETA 0:00")
    result = json.loads(out.read_text())
    assert len(result["figures"]) == 3 and result["images_per_s"] > 0 and 0 <= result["data_wait"] < 1


def test_compare_logs_each_query_and_the_cache_keeps_the_figures(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    argv = ["compare", "--benchmark", "nb201-train", "--dataset", "digits", "--methods", "random_search",
            "--seeds", "0", "--budget-evals", "3", "--option", "train_images=64", "--option", "threads=1",
            "--option", "device=cpu", "--workers", "1", "--out", str(tmp_path / "runs"), "--cache", str(cache)]
    with caplog.at_level(logging.INFO, logger="benchmarks.training.task"):
        assert main(argv) == 0
    queries = [r.getMessage() for r in caplog.records if r.name == "benchmarks.training.task"
               and r.levelno == logging.INFO]
    # three evaluations, then the incumbent's report (trained here unless it is one of them)
    assert len(queries) >= 3 and all(q.startswith("nb201-train/digits |") and "val " in q for q in queries)
    assert all("trained in" in q and "images/s" in q and "data wait" in q for q in queries)
    rows = sqlite3.connect(cache / "training" / "nb201-train.sqlite").execute("SELECT meta FROM rows").fetchall()
    figures = [json.loads(m)["figures"] for (m,) in rows]
    assert len(figures) == len(queries) and all(f["images_per_s"] > 0 and 0 <= f["data_wait"] < 1 for f in figures)


def test_epoch_line_and_bar() -> None:
    fig = {"epoch": 2, "epochs": 10, "loss": 1.23456, "train_acc": 55.5, "images_per_s": 12345.6,
           "data_wait": 0.031, "epoch_s": 61.0, "eta_s": 3725}
    assert epoch_line(fig, "x") == ("x epoch 2/10: loss 1.2346, train acc 55.50%, 12,346 images/s, data wait 3%, "
                                    "61.0 s, ETA 1:02:05")
    assert duration(59.6) == "1:00"
    seen: list[str] = []
    bar = Epochs("t", seen.append, bar=True)  # a tqdm step bar, then the line
    bar.start(0, 1, 3)
    for _ in range(3):
        bar.step()
    bar.end({**fig, "epoch": 1, "epochs": 1, "eta_s": 0})
    assert seen == [epoch_line({**fig, "epoch": 1, "epochs": 1, "eta_s": 0}, "t")] and bar._bar is None
