"""The NB201 paper's Table 5 layout (methods x dataset valid/test, mean ± std) as Markdown, LaTeX, CSV.

Two protocols, two presets:

- ``nb201-table5`` (the NB201 paper's): every method searches on cifar10-valid only; each run's
  final cell is then looked up on CIFAR-10, CIFAR-100 and ImageNet16-120 (hp=200 accuracies), so
  the three dataset groups of a row are the same 500 cells.
- ``nb201-table5-nats`` (NATS-Bench's): each dataset is searched on its own (estimated-cost) hp=12
  validation accuracies and reports its own incumbents.

Statistics come from ``reports.tables.summarize``: sample std (ddof=1), the one convention of
every table here (at 500 runs it differs from numpy's population std by 0.1 %).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reports.names import DATASET_NAMES, METHOD_NAMES
from reports.tables import Cell, summarize

LABELS = METHOD_NAMES
DATASET_LABELS = DATASET_NAMES
REPORT_DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")  # the paper's three column groups
APPROX = (
    "Approximations: a query returns the mean over the data's training seeds, not one random seed; "
    "hp=200 validation accuracy exists for cifar100 and ImageNet16-120 only for the top and bottom 1% "
    "of cells, so those valid columns are means over the runs whose incumbent has a value (n given) "
    "and ResNet has none there. ResNet and optimal rows come from the data (optimal: the best value "
    "of each column).")
CAPTION = (
    "NB201 black-box search (NB201 paper protocol), {seeds} runs per method, each searching "
    "cifar10-valid for {budget} simulated seconds; hp=200 accuracy (%) of each run's final cell "
    "(best hp=12 validation accuracy seen) looked up on every dataset, mean ± std (ddof=1) over runs. "
    + APPROX)
CAPTION_NATS = (
    "NB201 black-box search (NATS-Bench protocol: each dataset searched on its own), {seeds} runs per "
    "method, {budget} simulated seconds per run; hp=200 accuracy (%) of the cell with the best hp=12 "
    "validation accuracy seen, mean ± std (ddof=1) over runs. cifar100 and ImageNet16-120 query costs "
    "are estimated from cifar10-valid per-epoch times scaled by dataset size (only cifar10-valid times "
    "are measured). " + APPROX)
SEARCH_NOTE = (
    " search (s): mean measured seconds of a weight-sharing method's own supernet training and final pick "
    "(charged against the same budget, the NB201 paper's column); a dash for black-box rows, which are "
    "charged simulated seconds (their wall clock is in summary.md).")


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
    search_s: dict[str, float] = field(default_factory=dict)  # label -> mean measured own-training seconds

    def search_text(self, label: str) -> str:
        """The paper's "search (s)" cell: measured seconds, or a dash for rows without any."""
        s = self.search_s.get(label)
        return "—" if s is None else f"{s:,.2f}"


def _cell(values: list[float]) -> Cell:
    return summarize(np.asarray(values, dtype=float))


def build(records: list[dict[str, Any]], oracles: dict[str, dict[str, dict[str, float]]],
          seeds: int, budget_s: float | dict[str, float], caption: str = CAPTION_NATS) -> Table5:
    """Rows = methods in record order + ResNet + optimal; ``oracles`` = NB201Task.oracle() per dataset;
    ``budget_s`` one budget, or one per dataset (named in the caption)."""
    datasets = tuple(dict.fromkeys(r["dataset"] for r in records))
    methods = tuple(dict.fromkeys(r["method"] for r in records))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:  # one pass: linear in the records
        groups.setdefault((r["method"], r["dataset"]), []).append(r)
    rows, search_s = [], {}
    for m in methods:
        own = [float(r.get("train_cost_s", 0.0)) for r in records if r["method"] == m]
        if any(v > 0 for v in own):  # a weight-sharing method: measured seconds of its own training
            search_s[LABELS.get(m, m)] = float(np.mean(own))
        cells, runs = {}, 0
        for ds in datasets:
            rs = groups.get((m, ds), [])
            runs = max(runs, len(rs))
            cells[(ds, "valid")] = _cell([r["report_valid"] for r in rs])
            cells[(ds, "test")] = _cell([r["report_test"] for r in rs])
        rows.append((LABELS.get(m, m), runs, cells))
    for ref in ("ResNet", "optimal"):
        rows.append((ref, 1, {(ds, split): _cell([oracles[ds][ref][f"report_{split}"]])
                              for ds in datasets for split in ("valid", "test")}))
    if isinstance(budget_s, dict):
        text = " / ".join(f"{budget_s[ds]:,.0f} ({DATASET_LABELS.get(ds, ds)})" for ds in datasets)
    else:
        text = f"{budget_s:,.0f}"
    caption = caption.format(seeds=seeds, budget=text)
    if search_s:  # weight-sharing rows beside the black-box ones
        caption = (caption.replace("black-box search", "black-box and weight-sharing search", 1)
                   .replace("simulated seconds", "seconds (simulated for black-box rows, measured for "
                            "weight-sharing rows)", 1)
                   .replace("(best hp=12 validation accuracy seen)", "(black-box: best hp=12 validation accuracy "
                            "seen; weight-sharing: the cell it returned)", 1)) + SEARCH_NOTE
    return Table5(datasets, tuple(rows), caption, search_s)


