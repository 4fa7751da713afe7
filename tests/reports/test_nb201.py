"""End to end on real NB201 figures: 2 methods x 2 datasets x 20 seeds, compare then report.

Reads the figures through the shared nb201_data fixture (runs in CI).
"""
from __future__ import annotations

from harness.cli import main


def test_compare_then_report_on_nb201(tmp_path, capsys, nb201_data, harness_cache, monkeypatch):
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    runs = tmp_path / "runs"
    assert main(["compare", "--benchmark", "nb201", "--dataset", "cifar10-valid,cifar100",
                 "--methods", "random_search,regularized_evolution", "--seeds", "0:20",
                 "--budget-seconds", "12000", "--out", str(runs), "--workers", "1"]) == 0
    assert "| RS |" in capsys.readouterr().out
    assert main(["report", str(runs), "--out", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "table.md").read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in md.splitlines()[2:] if line.startswith("| ")}
    assert set(rows) == {"RS", "REA"}
    # NB201 paper (500 runs): RS 93.70 ± 0.36, REA 93.92 ± 0.30 CIFAR-10 test; 20 seeds land nearby
    for line in rows.values():
        c10_test = float(line.split(" | ")[4].strip("* ").split(" ")[0])
        assert 93.0 < c10_test < 94.4
    assert (tmp_path / "report" / "figures" / "anytime_test.png").stat().st_size > 10_000
    assert "critical_difference.png" in (tmp_path / "report" / "index.html").read_text()
