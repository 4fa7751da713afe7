"""The held-out figures of a fit, written beside the surrogate file: ``<file>.report.json``, a
Markdown table ``<file>.report.md`` and the calibration plot ``<file>.calibration.png`` (the coverage
of each central interval against its nominal level, per target)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.surrogates.fit import LEVELS
from harness.atomic import atomic_path


def _write(path: Path, text: str) -> Path:
    with atomic_path(path) as part:
        part.write_text(text)
    return path


def write_report(report: dict[str, Any], model_path: Path) -> list[Path]:
    """The three files; returns their paths."""
    base = Path(model_path)
    js = _write(base.with_name(base.name + ".report.json"), json.dumps(report, indent=1, sort_keys=True))
    lines = [f"# Surrogate fit: {report['source']}", "",
             f"{report['n_architectures']} architectures, space {report['space']}, fidelity {report['fidelity']:g}; "
             f"training data sha256 {report['training_sha256'][:16]}.", "",
             "| target | train | test | Spearman | Kendall tau | RMSE | " +
             " | ".join(f"{lv:.0%} cover" for lv in LEVELS) + " |",
             "|---" * (6 + len(LEVELS)) + "|"]
    for name, t in sorted(report["targets"].items()):
        lines.append(f"| {name} | {t['train']} | {t['n']} | {t.get('spearman', float('nan')):.3f} | "
                     f"{t.get('kendall_tau', float('nan')):.3f} | {t['rmse']:.3g} | " +
                     " | ".join(f"{t['coverage'][f'{lv:g}']:.2f}" for lv in LEVELS) + " |")
    md = _write(base.with_name(base.name + ".report.md"), "\n".join(lines) + "\n")
    return [js, md, _plot(report, base.with_name(base.name + ".calibration.png"))]


def _plot(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="ideal")
    for name, t in sorted(report["targets"].items()):
        ax.plot(LEVELS, [t["coverage"][f"{lv:g}"] for lv in LEVELS], marker="o", label=name)
    ax.set_xlabel("nominal central interval")
    ax.set_ylabel("held-out coverage")
    ax.set_xlim(0.4, 1)
    ax.set_ylim(0.4, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as part:
        fig.savefig(part, format="png", dpi=100)
    plt.close(fig)
    return path
