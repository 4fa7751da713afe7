"""nb301-mini: a small DARTS-space surrogate fitted from the 500 NAS-Bench-301 architectures that
NASLib ships with their zero-cost scores (``zc_nasbench301.json``, Apache-2.0), so a DARTS-space
study runs with no download.

What 500 points support: a rough ranking of cells (held-out Kendall tau stored in the file and
printed by ``prepare``), good enough to compare search methods on a realistic landscape; not the
fine ordering among the best cells that NAS-Bench-301's 60k-point ensemble resolves, and no
runtimes: the data carry FLOPs, so the charged cost is nominal, ``SECONDS_PER_MFLOP`` x predicted
MFLOPs. The report values are the predicted validation accuracy (the file has no test split).

Prepared once into the cache (``NAS_HARNESS_CACHE``), atomically, under a name carrying the
source's sha256 and this module's version; the fit is deterministic, so two preparers write the
same bytes. ``prepare nb301-mini`` does it explicitly; a ``data fetch`` step should call ``ensure``.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from benchmarks.surrogates.fit import FitSettings, TrainingData, fit
from benchmarks.surrogates.naslib_codec import from_compact
from harness.errors import DataError

VERSION = 1
SECONDS_PER_MFLOP = 25.0  # nominal: a 200-MFLOP cell costs 5,000 simulated s
FIDELITY = 100.0          # NAS-Bench-301 trained every cell for 100 epochs
RELATIVE = Path("automl__NASLib") / "naslib" / "data" / "zc_nasbench301.json"
SETTINGS = FitSettings(members=5, trees=150, depth=4, eta=0.05)


def find_source(root: Path) -> Path:
    """The json under a data folder (or the file itself)."""
    root = Path(root)
    for cand in (root, root / RELATIVE, root / "zc_nasbench301.json"):
        if cand.is_file():
            return cand
    raise DataError(f"no zc_nasbench301.json under {root} (expected {root / RELATIVE})")


def training_data(source: Path) -> TrainingData:
    """The 500 cells: val = NB301 validation accuracy, cost = nominal seconds from FLOPs."""
    try:
        rows = json.loads(Path(source).read_text())["nasbench301"]["cifar10"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{source} is not NASLib's zc_nasbench301.json ({type(exc).__name__}: {exc})") from None
    codes, val, cost = [], [], []
    for compact, r in rows.items():
        try:
            codes.append(from_compact(compact))
            val.append(float(r["val_accuracy"]))
            cost.append(float(r["flops"]) * SECONDS_PER_MFLOP)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{source}: a malformed entry {compact[:40]!r} ({exc})") from None
    val_a = np.array(val)
    return TrainingData("darts", np.stack(codes), {"val": val_a, "cost_s": np.array(cost)}, FIDELITY,
                        f"NASLib zc_nasbench301.json ({len(codes)} NAS-Bench-301 cells)",
                        "query = NAS-Bench-301 validation accuracy (100 epochs, CIFAR-10); cost = nominal "
                        f"{SECONDS_PER_MFLOP:g} s per predicted MFLOP; report = predicted validation accuracy",
                        "cifar10")


def prepare(source: Path, out: Path) -> tuple[Path, dict]:
    """Fit and write the surrogate file; returns (path, fit report)."""
    model, report = fit(training_data(source), SETTINGS)
    model.manifest["source_sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    model.manifest["nb301_mini_version"] = VERSION
    return model.save(out), report


def ensure(root: Path, cache: Path) -> Path:
    """The prepared file in ``cache`` for the json under ``root``, fitted on first use."""
    source = find_source(root)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    out = Path(cache) / f"nb301-mini-v{VERSION}-{sha[:16]}.zip"
    if not out.exists():
        prepare(source, out)
    return out
