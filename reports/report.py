"""One call from a directory of trajectories to every table, figure and the index page.

Linear in the number of runs: runs are grouped once (``RunSet.select``), the tests are scipy's
O(n log n) routines, and the per-seed dot plots are subsampled. Each stage is logged with its
time, so a long report shows where it is.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from reports.aggregate import (
    Finals,
    anytime_curves,
    finals_from_runs,
    normalized_scores,
    performance_profile,
    rank_blocks,
    ranks_over_time,
)
from reports.html import Page
from reports.load import RunSet, load_runs
from reports.names import display
from reports.predictor_quality import quality_grid
from reports.stats import (
    POSTHOCS,
    Friedman,
    friedman,
    iqm,
    stratified_bootstrap_ci,
    too_few_line,
)
from reports.tables import (
    Table,
    build_table,
    caption,
    grid_markdown,
    markdown_with_notes,
    notes,
    pairwise_grid,
    pairwise_markdown,
    table_grid,
    to_csv,
    to_latex,
)

log = logging.getLogger(__name__)

FORMATS = ("md", "tex", "csv", "html")
MODELS_NOTE = ("Kendall τ of each model-based method's predictor or surrogate against the validation "
               "accuracies it paid for, mean ± std over runs (reports/predictor_quality.py).")
BOOTSTRAP_SEED = 0  # the stratified bootstrap's stream: the same report twice gives the same CIs


def parse_formats(text: str) -> tuple[str, ...]:
    """'md,tex' -> ('md', 'tex'); an unknown format raises HarnessError naming it."""
    got = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in got if f not in FORMATS]
    if bad or not got:
        raise HarnessError(f"--format takes a comma list of {', '.join(FORMATS)}, got {text!r}")
    return got


def friedman_on_finals(finals: Finals, metric: str = "test", posthoc: str = "wilcoxon",
                       median: bool = False) -> tuple[Friedman | None, str]:
    """The Friedman test over tasks (``rank_blocks``); None and the reason when it cannot be run."""
    scores, blocks = rank_blocks(finals, metric, median)
    if len(finals.methods) < 2 or scores.shape[0] < 2:
        return None, (f"Cross-task tests skipped: they need 2+ methods and 2+ tasks with every method "
                      f"(a block is a task, since seeds of different methods share no randomness); "
                      f"this report has {scores.shape[0]}.")
    return friedman(scores, finals.methods, posthoc=posthoc), blocks


@dataclass(frozen=True)
class Overall:
    """Across tasks: Friedman + post-hoc, and IQM of normalized scores with stratified-bootstrap CIs."""

    fr: Friedman
    blocks: str
    iqm: dict[str, tuple[float, float, float]]  # method -> (IQM, lo, hi)
    center: str = "mean"  # how a task's block score is made from its seeds


def overall(finals: Finals, posthoc: str = "wilcoxon", median: bool = False) -> tuple[Overall | None, str]:
    fr, blocks = friedman_on_finals(finals, "test", posthoc, median)
    if fr is None:
        return None, blocks
    scores = normalized_scores(finals, "test")
    agg = {m: stratified_bootstrap_ci(list(scores[m].values()), iqm, BOOTSTRAP_SEED) for m in fr.methods}
    return Overall(fr, blocks, agg, "median" if median else "mean"), blocks


def overall_grid(o: Overall, names: Mapping[str, str] | None = None) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Rows in rank order: average rank (bold: best and those the post-hoc test does not
    separate from it, the methods the CD diagram's bars join to the best) and the IQM [95% CI]."""
    fr = o.fr
    bold = fr.best_and_ties()
    header = ["method", f"average rank over {fr.n_blocks} tasks", "IQM normalized test [95% CI]"]
    rows = []
    for i in np.argsort(fr.avg_ranks, kind="stable"):
        m = fr.methods[i]
        v, lo, hi = o.iqm[m]
        rows.append([(display(m, names), False), (f"{fr.avg_ranks[i]:.2f}", m in bold),
                     (f"{v:.3f} [{lo:.3f}, {hi:.3f}]", False)])
    return header, rows


