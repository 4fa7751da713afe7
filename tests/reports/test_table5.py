"""The Table-5 builder: layout, n for partial columns, reference rows, and the compare --preset hook."""
from __future__ import annotations

import csv
import io

import numpy as np

from harness.cli import main
from reports.table5 import build, csv_text, latex, markdown

ORACLE = {"ResNet": {"report_valid": np.nan, "report_test": 70.0}, "optimal": {"report_valid": 73.0, "report_test": 73.5}}


def records() -> list[dict]:
    out = []
    for m, base in (("regularized_evolution", 71.0), ("random_search", 70.0)):
        for s in range(4):
            out.append({"method": m, "dataset": "cifar100", "seed": s, "report_test": base + s,
                        "report_valid": np.nan if s % 2 else base + 1})
    return out


def test_layout_and_partial_columns() -> None:
    t = build(records(), {"cifar100": ORACLE}, seeds=4, budget_s=12000)
    md = markdown(t)
    assert [r[0] for r in t.rows] == ["REA", "RS", "ResNet", "optimal"]
    assert "| REA | 72.00 ± 0.00 (n=2) | 72.50 ± 1.12 |" in md
    assert "| ResNet | n/a | 70.00 |" in md and "training seeds" in md
    tex = latex(t)
    assert "\\toprule" in tex and "\\midrule\nResNet" in tex and "$\\pm$" in tex and "\\%" in tex
    rows = list(csv.DictReader(io.StringIO(csv_text(t))))
    assert len(rows) == 8 and rows[0]["n"] == "2"


def test_compare_preset_writes_the_table(tmp_path, capsys, monkeypatch, nb201_data, harness_cache) -> None:
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    rc = main(["compare", "--preset", "nb201-table5", "--seeds", "0:2", "--workers", "1", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| REINFORCE |" in out and "| optimal | 91.61 | 94.37 |" in out
    assert {p.name for p in tmp_path.glob("table5.*")} == {"table5.md", "table5.tex", "table5.csv"}


def test_std_convention_is_the_papers_and_explicit() -> None:
    """Table 5 uses the NB201 paper's population std (ddof=0); our own tables use ddof=1; both
    come from reports.tables.summarize."""
    from reports.tables import NB201_DDOF, summarize

    t = build(records(), {"cifar100": ORACLE}, seeds=4, budget_s=12000)
    cell = dict((r[0], r[2]) for r in t.rows)["REA"][("cifar100", "test")]
    v = np.array([71.0, 72.0, 73.0, 74.0])
    assert NB201_DDOF == 0 and cell.std == v.std(ddof=0) and cell.mean == v.mean()
    assert summarize(v).std == v.std(ddof=1) != cell.std
