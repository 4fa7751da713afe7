from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from reports.aggregate import finals_from_records
from reports.load import IncompatibleRunsError
from reports.tables import (
    build_table,
    cell_text,
    pairwise_markdown,
    summarize,
    summary_markdown,
    to_csv,
    to_latex,
    to_markdown,
)


def records(shift: float = 1.0, n: int = 10) -> list[dict]:
    """Method 'b' beats 'a' by ``shift`` on every seed of dataset d1; they tie on d2."""
    out = []
    for s in range(n):
        for m, add in (("a", 0.0), ("b", shift)):
            out.append({"method": m, "dataset": "d1", "seed": s, "report_valid": 90 + 0.1 * s + add,
                        "report_test": 93 + 0.1 * s + add, "cost_s": 12000.0 - s, "n_evals": 100})
            out.append({"method": m, "dataset": "d2", "seed": s, "report_valid": 70 + 0.1 * s,
                        "report_test": 71 + 0.1 * s, "cost_s": 12000.0 - s, "n_evals": 50})
    return out


def test_summarize_and_cell_text():
    c = summarize(np.array([1.0, 2.0, 3.0, np.nan]))
    assert (c.n, c.runs, c.mean, c.std, c.median) == (3, 4, 2.0, 1.0, 2.0)
    assert cell_text(c, median=False) == "2.00 ± 1.00 (n=3)"
    assert cell_text(summarize(np.array([1.0, 3.0])), median=True) == "2.00 [1.50, 2.50]"
    assert cell_text(None, median=False) == "—"


def test_bold_marks_best_and_ties():
    t = build_table(finals_from_records(records()))
    assert t.cells[("b", "d1", "test")].bold and not t.cells[("a", "d1", "test")].bold
    # identical results on d2: both best-or-tied
    assert t.cells[("a", "d2", "test")].bold and t.cells[("b", "d2", "test")].bold
    assert t.cells[("b", "d1", "test")].mean == pytest.approx(94.45)
    # seeds of different methods share nothing: unpaired even though both ran seeds 0-9
    assert "Mann-Whitney" in t.tests[("d1", "test")].test
    # scipy's Mann-Whitney (normal approximation beyond 8 runs), Holm over 2 pairs
    from scipy.stats import mannwhitneyu

    ref = mannwhitneyu(94 + 0.1 * np.arange(10), 93 + 0.1 * np.arange(10), alternative="greater").pvalue
    assert t.tests[("d1", "test")].p_holm[1, 0] == pytest.approx(2 * ref)


def test_markdown_layout():
    md = to_markdown(build_table(finals_from_records(records())))
    lines = md.splitlines()
    assert lines[0] == ("| method | cost (sim. s) | evals/run | d1 valid | d1 test | d2 valid | d2 test |")
    assert lines[3] == ("| b | 11,996 | 75.0 | **91.45 ± 0.30** | **94.45 ± 0.30** | **70.45 ± 0.30** "
                        "| **71.45 ± 0.30** |")
    assert summary_markdown(records()).startswith(md)


def test_display_names_median_side_columns_and_study_order():
    recs = [dict(r, method="random_search" if r["method"] == "a" else "regularized_evolution",
                 dataset={"d1": "cifar100", "d2": "cifar10-valid"}[r["dataset"]]) for r in records()]
    t = build_table(finals_from_records(recs), median=True, names={"regularized_evolution": "Evolution"})
    header, rows = to_markdown(t).splitlines()[0], to_markdown(t).replace("**", "").splitlines()[2:]
    assert header.startswith("| method | cost (sim. s) | evals/run | CIFAR-10 valid")  # the paper's order
    assert rows[0].startswith("| RS | 11,996 | 75.0 | 70.45 [") and rows[1].startswith("| Evolution |")
    study = build_table(finals_from_records(recs, order=("cifar100", "cifar10-valid")))
    assert to_markdown(study).splitlines()[0].startswith("| method | cost (sim. s) | evals/run | CIFAR-100 valid")


