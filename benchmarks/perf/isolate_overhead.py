"""What sealing and ``--isolate`` cost on NB201 cifar10-valid: per query (the harness's own
``MeteredEvaluator`` called directly, through the ``SealedEvaluator`` a method gets, and from an
isolated process over the socket) and per REA run of 12,000 simulated seconds (in-process vs
isolated, each run to its own file, the isolated one including its interpreter's start).

Usage: python benchmarks/perf/isolate_overhead.py [--data DIR] [--queries 20000] [--runs 20]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# only what an isolated process may import (it imports this module to build QueryLoop): the rest,
# which reads HDF5, is imported inside the functions that run in the harness process
from harness.budget import Budget


@dataclass(frozen=True)
class LoopConfig:
    n: int = 1000


class QueryLoop:
    """Asks ``n`` sampled architectures one at a time (timed from the parent; the child imports
    this module, so it imports no benchmark at the top)."""

    Config = LoopConfig

    def __init__(self, space: Any, rng: np.random.Generator, config: LoopConfig) -> None:
        self.codes = space.sample(rng, config.n)

    def search(self, evaluator: Any) -> None:
        for c in self.codes:
            evaluator.evaluate(c)


def _meter(task: Any, n: int, out: Path) -> Any:
    from harness.evaluator import MeteredEvaluator
    from harness.recorder import Recorder

    rec = Recorder(out / f"q-{time.perf_counter_ns()}.h5", task.space.n_dims, {})
    return MeteredEvaluator(task, Budget(max_evals=n), rec)


def per_query(task: Any, n: int, out: Path) -> dict[str, float]:
    """Seconds per query: direct, sealed, isolated (isolated: the difference of two run lengths,
    so the child's start cancels)."""
    from benchmarks.perf import (
        isolate_overhead,  # by name: the child imports it so, not as __main__
    )
    from harness.isolation import run_isolated
    from harness.sealed import seal
    from harness.seeding import stream

    loop = isolate_overhead.QueryLoop
    codes = task.space.sample(np.random.default_rng(0), n)
    times: dict[str, list[float]] = {"direct": [], "sealed": []}
    for _ in range(3):  # interleaved, best of three (the machine is shared)
        for kind, best in times.items():
            meter = _meter(task, n, out)
            ev = meter if kind == "direct" else seal(meter)
            t0 = time.perf_counter()
            for c in codes:
                ev.evaluate(c)
            best.append((time.perf_counter() - t0) / n)
    result = {k: min(v) for k, v in times.items()}
    walls = {}
    for m in (200, n + 200):
        best = float("inf")
        for _ in range(2):
            meter = _meter(task, m, out)
            t0 = time.perf_counter()
            run_isolated(loop, task, stream(0, "perf"), loop.Config(m), meter, guard=[])
            best = min(best, time.perf_counter() - t0)
        walls[m] = best
    result["isolated"] = (walls[n + 200] - walls[200]) / n
    result["isolated_start"] = walls[200] - 200 * result["isolated"]
    return result


def per_run(task: Any, runs: int, out: Path) -> dict[str, float]:
    """Seconds per REA run (12,000 s budget), in-process and isolated, interleaved."""
    from harness.run import run_one

    budget = Budget(max_cost_s=12000)
    run_one("regularized_evolution", task, budget, 10_000, out / "warm.h5")
    t = {False: 0.0, True: 0.0}
    n_evals = 0
    for s in range(runs):
        for isolate in (False, True):
            t0 = time.perf_counter()
            r = run_one("regularized_evolution", task, budget, s, out / f"{'iso' if isolate else 'in'}-{s}.h5",
                        isolate=isolate)
            t[isolate] += time.perf_counter() - t0
            n_evals += r["n_evals"] * isolate
    return {"in_process": t[False] / runs, "isolated": t[True] / runs, "evals_per_run": n_evals / runs}


def main() -> None:
    from benchmarks.nb201 import make

    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    task = make("cifar10-valid", data=args.data, cache=tempfile.mkdtemp())
    out = Path(tempfile.mkdtemp())
    q = per_query(task, args.queries, out)
    r = per_run(task, args.runs, out)
    print(f"per query: direct {q['direct'] * 1e6:.2f} us, sealed {q['sealed'] * 1e6:.2f} us "
          f"(+{(q['sealed'] - q['direct']) * 1e6:.2f} us), isolated {q['isolated'] * 1e6:.1f} us "
          f"(+{(q['isolated'] - q['direct']) * 1e6:.1f} us); isolated process start {q['isolated_start'] * 1e3:.0f} ms")
    print(f"per REA run (12000 s, {r['evals_per_run']:.0f} queries): in-process {r['in_process'] * 1e3:.1f} ms, "
          f"isolated {r['isolated'] * 1e3:.1f} ms (+{(r['isolated'] - r['in_process']) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
