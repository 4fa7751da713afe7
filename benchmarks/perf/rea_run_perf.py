"""Time per REA run (12,000 simulated s on cifar10-valid) with metering and HDF5 recording as a
study records it (finished runs into packs, ``harness.packs``), against a plain numpy REA loop
over the same arrays in the same process (no metering, no file). ``--files`` times the
one-file-per-run layout instead.

Usage: python benchmarks/perf/rea_run_perf.py [--data DIR] [--runs 200]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.nb201 import make  # noqa: E402
from harness.budget import Budget  # noqa: E402
from harness.packs import PackWriter  # noqa: E402
from harness.run import run_one  # noqa: E402


def plain_rea(val: np.ndarray, cost: np.ndarray, space, seed: int) -> float:
    """The baseline: REA as a bare loop over arrays, no harness."""
    rng = np.random.default_rng(seed)
    pop: deque = deque()
    spent, best = 0.0, -1.0
    while True:
        if len(pop) < 10:
            child = space.sample(rng, 1)[0]
        else:
            picks = rng.integers(0, 10, size=3)
            child = space.mutate(max((pop[i] for i in picks), key=lambda m: m[1])[0], rng)
        i = int(space.index(child[None])[0])
        if spent + cost[i] > 12000:
            return best
        spent += cost[i]
        best = max(best, val[i])
        pop.append((child, val[i]))
        if len(pop) > 10:
            pop.popleft()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--files", action="store_true", help="one HDF5 file per run (no packs)")
    args = ap.parse_args()
    cache = tempfile.mkdtemp()
    task = make("cifar10-valid", data=args.data, cache=cache)
    out = Path(tempfile.mkdtemp())
    budget = Budget(max_cost_s=12000)
    run_one("regularized_evolution", task, budget, 10_000, out / "warm.h5")
    sink = None if args.files else PackWriter()
    t0 = time.perf_counter()
    for s in range(args.runs):
        run_one("regularized_evolution", task, budget, s, out / f"{s}.h5", sink=sink)
    if sink is not None:
        sink.close()  # the last pack's write is part of the cost
    ours = (time.perf_counter() - t0) / args.runs
    t0 = time.perf_counter()
    for s in range(args.runs):
        plain_rea(task._val[12.0], task._cost[12.0], task.space, s)
    base = (time.perf_counter() - t0) / args.runs
    layout = "one file per run" if args.files else "packs"
    print(f"REA run with metering + HDF5 ({layout}): {ours * 1e3:.2f} ms; plain numpy loop: {base * 1e3:.2f} ms; "
          f"ratio {ours / base:.2f}x; target <= 10 ms -> {'OK' if ours <= 0.010 else 'MISSED'}")


if __name__ == "__main__":
    main()