def test_under_spent_runs_are_flagged_everywhere():
    recs = records()
    for r in recs:
        if r["method"] == "a":
            r.update(ended="method", cost_s=3000.0 + r["seed"])
        else:
            r["ended"] = "budget"
    budget = (-1.0, 12000.0, -1.0)
    md = summary_markdown(recs, budget=budget)
    assert "| a † |" in md and "| b |" in md
    line = next(x for x in md.splitlines() if x.startswith("† under-spent"))
    # 20 runs of a (10 seeds x 2 datasets), spending 3000-3009 of 12000 s: 25 % on average
    assert "20 of 20 runs of a" in line and "25 %" in line
    t = build_table(finals_from_records(recs, budget=budget))
    assert "$^\\dagger$ under-spent" in to_latex(t)
    rows = list(csv.DictReader(io.StringIO(to_csv(t))))
    flag = next(r for r in rows if r["metric"] == "under_spent_budget_fraction")
    assert flag["method"] == "a" and flag["n"] == "20" and float(flag["mean"]) == pytest.approx(0.25, abs=1e-3)
    assert "†" not in summary_markdown(records(), budget=budget)


def test_too_few_runs_line():
    md = summary_markdown(records(n=2))
    assert "no difference can be significant at α=0.05" in md


def test_latex_booktabs():
    tex = to_latex(build_table(finals_from_records(records())), provenance=["command: x"])
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\multicolumn{2}{c}{d1}" in tex
    assert r"\textbf{94.45 $\pm$ 0.30}" in tex and r"\cmidrule(lr){4-5}" in tex
    assert tex.count(r" \\") == 4  # group row, header row, one row per method
    assert tex.startswith("% command: x\n\\begin{table}[t]") and tex.endswith("\\end{table}\n")
    assert "\\caption{Final incumbent accuracy (\\%)" in tex and "\\label{tab:nas-results}" in tex
    recs = [dict(r, method="my_method") if r["method"] == "a" else r for r in records()]
    assert r"my\_method" in to_latex(build_table(finals_from_records(recs)))


def test_csv_long_format():
    rows = list(csv.DictReader(io.StringIO(to_csv(build_table(finals_from_records(records()))))))
    b = next(r for r in rows if (r["method"], r["dataset"], r["metric"]) == ("b", "d1", "test"))
    assert float(b["mean"]) == pytest.approx(94.45) and b["bold"] == "1" and b["n"] == "10"
    assert {r["metric"] for r in rows} == {"valid", "test", "cost_simulated_s", "wall_measured_s", "evals",
                                          "own_training_measured_s"}


def test_pairwise_markdown_marks_significant():
    md = pairwise_markdown(build_table(finals_from_records(records())))
    assert "| b > a | 0.000183 (A=1.00) |" in md.replace("**", "")
    assert "**0.000183 (A=1.00)**" in md and "Vargha-Delaney" in md


def test_unpaired_seeds_use_mann_whitney():
    recs = [r for r in records() if not (r["method"] == "a" and r["seed"] == 0)]
    t = build_table(finals_from_records(recs))
    assert t.tests[("d1", "test")].test == "Mann-Whitney U (unpaired)"


def test_summary_rejects_mixed_units():
    recs = records()
    recs[0]["cost_unit"] = "measured_s"
    recs[1]["cost_unit"] = "simulated_s"
    with pytest.raises(IncompatibleRunsError, match="cost units"):
        summary_markdown(recs)


def test_summary_imports_no_scipy_stats():
    """compare's summary must not cost more than a small study: no `import scipy.stats` (~1 s)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom reports.tables import summary_markdown\n"
            "recs = [{'method': m, 'dataset': 'd', 'seed': s, 'report_valid': 1.0 * s, 'report_test': 2.0 * s + i,"
            " 'cost_s': 1.0} for i, m in enumerate('ab') for s in range(20)]\n"
            "summary_markdown(recs)\nprint('scipy.stats' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
