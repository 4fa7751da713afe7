"""Reports: trajectories -> paper tables, anytime plots and statistics (`python -m harness report`).

Matplotlib is imported only by ``reports.plots`` (when a figure is drawn) and scipy only inside the
functions that test or aggregate, so ``compare`` and ``list`` load neither until they need them.
"""
from __future__ import annotations

from reports.aggregate import (
    Finals,
    anytime_curves,
    finals_from_records,
    finals_from_runs,
    step_interpolate,
)
from reports.load import IncompatibleRunsError, NoRunsError, RunSet, load_runs
from reports.names import display, parse_names
from reports.stats import (
    friedman,
    holm,
    iqm,
    mann_whitney,
    nemenyi_cd,
    pairwise_tests,
    vargha_delaney,
)
from reports.tables import build_table, summary_markdown, to_csv, to_latex, to_markdown

__all__ = [
    "Finals", "IncompatibleRunsError", "NoRunsError", "RunSet", "anytime_curves", "build_table", "display",
    "finals_from_records", "finals_from_runs", "friedman", "holm", "iqm", "load_runs", "mann_whitney",
    "nemenyi_cd", "pairwise_tests", "parse_names", "step_interpolate", "summary_markdown", "to_csv",
    "to_latex", "to_markdown", "vargha_delaney",
]
