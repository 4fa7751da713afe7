"""Paper tables in the NB201 layout: rows = methods, side columns (cost, queries, ...), then valid/test
per dataset (mean ± std, or median [IQR] for every column); the best method and those not
significantly worse than it (one-sided unpaired tests, Holm-corrected) in bold. Markdown, LaTeX
(a complete ``table`` environment) and CSV from one ``Table``.

Runs whose method returned before the budget ran out are flagged under-spent (a dagger on the
method and one note line with the count and the mean fraction of the budget they spent).

``compare`` prints its summary with ``summary_markdown(records)``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reports.aggregate import METRICS, Finals, finals_from_records
from reports.load import IncompatibleRunsError
from reports.names import display
from reports.stats import ALPHA, Pairwise, best_and_ties, pairwise_tests, too_few_line

COST_LABELS = {"simulated_s": "cost (sim. s)", "measured_s": "cost (measured s)"}
SIDE_COLUMNS = ("cost", "train", "wall", "evals")  # per-method columns before the accuracy columns
MISSING = "—"
UNDER_SPENT_MARK = "†"


@dataclass(frozen=True)
class Cell:
    """Summary of one (method, task, metric) over seeds."""

    n: int          # values present
    runs: int       # runs, including those whose value is missing (NaN)
    mean: float
    std: float
    median: float
    q25: float
    q75: float
    bold: bool = False


# One convention for every table, Table 5 included: the sample standard deviation over runs
# (ddof=1). At the paper's 500 runs it differs from numpy's population std by 0.1 %.
STD_DDOF = 1


def summarize(values: np.ndarray, bold: bool = False) -> Cell:
    """Mean, sample std (``STD_DDOF``), median and quartiles of the non-NaN values; one place for
    every table's statistics."""
    v = np.asarray(values, float)
    runs = len(v)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return Cell(0, runs, np.nan, np.nan, np.nan, np.nan, np.nan, False)
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    std = float(v.std(ddof=STD_DDOF)) if len(v) > STD_DDOF else 0.0
    return Cell(len(v), runs, float(v.mean()), std, float(med), float(q25), float(q75), bold)


@dataclass(frozen=True)
class Table:
    """Everything the renderers print; ``cells[(method, task, metric)]`` is absent for no runs."""

    methods: list[str]
    tasks: list[str]
    cells: dict[tuple[str, str, str], Cell]
    cost: dict[tuple[str, str], Cell]  # (method, one of SIDE_COLUMNS) over all the method's runs
    tests: dict[tuple[str, str], Pairwise]  # (task, metric) -> pairwise one-sided tests
    cost_unit: str
    median: bool
    alpha: float
    names: dict[str, str] = field(default_factory=dict)  # display-name overrides
    under_spent: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # Finals.under_spent
    tabular: bool = False  # simulated costs: the measured wall clock says nothing about a method

    def name(self, key: str) -> str:
        return display(key, self.names)


def build_table(finals: Finals, median: bool = False, alpha: float = ALPHA,
                names: Mapping[str, str] | None = None) -> Table:
    """Summaries, pairwise tests and bold marks for every (method, task, metric) in ``finals``.

    Each method draws its own random stream per seed, so runs of two methods share nothing and
    the tests are unpaired (Mann-Whitney U); each (task, metric) is one Holm family.
    """
    methods, tasks = finals.methods, finals.tasks
    cells: dict[tuple[str, str, str], Cell] = {}
    tests: dict[tuple[str, str], Pairwise] = {}
    center = np.median if median else np.mean
    for task in tasks:
        present = [m for m in methods if finals.mask(task, m).any()]
        for metric in METRICS:
            samples = {m: finals.values(task, m, metric) for m in present}
            bold: set[str] = set()
            if len(present) > 1:
                tests[(task, metric)] = pw = pairwise_tests(samples, paired=False)
                bold = best_and_ties(samples, pw, alpha, center=center)
            for m in present:
                cells[(m, task, metric)] = summarize(samples[m], m in bold)
    cost = {(m, k): summarize(getattr(finals, k)[finals.method == m]) for m in methods for k in SIDE_COLUMNS}
    one_shot = any(cost[(m, "train")].n for m in methods)
    return Table(methods, tasks, cells, cost, tests, finals.cost_unit, median, alpha, dict(names or {}),
                 finals.under_spent(), finals.cost_unit == "simulated_s" and not one_shot)


def _num(x: float) -> str:
    if not np.isfinite(x):
        return MISSING
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def cell_text(c: Cell | None, median: bool, pm: str = "±") -> str:
    """'93.92 ± 0.30', or '93.90 [93.70, 94.10]' for median/IQR; a dash when there are no values;
    ' (n=4)' when only some runs have a value."""
    if c is None or c.n == 0:
        return MISSING
    if median:
        text = f"{c.median:.2f} [{c.q25:.2f}, {c.q75:.2f}]"
    else:
        text = f"{c.mean:.2f}" if c.n == 1 else f"{c.mean:.2f} {pm} {c.std:.2f}"
    return text if c.n == c.runs else f"{text} (n={c.n})"