def posthoc_grid(fr: Friedman, names: Mapping[str, str] | None = None) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Pairwise post-hoc decisions: Holm-adjusted two-sided Wilcoxon p-values, or Nemenyi's
    |rank difference| vs CD; bold = separated."""
    header = ["pair", "Holm-adjusted p (Wilcoxon, two-sided)" if fr.posthoc == "wilcoxon"
              else f"|Δ rank| (Nemenyi CD = {fr.cd:.2f})"]
    rows = []
    k = len(fr.methods)
    diff = fr.different if fr.different is not None else np.zeros((k, k), bool)
    for i in range(k):
        for j in range(i + 1, k):
            label = f"{display(fr.methods[i], names)} vs {display(fr.methods[j], names)}"
            val = (fr.p_posthoc[i, j] if fr.posthoc == "wilcoxon" and fr.p_posthoc is not None
                   else abs(fr.avg_ranks[i] - fr.avg_ranks[j]))
            rows.append([(label, False), (f"{val:.3g}", bool(diff[i, j]))])
    return header, rows


def overall_text(o: Overall) -> list[str]:
    fr = o.fr
    how = ("pairwise Wilcoxon signed-rank on the per-task scores, Holm-corrected (Benavoli et al. 2016)"
           if fr.posthoc == "wilcoxon" else f"Nemenyi critical difference {fr.cd:.3g}")
    out = [(f"Friedman chi² = {fr.statistic:.3g}, p = {fr.pvalue:.3g} over {fr.n_blocks} tasks "
            f"(block score: each method's {o.center} final test accuracy on the task); post-hoc: {how}; "
            f"α = {fr.alpha:g}. IQM: interquartile mean of final test accuracy rescaled per task to "
            "[0, 1] (worst to best run), 95% stratified-bootstrap CI over runs within tasks.")]
    if fr.posthoc == "wilcoxon" and not fr.resolvable():
        out.append(too_few_line(fr.floor, fr.alpha, f"{fr.n_blocks} tasks", "add tasks (datasets or benchmarks)"))
    return out


def provenance_lines(runset: RunSet, command: str | None) -> list[str]:
    """Package version, data sha256, protocol (from the runs' attributes) and the command."""
    prov = runset.provenance()
    lines = [f"{k}: {', '.join(v)}" for k, v in prov.items()]
    if command:
        lines.append(f"command: {command}")
    return lines


def write_report(root: str | os.PathLike, out: str | os.PathLike | None = None,
                 formats: Iterable[str] = FORMATS, median: bool = False,
                 include_running: bool = False, names: Mapping[str, str] | None = None,
                 order: Iterable[str] = (), posthoc: str = "wilcoxon",
                 command: str | None = None) -> list[Path]:
    """Read every trajectory under ``root`` and write tables, figures and index.html to ``out``
    (default ``root``/report). Returns the paths written; figures are always written.

    ``names``: display-name overrides; ``order``: datasets to show first; ``posthoc``: "wilcoxon"
    or "nemenyi" across tasks; ``command``: the command line, for the provenance block.
    """
    if posthoc not in POSTHOCS:
        raise HarnessError(f"--posthoc takes one of {', '.join(POSTHOCS)}, got {posthoc!r}")
    clock = _Stages()
    runset = load_runs(root, include_running=include_running)
    clock.done(f"read {len(runset.runs)} runs")
    names = dict(names or {})
    out_dir = Path(out) if out is not None else Path(root) / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    finals = finals_from_runs(runset, order)
    table = build_table(finals, median=median, names=names)
    ov, why = overall(finals, posthoc, median)
    clock.done("tables and tests")
    prov = provenance_lines(runset, command)
    written: list[Path] = []

    def text(name: str, body: str) -> None:
        path = out_dir / name
        path.write_text(body, encoding="utf-8")
        written.append(path)

    models = quality_grid(runset)
    if "md" in formats:
        text("table.md", markdown_with_notes(table))
        text("pairwise.md", pairwise_markdown(table) + "\n" + _overall_markdown(ov, why, names))
        if models is not None:
            text("predictors.md", f"{grid_markdown(*models)}\n{MODELS_NOTE}\n")
    if "tex" in formats:
        text("table.tex", to_latex(table, provenance=prov))
    if "csv" in formats:
        text("table.csv", to_csv(table))

    methods, tasks = runset.methods, [t for t in _ordered_tasks(runset, finals)]
    labels = {t: runset.task_label(t) for t in tasks}
    fig_dir = out_dir / "figures"
    curves = anytime_curves(runset, "test", median=median)
    regret = anytime_curves(runset, "test", regret=True, median=median)
    clock.done("anytime curves")
    figs = {
        "anytime_test": plot("anytime", curves, methods, tasks, labels, fig_dir / "anytime_test", names),
        "anytime_regret": plot("anytime", regret, methods, tasks, labels, fig_dir / "anytime_regret", names),
        "rank": plot("ranks", curves.grid, *ranks_over_time(runset, curves.grid, median=median), methods,
                     runset.cost_unit, fig_dir / "rank_over_time", names),
        "final": plot("finals", finals, "test", fig_dir / "final_test", names),
    }
    if ov is not None:
        figs["cd"] = plot("cd", ov.fr, fig_dir / "critical_difference", "tasks", names)
        taus = np.linspace(0.0, 1.0, 101)
        scores = normalized_scores(finals, "test")
        figs["profile"] = plot("profile", taus, {m: performance_profile(scores[m], taus) for m in ov.fr.methods},
                               fig_dir / "performance_profile", names)
    for paths in figs.values():
        written += paths
    clock.done("figures")

    if "html" in formats:
        written.append(_index(out_dir, runset, table, figs, ov, why, written, models, names, prov))
    log.info("wrote %d files to %s", len(written), out_dir)
    return written


def plot(kind: str, *args: object) -> list[Path]:
    """Draw with ``reports.plots`` (matplotlib is imported only when a figure is made)."""
    from reports import plots

    fn = {"anytime": plots.plot_anytime, "ranks": plots.plot_ranks, "finals": plots.plot_finals,
          "cd": plots.plot_cd, "profile": plots.plot_profile}[kind]
    return fn(*args)  # type: ignore[operator]


class _Stages:
    """Logs each stage of a report with its duration (progress for long reports)."""

    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        log.info("report: %s in %.1f s (%.1f s so far)", what, now - self.last, now - self.t0)
        self.last = now


def _ordered_tasks(runset: RunSet, finals: Finals) -> list[tuple[str, str]]:
    by_label = {runset.task_label(t): t for t in runset.tasks}
    return [by_label[label] for label in finals.tasks]


def _overall_markdown(ov: Overall | None, why: str, names: Mapping[str, str]) -> str:
    if ov is None:
        return why + "\n"
    return (grid_markdown(*overall_grid(ov, names)) + "\n" + grid_markdown(*posthoc_grid(ov.fr, names))
            + "\n" + "\n".join(overall_text(ov)) + "\n")


def _index(out_dir: Path, runset: RunSet, table: Table, figs: dict[str, list[Path]],
           ov: Overall | None, why: str, written: list[Path],
           models: tuple[list[str], list[list[tuple[str, bool]]]] | None, names: Mapping[str, str],
           prov: list[str]) -> Path:
    n_seeds = {len(runset.select(m, t)) for m in runset.methods for t in runset.tasks} - {0}
    page = Page("nas-harness report")
    page.text(f"{len(runset.runs)} runs: {len(runset.methods)} methods x {len(runset.tasks)} datasets, "
              f"{'/'.join(str(n) for n in sorted(n_seeds))} seeds each; budget {runset.budget_text()}; "
              f"cost unit {runset.cost_unit}.")
    for line in runset.skipped:
        page.text(line, note=True)
    page.heading("Final results")
    page.table(*table_grid(table))
    page.text(caption(table), note=True)
    for line in notes(table):
        page.text(line, note=True)
    if models is not None:
        page.heading("Predictor quality")
        page.table(*models)
        page.text(MODELS_NOTE, note=True)
    page.heading("Anytime performance")
    page.figure(figs["anytime_test"][0], out_dir, "Incumbent test accuracy vs search cost")
    page.figure(figs["anytime_regret"][0], out_dir, "Test regret vs search cost (w.r.t. best found)")
    page.figure(figs["rank"][0], out_dir, "Average rank over time across tasks")
    page.heading("Final accuracy distribution")
    page.figure(figs["final"][0], out_dir, "Final incumbent test accuracy per seed")
    page.heading("Statistics per dataset")
    page.text("Holm-adjusted one-sided Mann-Whitney p-values for 'A > B' on final accuracy, with the "
              "Vargha-Delaney effect size A (bold: p < α). Runs of different methods share no randomness.")
    page.table(*pairwise_grid(table))
    page.heading("Across tasks")
    if ov is not None:
        page.table(*overall_grid(ov, names))
        page.table(*posthoc_grid(ov.fr, names))
        for line in overall_text(ov):
            page.text(line)
        page.figure(figs["cd"][0], out_dir, "Critical-difference diagram (test accuracy; bars = not separated)")
        page.figure(figs["profile"][0], out_dir, "Performance profile over tasks (normalized test accuracy)")
    else:
        page.text(why, note=True)
    page.heading("Provenance")
    for line in prov or ["no provenance attributes in these runs"]:
        page.text(line, note=True)
    page.heading("Files")
    page.links([p for p in written if p.suffix in (".md", ".tex", ".csv")], out_dir)
    return page.write(out_dir / "index.html")