def markdown(t: Table5) -> str:
    extra = " search (s) |" if t.search_s else ""
    head = ("| Method |" + extra + " "
            + " | ".join(f"{DATASET_LABELS.get(d, d)} {s}" for d in t.datasets for s in ("valid", "test")) + " |")
    lines = [head, "|---|" + "---:|" * (2 * len(t.datasets) + bool(extra))]
    for label, runs, cells in t.rows:
        search = f" {t.search_text(label)} |" if extra else ""
        lines.append(f"| {label} |{search} " + " | ".join(cell_text(cells[(d, s)], runs) for d in t.datasets
                                                            for s in ("valid", "test")) + " |")
    return "\n".join(lines) + f"\n\n{t.caption}\n"


def latex(t: Table5) -> str:
    k = int(bool(t.search_s))  # the search (s) column, when a weight-sharing row has one
    cols = "l" + "r" * k + "cc" * len(t.datasets)
    groups = " & ".join(["search (s)"] * k + [f"\\multicolumn{{2}}{{c}}{{{DATASET_LABELS.get(d, d)}}}"
                                              for d in t.datasets])
    rules = " ".join(f"\\cmidrule(lr){{{2 + k + 2 * i}-{3 + k + 2 * i}}}" for i in range(len(t.datasets)))
    lines = ["\\begin{table}[t]", "\\centering", f"\\caption{{{t.caption.replace('%', chr(92) + '%')}}}",
             "\\label{tab:nb201-table5}", f"\\begin{{tabular}}{{{cols}}}", "\\toprule",
             f"Method & {groups} \\\\", rules,
             " & " + " & ".join([""] * k + ["valid", "test"] * len(t.datasets)) + " \\\\", "\\midrule"]
    for label, runs, cells in t.rows:
        if label == "ResNet":
            lines.append("\\midrule")
        vals = [t.search_text(label)] * k + [cell_text(cells[(d, s)], runs, pm="$\\pm$") for d in t.datasets
                                              for s in ("valid", "test")]
        lines.append(f"{label} & " + " & ".join(vals) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def csv_text(t: Table5) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "dataset", "split", "mean", "std", "n", "runs"] + ["search_s"] * bool(t.search_s))
    for label, runs, cells in t.rows:
        search = [f"{t.search_s[label]:.4f}" if label in t.search_s else ""] if t.search_s else []
        for (d, s), c in cells.items():
            w.writerow([label, d, s, f"{c.mean:.4f}", f"{c.std:.4f}", c.n, runs, *search])
    return buf.getvalue()


def write(t: Table5, out: Path) -> dict[str, Path]:
    """table5.md, table5.tex and table5.csv under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "table5.md", "tex": out / "table5.tex", "csv": out / "table5.csv"}
    paths["md"].write_text(markdown(t))
    paths["tex"].write_text(latex(t))
    paths["csv"].write_text(csv_text(t))
    return paths


def transfer(records: list[dict[str, Any]], lookup: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's protocol: each search record's final cell (``arch_index``) on every dataset.

    ``lookup[ds](indices) -> (valid, test)`` arrays; a run without a final cell (index -1) gives
    NaN. Returns one record per (run, dataset), dataset = the lookup's key.
    """
    idx = np.array([int(r.get("arch_index", -1)) for r in records], dtype=np.int64)
    found = idx >= 0
    out = []
    for ds, fn in lookup.items():
        valid = np.full(len(idx), np.nan)
        test = np.full(len(idx), np.nan)
        if found.any():
            v, t = fn(idx[found])
            valid[found], test[found] = v, t
        out += [{**r, "dataset": ds, "report_valid": float(valid[i]), "report_test": float(test[i])}
                for i, r in enumerate(records)]
    return out


def nb201_lookup(task: Any) -> Any:
    """``indices -> (hp=200 valid, test)`` of an NB201 task, through its public ``report``."""
    return lambda idx: task.report(task.space.from_index(idx))


def paper_table(records: list[dict[str, Any]], tasks: dict[str, Any], seeds: int, budget_s: float) -> Table5:
    """Table 5 as the NB201 paper ran it: ``records`` searched on one dataset, ``tasks`` = the
    datasets to look their final cells up on (NB201Task per dataset)."""
    rows = transfer(records, {ds: nb201_lookup(t) for ds, t in tasks.items()})
    return build(rows, {ds: t.oracle() for ds, t in tasks.items()}, seeds, budget_s, CAPTION)


def from_compare(records: list[dict[str, Any]], spec: Any) -> str:
    """The ``nb201-table5`` hook: look every run's final cell up on the three datasets, write
    table5.* under spec.out, return Markdown."""
    from harness.registry import BENCHMARKS

    factory = BENCHMARKS.get(spec.benchmark)
    tasks = {ds: factory(ds, data=spec.data, cache=spec.cache, **spec.benchmark_options)
             for ds in REPORT_DATASETS}
    t = paper_table(records, tasks, len(spec.seeds), float(spec.budget.max_cost_s or 0.0))
    write(t, spec.out)
    return markdown(t)


def from_compare_nats(records: list[dict[str, Any]], spec: Any) -> str:
    """The ``nb201-table5-nats`` hook: each dataset's own incumbents (NATS-Bench protocol)."""
    from harness.runner import make_tasks

    tasks = make_tasks(spec)
    budgets = {ds: float(spec.budget_for(ds).max_cost_s or 0.0) for ds in spec.datasets}
    t = build(records, {ds: task.oracle() for ds, task in tasks.items()}, len(spec.seeds), budgets, CAPTION_NATS)
    write(t, spec.out)
    return markdown(t)


TABLES = {"nb201-table5": from_compare, "nb201-table5-nats": from_compare_nats}  # study key "table"
