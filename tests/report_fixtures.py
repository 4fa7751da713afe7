"""Small trajectory files for report tests, written with the real Recorder."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from harness.recorder import Recorder

BUDGET = 100.0


def write_run(root: Path, method: str, dataset: str, seed: int, costs: Sequence[float],
              vals: Sequence[float], tests: Sequence[float] | None = None,
              complete: bool = True, **attrs: Any) -> Path:
    """One run whose i-th query costs ``costs[i]`` and sees ``vals[i]``; report values default
    to val + 1 (valid) and val + 2 (test) unless ``tests`` is given."""
    path = Path(root) / "nb201" / dataset / method / f"seed-{seed}.h5"
    base = {"method": method, "config": {}, "seed": seed, "benchmark": "nb201", "dataset": dataset,
            "budget_max_evals": -1, "budget_max_cost_s": BUDGET, "budget_max_epochs": -1,
            "cost_unit": "simulated_s", "data_sha256": "x", "protocol": "nb201",
            "package_version": "0.1.0"}
    base.update(attrs)
    rec = Recorder(path, 6, base, durable=not complete)  # an unfinished run is a journal
    cum = np.cumsum(costs)
    tests = [v + 2 for v in vals] if tests is None else tests
    for i, (c, v, t) in enumerate(zip(costs, vals, tests)):
        rec.append(np.full(6, i % 5, dtype=np.int16),
                   {"arch_index": i, "fidelity": 12.0, "cost_s": c, "cum_cost_s": cum[i],
                    "epochs": 12.0, "val": v, "report_valid": v + 1, "report_test": t,
                    "wall_s": 0.01 * (i + 1), "kind": 0})
    rec.close(complete=complete)
    return path


def write_study(root: Path, methods: Sequence[str] = ("rs", "rea"),
                datasets: Sequence[str] = ("cifar10-valid", "cifar100"), seeds: int = 5) -> Path:
    """A tiny study: method index m adds m to every value, so later methods are better."""
    for d_i, ds in enumerate(datasets):
        for m_i, m in enumerate(methods):
            for s in range(seeds):
                rng = np.random.default_rng([s, m_i, d_i])
                costs = rng.uniform(4, 8, size=12)
                vals = 60 + 10 * d_i + 3 * m_i + np.cumsum(rng.uniform(0, 1, size=12))
                write_run(root, m, ds, s, costs, vals)
    return root