def table_grid(t: Table, pm: str = "±") -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows of (text, bold) shared by the Markdown, LaTeX and HTML renderers."""
    labels = {"cost": COST_LABELS.get(t.cost_unit, f"cost ({t.cost_unit})"), "wall": "wall (s)",
              "evals": "evals/run", "train": "of which measured own training (s)"}
    side = [k for k in SIDE_COLUMNS if any(t.cost[(m, k)].n for m in t.methods)  # known somewhere
            and not (k == "wall" and t.tabular)]
    # one-shot methods beside tabular ones: their cost is measured seconds, the others' simulated
    one_shot = {m for m in t.methods if t.cost[(m, "train")].n}
    mixed = t.cost_unit == "simulated_s" and 0 < len(one_shot) < len(t.methods)
    if mixed:
        labels["cost"] = "cost (s)"
    header = ["method", *(labels[k] for k in side)]
    header += [f"{t.name(task)} {metric}" for task in t.tasks for metric in METRICS]
    rows = []
    for m in t.methods:
        unit = (" measured" if m in one_shot else " sim.") if mixed else ""
        label = t.name(m) + (f" {UNDER_SPENT_MARK}" if m in t.under_spent else "")
        row = [(label, False)]
        for k in side:
            c = t.cost[(m, k)]
            row.append((_num(c.median if t.median else c.mean) + (unit if k == "cost" else ""), False))
        for task in t.tasks:
            for metric in METRICS:
                c = t.cells.get((m, task, metric))
                row.append((cell_text(c, t.median, pm), bool(c and c.bold)))
        rows.append(row)
    return header, rows


def caption(t: Table) -> str:
    stat = "median [IQR]" if t.median else "mean ± std (sample std, ddof=1)"
    side = "side columns: medians" if t.median else "side columns: means"
    names = sorted({pw.test for pw in t.tests.values()})
    how = f"; bold: best and not significantly worse (one-sided {', '.join(names)}, Holm, α={t.alpha:g})" \
        if names else ""
    return f"Final incumbent accuracy (%), {stat} over seeds ({side}){how}."


def notes(t: Table) -> list[str]:
    """One line per thing a reader must know: under-spent runs, tests that cannot separate anything."""
    out = [f"{UNDER_SPENT_MARK} under-spent: {n} of {runs} runs of {t.name(m)} ended by the method before the "
           f"budget ran out, spending {_pct(frac)} of it on average; their budgets were not identical."
           for m, (n, runs, frac) in t.under_spent.items()]
    if t.tests and not any(pw.resolvable(t.alpha) for pw in t.tests.values()):
        floor = min(pw.floor for pw in t.tests.values())
        n = sorted({c.n for c in t.cells.values() if c.n})
        out.append(too_few_line(floor, t.alpha, f"{'/'.join(map(str, n))} runs per method and dataset"))
    return out


def _pct(frac: float) -> str:
    return f"{100 * frac:.0f} %" if np.isfinite(frac) else "an unknown part"


def grid_markdown(header: list[str], rows: list[list[tuple[str, bool]]]) -> str:
    """A Markdown table from a header and rows of (text, bold) cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"**{s}**" if b else s for s, b in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_markdown(t: Table) -> str:
    return grid_markdown(*table_grid(t))


def markdown_with_notes(t: Table) -> str:
    """The table, its caption and its notes: what table.md and ``compare`` show."""
    return "\n".join([to_markdown(t), caption(t), *notes(t)]) + "\n"


def _tex(s: str) -> str:
    return (s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%")
            .replace("&", r"\&").replace("#", r"\#").replace("†", r"$^\dagger$").replace("α", r"$\alpha$")
            .replace("±", r"$\pm$"))


