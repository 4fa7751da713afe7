"""The summary table compare prints: final incumbent accuracies, mean ± std over seeds."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np


def summary_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["dataset"], r["method"])].append(r)
    rows = []
    for (ds, m), rs in groups.items():
        def stat(key: str) -> tuple[float, float, int]:
            v = np.array([r[key] for r in rs], dtype=float)
            v = v[~np.isnan(v)]
            return (float(v.mean()), float(v.std()), len(v)) if len(v) else (np.nan, np.nan, 0)
        rows.append({"dataset": ds, "method": m, "runs": len(rs), "valid": stat("report_valid"),
                     "test": stat("report_test"), "evals": float(np.mean([r["n_evals"] for r in rs])),
                     "cost": float(np.mean([r["cost_s"] for r in rs])),
                     "train_cost": float(np.mean([r.get("train_cost_s", 0.0) for r in rs]))})
    return rows


def _fmt(stat: tuple[float, float, int], runs: int) -> str:
    mean, std, n = stat
    if n == 0:
        return "n/a"
    note = "" if n == runs else f" (n={n})"
    return f"{mean:.2f} ± {std:.2f}{note}"


def summary_markdown(records: list[dict[str, Any]]) -> str:
    """Markdown table, one row per (dataset, method)."""
    lines = ["| dataset | method | runs | valid acc (%) | test acc (%) | evals/run | cost/run (s) "
             "| of which measured own training (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in summary_rows(records):
        lines.append(f"| {row['dataset']} | {row['method']} | {row['runs']} | {_fmt(row['valid'], row['runs'])} "
                     f"| {_fmt(row['test'], row['runs'])} | {row['evals']:.1f} | {row['cost']:.0f} | {row['train_cost']:.0f} |")
    return "\n".join(lines)
