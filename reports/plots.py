"""Figures drawn from aggregates (reports.aggregate / reports.stats); nothing is computed here.

Uses ``matplotlib.figure.Figure`` directly with the Agg canvas, so no pyplot global state is
touched. Every figure is written as PNG and PDF.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FormatStrFormatter,
    FuncFormatter,
    LogLocator,
    NullFormatter,
)

from reports.aggregate import Curves, Finals
from reports.names import display
from reports.stats import Friedman, cd_groups

UNIT_WORDS = {"simulated_s": "simulated seconds", "measured_s": "measured seconds"}
METRIC_WORDS = {"valid": "validation", "test": "test"}


def method_colors(methods: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """A fixed colour per method (sorted order), the same in every figure."""
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(sorted(methods))}


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png (150 dpi) and ``stem``.pdf; returns both paths.

    The constrained layout is solved once, then frozen, so the second format costs no re-layout.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.set_layout_engine("none")
    fig.savefig(paths[1])
    return paths


def _plain(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _log_cost_axis(ax: Axes, cost_unit: str) -> None:
    """Log x axis of search cost with plain numbers (1,000 rather than 10^3)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"search cost ({UNIT_WORDS.get(cost_unit, cost_unit)}, log scale)")


def _panels(n: int, height: float = 3.4) -> tuple[Figure, list]:
    fig = Figure(figsize=(4.6 * n, height), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    return fig, list(axes)


def _legend(fig: Figure, axes: list, n: int) -> None:
    """As many legend columns as fit the figure's width; long method names wrap to more rows."""
    handles, labels = axes[0].get_legend_handles_labels()
    entry_pt = 30 + 0.6 * _legend_fontsize() * max((len(lb) for lb in labels), default=1)
    ncol = max(1, min(n, 4, int(fig.get_figwidth() * 72 // entry_pt)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)


def _legend_fontsize() -> float:
    """The legend font size in points (matplotlib's rc default, resolved)."""
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    return float(FontProperties(size=rcParams["legend.fontsize"]).get_size_in_points())


def plot_anytime(curves: Curves, methods: Sequence[str], tasks: Sequence[tuple[str, str]],
                 labels: dict[tuple[str, str], str], stem: Path,
                 names: dict[str, str] | None = None) -> list[Path]:
    """Incumbent accuracy (or regret) vs cost on a log axis, one panel per dataset, with band."""
    colors = method_colors(methods)
    fig, axes = _panels(len(tasks))
    what = METRIC_WORDS[curves.metric]
    ylabel = (f"{what} regret (%, vs best found)" if curves.regret
              else f"incumbent {what} accuracy (%)")
    for ax, task in zip(axes, tasks):
        for m in methods:
            band = curves.bands.get((task, m))
            if band is None:
                continue
            ax.plot(curves.grid, band.center, color=colors[m], lw=1.6, label=display(m, names),
                    drawstyle="steps-post")
            ax.fill_between(curves.grid, band.lo, band.hi, color=colors[m], alpha=0.2, lw=0,
                            step="post")
        _log_cost_axis(ax, curves.cost_unit)
        if curves.regret:
            ax.set_yscale("log", nonpositive="mask")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{display(labels[task], names)} (n={max(b.n for (t, _), b in curves.bands.items() if t == task)} seeds)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(f"{ylabel}\n{curves.statistic}")
    _legend(fig, axes, len(methods))
    return save(fig, stem)


def plot_ranks(grid: np.ndarray, ranks: np.ndarray, block_word: str, methods: Sequence[str],
               cost_unit: str, stem: Path, names: dict[str, str] | None = None) -> list[Path]:
    """Average rank (1 = best) of each method over time, across datasets (and seeds)."""
    colors = method_colors(methods)
    fig, (ax,) = _panels(1)
    for i, m in enumerate(methods):
        ax.plot(grid, ranks[i], color=colors[m], lw=1.6, label=display(m, names), drawstyle="steps-post")
    _log_cost_axis(ax, cost_unit)
    ax.set_ylim(len(methods) + 0.2, 0.8)  # rank 1 at the top
    ax.set_yticks(range(1, len(methods) + 1))
    ax.set_ylabel("average rank (1 = best)")
    ax.set_title(f"rank of incumbent test accuracy,\naveraged over {block_word}", fontsize=10)
    ax.grid(True, alpha=0.3)
    _legend(fig, [ax], len(methods))
    return save(fig, stem)


def plot_finals(finals: Finals, metric: str, stem: Path, names: dict[str, str] | None = None) -> list[Path]:
    """Box plot of final accuracy per method, one panel per dataset, with every seed as a dot."""
    methods, tasks = finals.methods, finals.tasks
    colors = method_colors(methods)
    fig, axes = _panels(len(tasks))
    for ax, task in zip(axes, tasks):
        data = [finals.values(task, m, metric) for m in methods]
        pos = [i for i, d in enumerate(data) if len(d)]
        bp = ax.boxplot([data[i] for i in pos], positions=pos, widths=0.5, showfliers=False,
                        patch_artist=True, medianprops={"color": "black"})
        for patch, i in zip(bp["boxes"], pos):
            patch.set_facecolor((*colors[methods[i]][:3], 0.25))
        for i in pos:  # every seed as a dot, up to 500 per box (an even subsample beyond)
            d = data[i][np.linspace(0, len(data[i]) - 1, min(len(data[i]), 500)).astype(int)]
            offs = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else np.zeros(1)
            ax.scatter(i + offs, d, s=9, color=colors[methods[i]], zorder=3)
        ax.set_xticks(range(len(methods)), [display(m, names) for m in methods], rotation=20, ha="right")
        ax.set_title(display(task, names))
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel(f"final {METRIC_WORDS[metric]} accuracy (%)")
    return save(fig, stem)


def plot_cd(fr: Friedman, stem: Path, block_word: str = "blocks",
            names: dict[str, str] | None = None) -> list[Path]:
    """Critical-difference diagram: methods on an average-rank axis; a bar joins methods the
    post-hoc test (``fr.different``: Wilcoxon + Holm, or Nemenyi) does not separate, so the
    diagram says what the post-hoc table beside it says."""
    k = len(fr.methods)
    order = np.argsort(fr.avg_ranks, kind="stable")
    fig = Figure(figsize=(6.0, 1.2 + 0.32 * k), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(k + 0.3, 0.7)  # rank 1 on the right, as in Demšar's diagrams
    top = 0.0
    ax.hlines(top, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, top, top + 0.08, color="black", lw=1)
        ax.text(r, top + 0.12, str(r), ha="center", va="bottom", fontsize=8)
    half = (k + 1) // 2
    for pos, i in enumerate(order):
        left = pos >= half  # the worse half is labelled on the left
        y = -0.35 - 0.3 * (pos - half if left else pos)
        x_end = k + 0.2 if left else 0.8
        ax.plot([fr.avg_ranks[i], fr.avg_ranks[i], x_end], [top, y, y], color="black", lw=0.8)
        ax.text(x_end, y, f" {display(fr.methods[i], names)} ({fr.avg_ranks[i]:.2f}) ",
                ha="right" if left else "left", va="center", fontsize=8)
    ranks_sorted = fr.avg_ranks[order]
    for g, (lo, hi) in enumerate(cd_groups(fr.avg_ranks, fr.cd, fr.different)):
        y = -0.12 - 0.08 * g
        ax.hlines(y, ranks_sorted[lo] - 0.03, ranks_sorted[hi] + 0.03, color="tab:red", lw=3)
    if fr.posthoc == "nemenyi":
        ax.hlines(top + 0.45, 1, 1 + fr.cd, color="black", lw=1.5)
        ax.text(1 + fr.cd / 2, top + 0.5, f"CD = {fr.cd:.2f}", ha="center", va="bottom", fontsize=8)
        how = f"Nemenyi CD, α = {fr.alpha:g}"
    else:
        how = f"bars: not separated by Wilcoxon + Holm, α = {fr.alpha:g}"
    ax.set_ylim(-0.5 - 0.3 * half, top + 0.8)
    ax.axis("off")
    ax.set_title(f"Friedman p = {fr.pvalue:.3g} over {fr.n_blocks} {block_word}; {how}", fontsize=9)
    return save(fig, stem)


def plot_profile(taus: np.ndarray, profiles: dict[str, np.ndarray], stem: Path,
                 names: dict[str, str] | None = None) -> list[Path]:
    """Performance profile over tasks: fraction of runs whose per-task normalized final score
    exceeds tau (rliable's score distribution), one line per method."""
    colors = method_colors(list(profiles))
    fig, (ax,) = _panels(1)
    for m, prof in profiles.items():
        ax.plot(taus, prof, color=colors[m], lw=1.6, label=display(m, names))
    ax.set_xlabel("normalized final test accuracy τ\n(per task: 0 = worst run, 1 = best run)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    _legend(fig, [ax], len(profiles))
    return save(fig, stem)