def to_latex(t: Table, label: str = "tab:nas-results", provenance: Iterable[str] = ()) -> str:
    """A complete booktabs ``table`` environment (caption with the notes, label) with one
    multicolumn group (valid, test) per dataset; ``provenance`` lines go first as comments."""
    header, rows = table_grid(t, pm=r"$\pm$")
    lead = len(header) - 2 * len(t.tasks)  # method + side columns
    cap = " ".join(_tex(x) for x in [caption(t), *notes(t)])
    out = [f"% {line}" for line in provenance]
    out += [r"\begin{table}[t]", r"\centering", rf"\caption{{{cap}}}", rf"\label{{{label}}}",
            r"\begin{tabular}{l" + "r" * (lead - 1) + "c" * (2 * len(t.tasks)) + "}", r"\toprule"]
    groups = " & ".join(rf"\multicolumn{{2}}{{c}}{{{_tex(t.name(task))}}}" for task in t.tasks)
    out.append(" & " * lead + groups + r" \\")
    out.append(" ".join(rf"\cmidrule(lr){{{lead + 1 + 2 * i}-{lead + 2 + 2 * i}}}" for i in range(len(t.tasks))))
    out.append(" & ".join(["Method", *(_tex(h) for h in header[1:lead])] + ["valid & test"] * len(t.tasks))
               + r" \\")
    out.append(r"\midrule")
    for row in rows:
        cells = [_tex(s) if i == 0 else s.replace(",", "{,}") for i, (s, _) in enumerate(row)]
        cells = [rf"\textbf{{{c}}}" if b else c for c, (_, b) in zip(cells, row)]
        out.append(" & ".join(cells).replace("—", "--") + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def to_csv(t: Table) -> str:
    """Long format: one line per (method, dataset, metric) with n, mean, std, median, q25, q75, bold;
    then the side columns (dataset "all") and, per method, the under-spent runs and their mean
    spent fraction."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "dataset", "metric", "n", "mean", "std", "median", "q25", "q75", "bold"])
    for (m, task, metric), c in sorted(t.cells.items()):
        w.writerow([m, task, metric, c.n, *(f"{x:.6g}" for x in (c.mean, c.std, c.median, c.q25, c.q75)),
                    int(c.bold)])
    names = {"cost": f"cost_{t.cost_unit}", "wall": "wall_measured_s", "evals": "evals",
             "train": "own_training_measured_s"}
    for (m, what), c in sorted(t.cost.items()):
        w.writerow([m, "all", names[what], c.n,
                    *(f"{x:.6g}" for x in (c.mean, c.std, c.median, c.q25, c.q75)), 0])
    for m, (n, _runs, frac) in sorted(t.under_spent.items()):
        w.writerow([m, "all", "under_spent_budget_fraction", n, f"{frac:.6g}", "", "", "", "", 0])
    return buf.getvalue()


def pairwise_grid(t: Table) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Holm-adjusted one-sided p-values with the Vargha-Delaney A effect size, one row per ordered
    pair "A > B"; bold when p < alpha."""
    cols = [k for k in ((task, m) for task in t.tasks for m in METRICS) if k in t.tests]
    header = ["H1"] + [f"{t.name(task)} {metric}" for task, metric in cols]
    rows = []
    for i, a in enumerate(t.methods):
        for j, b in enumerate(t.methods):
            if i == j:
                continue
            row = [(f"{t.name(a)} > {t.name(b)}", False)]
            for key in cols:
                pw = t.tests[key]
                if a in pw.methods and b in pw.methods:
                    ia, ib = pw.methods.index(a), pw.methods.index(b)
                    p, eff = pw.p_holm[ia, ib], pw.effect[ia, ib]
                    row.append((f"{p:.3g} (A={eff:.2f})", bool(p < t.alpha)))
                else:
                    row.append((MISSING, False))
            rows.append(row)
    return header, rows


def pairwise_markdown(t: Table) -> str:
    header, rows = pairwise_grid(t)
    if len(header) == 1:
        return "No pairwise tests (fewer than two methods per dataset).\n"
    names = ", ".join(sorted({pw.test for pw in t.tests.values()}))
    note = (f"\nHolm-adjusted one-sided p-values of {names} on final accuracy, per dataset and "
            f"metric (runs of different methods share no randomness, so the samples are independent); "
            f"A = Vargha-Delaney effect size P(A better) + ties/2 (0.5: none; 0.56/0.64/0.71: "
            f"small/medium/large); bold: p < {t.alpha:g}.\n")
    extra = [line for line in notes(t) if not line.startswith(UNDER_SPENT_MARK)]
    return grid_markdown(header, rows) + note + "".join(f"{line}\n" for line in extra)


def summary_markdown(records: Iterable[Mapping[str, Any]], median: bool = False,
                     cost_unit: str = "simulated_s", budget: tuple[float, float, float] | None = None,
                     order: Iterable[str] = (), names: Mapping[str, str] | None = None) -> str:
    """The paper table for in-memory final results, as Markdown with its notes (what ``compare``
    prints); linear in the number of records.

    Args:
        records: one dict per finished run with keys ``method`` (str), ``dataset`` (str),
            ``seed`` (int), ``report_valid`` and ``report_test`` (final incumbent accuracy, %),
            ``cost_s`` (total cost charged, in ``cost_unit``); optional ``wall_s`` (measured
            seconds), ``n_evals`` (queries), each shown as a column when present, and ``ended``
            ("method": the run ended before its budget, flagged under-spent). Other keys are
            ignored. NaN accuracies are left out and the cell says ``(n=...)``.
        median: show median [IQR] (and medians in the side columns) instead of mean ± std.
        cost_unit: "simulated_s" or "measured_s", for the cost column's header; the records'
            own ``cost_unit`` key wins when they all carry the same one.
        budget: (max evals, max cost, max epochs; -1 = none), for the under-spent fractions.
        order: datasets in the study's order; names: display-name overrides.

    Example:
        >>> print(summary_markdown([{"method": "rs", "dataset": "c10", "seed": 0,
        ...     "report_valid": 90.0, "report_test": 93.0, "cost_s": 12000.0}]).splitlines()[2])
        | rs | 12,000 | 90.00 | 93.00 |
    """
    recs = list(records)
    units = {str(r["cost_unit"]) for r in recs if "cost_unit" in r}
    if len(units) > 1:
        raise IncompatibleRunsError(f"results mix cost units: {', '.join(sorted(units))}")
    unit = units.pop() if units else cost_unit
    finals = finals_from_records(recs, unit, budget=budget, order=order)
    return markdown_with_notes(build_table(finals, median=median, names=names))
