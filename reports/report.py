"""One call from a directory of trajectories to every table, figure and the index page."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

from harness.errors import HarnessError
from reports.aggregate import Finals, anytime_curves, finals_from_runs, rank_blocks, ranks_over_time
from reports.html import Page
from reports.load import RunSet, budget_label, load_runs
from reports.plots import plot_anytime, plot_cd, plot_finals, plot_ranks
from reports.stats import Friedman, friedman
from reports.predictor_quality import quality_grid
from reports.tables import (Table, build_table, caption, grid_markdown, pairwise_grid, pairwise_markdown,
                            table_grid, to_csv, to_latex, to_markdown)

log = logging.getLogger(__name__)

FORMATS = ("md", "tex", "csv", "html")
MODELS_NOTE = ("Kendall τ of each model-based method's predictor or surrogate against the validation "
               "accuracies it paid for, mean ± std over runs (reports/predictor_quality.py).")


def parse_formats(text: str) -> tuple[str, ...]:
    """'md,tex' -> ('md', 'tex'); an unknown format raises HarnessError naming it."""
    got = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in got if f not in FORMATS]
    if bad or not got:
        raise HarnessError(f"--format takes a comma list of {', '.join(FORMATS)}, got {text!r}")
    return got


def friedman_on_finals(finals: Finals, metric: str = "test") -> tuple[Friedman | None, str]:
    """The Friedman test over ``rank_blocks``; None and the reason when it cannot be run."""
    scores, blocks = rank_blocks(finals, metric)
    if len(finals.methods) < 2 or scores.shape[0] < 2:
        return None, f"Friedman test skipped: needs 2+ methods and 2+ complete {blocks}"
    return friedman(scores, finals.methods), blocks


def write_report(root: str | os.PathLike, out: str | os.PathLike | None = None,
                 formats: Iterable[str] = FORMATS, median: bool = False,
                 include_running: bool = False) -> list[Path]:
    """Read every trajectory under ``root`` and write tables, figures and index.html to ``out``
    (default ``root``/report). Returns the paths written; figures are always written."""
    runset = load_runs(root, include_running=include_running)
    out_dir = Path(out) if out is not None else Path(root) / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    finals = finals_from_runs(runset)
    table = build_table(finals, median=median)
    written: list[Path] = []

    def text(name: str, body: str) -> None:
        path = out_dir / name
        path.write_text(body, encoding="utf-8")
        written.append(path)

    models = quality_grid(runset)
    if "md" in formats:
        text("table.md", f"{to_markdown(table)}\n{caption(table)}\n")
        text("pairwise.md", pairwise_markdown(table))
        if models is not None:
            text("predictors.md", f"{grid_markdown(*models)}\n{MODELS_NOTE}\n")
    if "tex" in formats:
        text("table.tex", to_latex(table))
    if "csv" in formats:
        text("table.csv", to_csv(table))

    methods, tasks = runset.methods, runset.tasks
    labels = {t: runset.task_label(t) for t in tasks}
    fig_dir = out_dir / "figures"
    curves = anytime_curves(runset, "test", median=median)
    regret = anytime_curves(runset, "test", regret=True, median=median)
    figs = {
        "anytime_test": plot_anytime(curves, methods, tasks, labels, fig_dir / "anytime_test"),
        "anytime_regret": plot_anytime(regret, methods, tasks, labels, fig_dir / "anytime_regret"),
        "rank": plot_ranks(curves.grid, *ranks_over_time(runset, curves.grid), methods,
                           runset.cost_unit, fig_dir / "rank_over_time"),
        "final": plot_finals(finals, "test", fig_dir / "final_test"),
    }
    fr, blocks = friedman_on_finals(finals)
    if fr is not None:
        figs["cd"] = plot_cd(fr, fig_dir / "critical_difference", blocks)
    for paths in figs.values():
        written += paths

    if "html" in formats:
        written.append(_index(out_dir, runset, table, figs, fr, blocks, written, models))
    log.info("wrote %d files to %s", len(written), out_dir)
    return written


def _index(out_dir: Path, runset: RunSet, table: Table, figs: dict[str, list[Path]],
           fr: Friedman | None, blocks: str, written: list[Path],
           models: tuple[list[str], list[list[tuple[str, bool]]]] | None = None) -> Path:
    n_seeds = {len(runset.select(m, t)) for m in runset.methods for t in runset.tasks} - {0}
    page = Page("nas-harness report")
    page.text(f"{len(runset.runs)} runs: {len(runset.methods)} methods x {len(runset.tasks)} datasets, "
              f"{'/'.join(str(n) for n in sorted(n_seeds))} seeds each; budget {budget_label(runset.budget)}; "
              f"cost unit {runset.cost_unit}.")
    for line in runset.skipped:
        page.text(line, note=True)
    page.heading("Final results")
    page.table(*table_grid(table))
    page.text(caption(table), note=True)
    if models is not None:
        page.heading("Predictor quality")
        page.table(*models)
        page.text(MODELS_NOTE, note=True)
    page.heading("Anytime performance")
    page.figure(figs["anytime_test"][0], out_dir, "Incumbent test accuracy vs search cost")
    page.figure(figs["anytime_regret"][0], out_dir, "Test regret vs search cost (w.r.t. best found)")
    page.figure(figs["rank"][0], out_dir, "Average rank over time across datasets")
    page.heading("Final accuracy distribution")
    page.figure(figs["final"][0], out_dir, "Final incumbent test accuracy per seed")
    page.heading("Statistics")
    page.text("Holm-adjusted one-sided p-values for 'A > B' on final accuracy (bold: < α).")
    page.table(*pairwise_grid(table))
    if fr is not None:
        page.text(f"Friedman chi² = {fr.statistic:.3g}, p = {fr.pvalue:.3g} over {fr.n_blocks} {blocks}; "
                  f"Nemenyi CD = {fr.cd:.3g} (α = {fr.alpha:g}).")
        page.figure(figs["cd"][0], out_dir, "Critical-difference diagram (test accuracy)")
    else:
        page.text(blocks, note=True)
    page.heading("Files")
    page.links([p for p in written if p.suffix in (".md", ".tex", ".csv")], out_dir)
    return page.write(out_dir / "index.html")
