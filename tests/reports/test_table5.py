"""The Table-5 builder: layout, n for partial columns, reference rows, and the compare --preset hook."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from harness.cli import main
from reports.table5 import (
    REPORT_DATASETS,
    build,
    csv_text,
    latex,
    markdown,
    paper_table,
    transfer,
)

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
    assert "| REA | 72.00 ± 0.00 (n=2) | 72.50 ± 1.29 |" in md  # sample std (ddof=1)
    assert "| ResNet | n/a | 70.00 |" in md and "training seeds" in md
    tex = latex(t)
    assert "\\toprule" in tex and "\\midrule\nResNet" in tex and "$\\pm$" in tex and "\\%" in tex
    rows = list(csv.DictReader(io.StringIO(csv_text(t))))
    assert len(rows) == 8 and rows[0]["n"] == "2"


def test_paper_protocol_looks_final_cells_up_on_every_dataset() -> None:
    """The NB201 paper's protocol: one search, its final cell reported on each dataset."""
    recs = [{"method": "random_search", "dataset": "cifar10-valid", "seed": s, "arch_index": idx,
             "report_valid": 90.0, "report_test": 93.0} for s, idx in enumerate([3, 7, -1])]
    lookup = {"cifar10-valid": lambda i: (i + 90.0, i + 93.0), "cifar100": lambda i: (i + 70.0, i + 71.0)}
    rows = transfer(recs, lookup)
    c100 = [r for r in rows if r["dataset"] == "cifar100"]
    assert [r["report_test"] for r in c100[:2]] == [74.0, 78.0] and np.isnan(c100[2]["report_test"])
    assert len(rows) == 6 and {r["seed"] for r in c100} == {0, 1, 2}


def test_paper_protocol_reproduces_the_papers_transfer_cells(tmp_path, nb201_data, harness_cache) -> None:
    """Table 5 as the paper ran it (search cifar10-valid, report the final cell on all three):
    RS, REA and BOHB on CIFAR-100 and ImageNet16-120 test within 0.3 of the paper, 500 seeds."""
    from harness.budget import Budget
    from harness.runner import CompareSpec, compare, make_tasks

    spec = CompareSpec(benchmark="nb201", datasets=("cifar10-valid",),
                       methods=("random_search", "regularized_evolution", "bohb-nb201"), seeds=tuple(range(500)),
                       budget=Budget(max_cost_s=12000.0), out=tmp_path,
                       data=str(nb201_data), cache=str(harness_cache), workers=2)
    records = compare(spec)
    tasks = make_tasks(CompareSpec(benchmark="nb201", datasets=REPORT_DATASETS, methods=spec.methods, seeds=(0,),
                                   budget=spec.budget, out=spec.out, data=spec.data, cache=spec.cache))
    t = paper_table(records, tasks, 500, 12000.0)
    cells = {label: c for label, _, c in t.rows}
    paper = {"RS": (71.04, 44.57), "REA": (71.84, 45.54), "BOHB": (70.85, 44.42)}  # NB201 paper, Table 5
    for label, (c100, in16) in paper.items():
        assert abs(cells[label][("cifar100", "test")].mean - c100) < 0.3, label
        assert abs(cells[label][("ImageNet16-120", "test")].mean - in16) < 0.3, label


def test_compare_preset_writes_the_table(tmp_path, capsys, monkeypatch, nb201_data, harness_cache) -> None:
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    rc = main(["compare", "--preset", "nb201-table5", "--seeds", "0:2", "--workers", "1", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| REINFORCE |" in out and "| optimal | 91.61 | 94.37 | 73.49 | 73.51 | 46.73 | 47.31 |" in out
    assert "NB201 paper protocol" in out
    assert {p.name for p in tmp_path.glob("table5.*")} == {"table5.md", "table5.tex", "table5.csv"}
    assert {p.name for p in (tmp_path / "nb201").iterdir()} == {"cifar10-valid"}  # one search dataset


def test_std_convention_is_one_and_explicit() -> None:
    """Table 5 and our own tables share one std convention: the sample std (ddof=1)."""
    from reports.tables import STD_DDOF, summarize

    t = build(records(), {"cifar100": ORACLE}, seeds=4, budget_s=12000)
    cell = {r[0]: r[2] for r in t.rows}["REA"][("cifar100", "test")]
    v = np.array([71.0, 72.0, 73.0, 74.0])
    assert STD_DDOF == 1 and cell.std == pytest.approx(v.std(ddof=1)) and cell.mean == v.mean()
    assert summarize(v).std == cell.std


def test_nats_preset_searches_each_dataset(tmp_path, capsys, monkeypatch, nb201_data, harness_cache) -> None:
    monkeypatch.setenv("NAS_HARNESS_DATA", str(nb201_data))
    monkeypatch.setenv("NAS_HARNESS_CACHE", str(harness_cache))
    rc = main(["compare", "--preset", "nb201-table5-nats", "--methods", "random_search", "--seeds", "0:2",
               "--workers", "1", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "NATS-Bench protocol" in out and "| RS |" in out
    assert {p.name for p in (tmp_path / "nb201").iterdir()} == {"cifar10-valid", "cifar100", "ImageNet16-120"}
    # NATS-Bench's own budget per dataset, in every run and in the caption; the report takes them
    from reports.load import load_runs

    runs = load_runs(tmp_path)
    assert {t[1]: b[1] for t, b in runs.budgets.items()} == {"cifar10-valid": 20000.0, "cifar100": 40000.0,
                                                             "ImageNet16-120": 120000.0}
    assert "20,000 (CIFAR-10) / 40,000 (CIFAR-100) / 120,000 (ImageNet16-120)" in out
    assert "cifar100: max_cost_s=40000" in runs.budget_text()


def test_weight_sharing_rows_get_the_search_seconds_column() -> None:
    recs = records() + [{"method": "darts_v1", "dataset": "cifar100", "seed": s, "report_test": 15.6,
                         "report_valid": 15.0, "train_cost_s": 10.0 + s} for s in range(4)]
    t = build(recs, {"cifar100": ORACLE}, seeds=4, budget_s=12000)
    md = markdown(t)
    assert md.startswith("| Method | search (s) | CIFAR-100 valid | CIFAR-100 test |\n|---|---:|---:|---:|")
    assert "| DARTS-V1 | 11.50 | 15.00 ± 0.00 | 15.60 ± 0.00 |" in md and "| REA | — |" in md
    assert "search (s): mean measured seconds" in md
    tex = latex(t)
    assert "Method & search (s) & \\multicolumn{2}{c}{CIFAR-100}" in tex and "\\cmidrule(lr){3-4}" in tex
    assert "DARTS-V1 & 11.50 & " in tex
    rows = list(csv.DictReader(io.StringIO(csv_text(t))))
    assert {r["search_s"] for r in rows if r["method"] == "DARTS-V1"} == {"11.5000"}
    assert "search (s)" not in markdown(build(records(), {"cifar100": ORACLE}, seeds=4, budget_s=12000))
