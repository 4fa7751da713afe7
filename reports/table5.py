"""The NB201 paper's Table 5 layout (methods x dataset valid/test, mean ± std) as Markdown, LaTeX, CSV.

Statistics come from ``reports.tables.summarize``; the std uses the paper's convention,
``NB201_DDOF`` = 0 (population std), where our own tables use ddof=1.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reports.tables import NB201_DDOF, Cell, summarize

LABELS = {"regularized_evolution": "REA", "random_search": "RS", "reinforce": "REINFORCE",
          "bohb-nb201": "BOHB", "bohb": "BOHB (multi-fidelity)", "hyperband": "Hyperband",
          "local_search": "Local search"}
DATASET_LABELS = {"cifar10-valid": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}
CAPTION = (
    "NB201 black-box search, {seeds} runs per method, {budget:g} simulated seconds per run; hp=200 "
    "accuracy (%) of the cell with the best hp=12 validation accuracy seen, mean ± std over runs. "
    "Approximations: a query returns the mean over the data's training seeds, not one random seed; "
    "cifar100 and ImageNet16-120 query costs are estimated from cifar10-valid per-epoch times scaled "
    "by dataset size (only cifar10-valid times are measured); hp=200 validation accuracy exists for "
    "cifar100 and ImageNet16-120 only for the top and bottom 1% of cells, so those valid columns are "
    "means over the runs whose incumbent has a value (n given) and ResNet has none there. "
    "ResNet and optimal rows come from the data (optimal: the best value of each column).")


def cell_text(c: Cell, runs: int, pm: str = "±") -> str:
    """The paper's cell: 'mean ± std', ' (n=..)' when only some runs have a value, 'n/a' for none."""
    if c.n == 0 or np.isnan(c.mean):
        return "n/a"
    if runs <= 1:
        return f"{c.mean:.2f}"
    note = "" if c.n == runs else f" (n={c.n})"
    return f"{c.mean:.2f} {pm} {c.std:.2f}{note}"


@dataclass(frozen=True)
class Table5:
    datasets: tuple[str, ...]
    rows: tuple[tuple[str, int, dict[tuple[str, str], Cell]], ...]  # (label, runs, {(dataset, split): cell})
    caption: str


def _cell(values: list[float]) -> Cell:
    """Statistics from ``reports.tables.summarize`` with the paper's std convention (ddof=0)."""
    return summarize(np.asarray(values, dtype=float), ddof=NB201_DDOF)


def build(records: list[dict[str, Any]], oracles: dict[str, dict[str, dict[str, float]]],
          seeds: int, budget_s: float) -> Table5:
    """Rows = methods in record order + ResNet + optimal; ``oracles`` = NB201Task.oracle() per dataset."""
    datasets = tuple(dict.fromkeys(r["dataset"] for r in records))
    methods = tuple(dict.fromkeys(r["method"] for r in records))
    rows = []
    for m in methods:
        cells, runs = {}, 0
        for ds in datasets:
            rs = [r for r in records if r["method"] == m and r["dataset"] == ds]
            runs = max(runs, len(rs))
            cells[(ds, "valid")] = _cell([r["report_valid"] for r in rs])
            cells[(ds, "test")] = _cell([r["report_test"] for r in rs])
        rows.append((LABELS.get(m, m), runs, cells))
    for ref in ("ResNet", "optimal"):
        rows.append((ref, 1, {(ds, split): _cell([oracles[ds][ref][f"report_{split}"]])
                              for ds in datasets for split in ("valid", "test")}))
    return Table5(datasets, tuple(rows), CAPTION.format(seeds=seeds, budget=budget_s))


def markdown(t: Table5) -> str:
    head = "| Method | " + " | ".join(f"{DATASET_LABELS.get(d, d)} {s}" for d in t.datasets for s in ("valid", "test")) + " |"
    lines = [head, "|---|" + "---:|" * (2 * len(t.datasets))]
    for label, runs, cells in t.rows:
        lines.append(f"| {label} | " + " | ".join(cell_text(cells[(d, s)], runs) for d in t.datasets
                                                   for s in ("valid", "test")) + " |")
    return "\n".join(lines) + f"\n\n{t.caption}\n"


def latex(t: Table5) -> str:
    cols = "l" + "cc" * len(t.datasets)
    groups = " & ".join(f"\\multicolumn{{2}}{{c}}{{{DATASET_LABELS.get(d, d)}}}" for d in t.datasets)
    rules = " ".join(f"\\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(len(t.datasets)))
    lines = ["\\begin{table}[t]", "\\centering", f"\\caption{{{t.caption.replace('%', chr(92) + '%')}}}",
             "\\label{tab:nb201-table5}", f"\\begin{{tabular}}{{{cols}}}", "\\toprule",
             f"Method & {groups} \\\\", rules,
             " & " + " & ".join(["valid", "test"] * len(t.datasets)) + " \\\\", "\\midrule"]
    for label, runs, cells in t.rows:
        if label == "ResNet":
            lines.append("\\midrule")
        vals = [cell_text(cells[(d, s)], runs, pm="$\\pm$") for d in t.datasets for s in ("valid", "test")]
        lines.append(f"{label} & " + " & ".join(vals) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def csv_text(t: Table5) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "dataset", "split", "mean", "std", "n", "runs"])
    for label, runs, cells in t.rows:
        for (d, s), c in cells.items():
            w.writerow([label, d, s, f"{c.mean:.4f}", f"{c.std:.4f}", c.n, runs])
    return buf.getvalue()


def write(t: Table5, out: Path) -> dict[str, Path]:
    """table5.md, table5.tex and table5.csv under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "table5.md", "tex": out / "table5.tex", "csv": out / "table5.csv"}
    paths["md"].write_text(markdown(t))
    paths["tex"].write_text(latex(t))
    paths["csv"].write_text(csv_text(t))
    return paths


def from_compare(records: list[dict[str, Any]], spec: Any) -> str:
    """The compare hook: build the table for a finished study, write it under spec.out, return Markdown."""
    from harness.runner import make_tasks

    tasks = make_tasks(spec)
    t = build(records, {ds: task.oracle() for ds, task in tasks.items()}, len(spec.seeds),
              float(spec.budget.max_cost_s or 0.0))
    write(t, spec.out)
    return markdown(t)


TABLES = {"nb201-table5": from_compare}  # preset key "table" -> builder
