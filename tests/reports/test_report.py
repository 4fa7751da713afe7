from __future__ import annotations

import logging
from pathlib import Path

import pytest

from harness.cli import main
from reports.report import parse_formats, write_report
from tests.report_fixtures import write_run, write_study

FIGURES = ("anytime_test", "anytime_regret", "rank_over_time", "final_test", "critical_difference",
           "performance_profile")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("study")
    write_study(root / "runs", methods=("rs", "rea", "rl"), seeds=4)
    (root / "runs" / "truncated.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    return root


def test_write_report_writes_every_file(study, caplog):
    out = study / "out"
    with caplog.at_level(logging.WARNING):
        paths = write_report(study / "runs", out)
    assert "truncated.h5" in caplog.text
    names = {p.relative_to(out).as_posix() for p in paths}
    for f in ("table.md", "pairwise.md", "table.tex", "table.csv", "index.html"):
        assert f in names
    for stem in FIGURES:
        for ext in ("png", "pdf"):
            p = out / "figures" / f"{stem}.{ext}"
            assert p.stat().st_size > 1000
    assert (out / "figures" / "anytime_test.png").read_bytes()[:4] == b"\x89PNG"
    html = (out / "index.html").read_text()
    assert 'src="figures/anytime_test.png"' in html and "truncated.h5" in html and "<b>" in html
    md = (out / "table.md").read_text()
    # tabular runs: no wall-clock column; datasets by their display names, in the paper's order
    assert md.startswith("| method | cost (sim. s) | evals/run | CIFAR-10 valid | CIFAR-10 test | CIFAR-100 valid |")
    assert "rl" in md and "Friedman" not in md
    assert "Friedman" in (out / "pairwise.md").read_text() and "Provenance" in html
    tex = (out / "table.tex").read_text()
    assert tex.startswith("% package_version") and "\\caption{" in tex and "\\label{tab:nas-results}" in tex
    assert "\\end{table}" in tex


def test_cli_report_formats_and_median(tmp_path, capsys):
    write_study(tmp_path / "runs", datasets=("cifar10-valid",), seeds=3)
    out = tmp_path / "cli"
    assert main(["report", str(tmp_path / "runs"), "--out", str(out), "--format", "md", "--median"]) == 0
    printed = capsys.readouterr().out
    assert "[" in printed and "±" not in printed.split("\n")[2]  # median [IQR] cells
    assert "side columns: medians" in printed
    assert (out / "table.md").exists() and not (out / "table.tex").exists()
    assert not (out / "index.html").exists() and (out / "figures" / "anytime_test.png").exists()


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: no usable trajectory (*.h5) under {tmp_path} (0 file(s) found, 0 skipped)"]
    write_run(tmp_path / "a", "rs", "c10", 0, [1], [50])
    write_run(tmp_path / "b", "rs", "c10", 1, [1], [50], cost_unit="measured_s")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mix cost units" in err[0]
    assert main(["report", str(tmp_path), "--format", "md,docx"]) == 2
    assert "docx" in capsys.readouterr().err


def test_parse_formats():
    assert parse_formats(" md, HTML ") == ("md", "html")


def test_cli_report_names_order_and_posthoc(tmp_path, capsys):
    write_study(tmp_path / "runs", methods=("rs", "rea"), datasets=("cifar100", "cifar10-valid"), seeds=3)
    out = tmp_path / "r"
    assert main(["report", str(tmp_path / "runs"), "--out", str(out), "--format", "md",
                 "--names", "rs=Random,cifar100=C100", "--datasets", "cifar100,cifar10-valid",
                 "--posthoc", "nemenyi"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert head.startswith("| method | cost (sim. s) | evals/run | C100 valid | C100 test | CIFAR-10 valid |")
    assert "| Random |" in (out / "table.md").read_text()
    assert "Nemenyi" in (out / "pairwise.md").read_text()
    assert main(["report", str(tmp_path / "runs"), "--names", "rs"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: --names takes NAME=DISPLAY")


def test_under_spent_runs_are_flagged_in_the_report(tmp_path):
    """Runs whose method returned early (attribute ended="method") are flagged with the fraction
    of the budget they spent, in table.md, table.tex and index.html."""
    from tests.report_fixtures import BUDGET

    for s in range(3):
        write_run(tmp_path / "runs", "early", "cifar10-valid", s, [BUDGET / 4], [60.0 + s], ended="method")
        write_run(tmp_path / "runs", "full", "cifar10-valid", s, [BUDGET / 2, BUDGET / 2], [60.0, 61.0 + s],
                  ended="budget")
    paths = {p.name: p for p in write_report(tmp_path / "runs", tmp_path / "out", formats=("md", "tex", "html"))}
    md = paths["table.md"].read_text()
    assert "| early † |" in md and "| full |" in md
    assert "† under-spent: 3 of 3 runs of early ended by the method before the budget ran out, spending 25 %" in md
    assert "$^\\dagger$ under-spent: 3 of 3 runs of early" in paths["table.tex"].read_text()
    assert "under-spent: 3 of 3 runs of early" in paths["index.html"].read_text()
