"""Our side of the simulated-workers anchor check (docs/scale.md): asynchronous RS and REA with
``--sim-workers 4`` on NB201 cifar10-valid under Syne Tune's nas201-cifar10 simulator protocol
(4 workers, 5 h = 18,000 s of simulated wall-clock; REA with Syne Tune's population 100 and sample
10), over many seeds. Prints each method's mean final test accuracy with its standard error,
evaluations per run and the measured (wall and CPU) time per run, to set beside Syne Tune's own figures:
per run of the whole ``compare`` (the table loaded once per study), and without that one-off load
(what Syne Tune's per-run figure leaves out: building its blackbox).

Usage: python benchmarks/perf/sim_workers_anchor.py [--data DIR] [--seeds 100] [--workers 4]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.budget import Budget  # noqa: E402
from harness.runner import CompareSpec, compare, make_tasks  # noqa: E402

WALL_S, SIM_WORKERS = 5 * 3600, 4  # Syne Tune's nas201-cifar10 benchmark definition
REA = {"population": 100, "sample_size": 10}  # Syne Tune's REA defaults


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--workers", type=int, default=1, help="processes (per-run time is measured with 1)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("random_search", "regularized_evolution"):
            spec = CompareSpec(benchmark="nb201", datasets=("cifar10-valid",), methods=(method,),
                               seeds=tuple(range(args.seeds)), budget=Budget(max_cost_s=WALL_S), out=Path(tmp) / method,
                               data=args.data, cache=args.cache, workers=args.workers, sim_workers=SIM_WORKERS,
                               method_configs={method: REA} if method == "regularized_evolution" else {})
            c0 = time.process_time()
            make_tasks(spec)  # what compare does once per study before its runs: the table's load
            load_cpu = time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            runs = compare(spec)
            per_run, cpu = (time.perf_counter() - t0) / len(runs), (time.process_time() - c0) / len(runs)
            bare = (time.process_time() - c0 - load_cpu) / len(runs)
            test = np.array([r["report_test"] for r in runs])
            evals = np.mean([r["n_evals"] for r in runs])
            print(f"{method}: test {test.mean():.3f} ± {test.std(ddof=1) / np.sqrt(len(test)):.3f} (s.e.), "
                  f"std {test.std(ddof=1):.3f}, {len(runs)} seeds, {evals:.0f} evals/run, {per_run * 1e3:.1f} ms/run "
                  f"({cpu * 1e3:.1f} ms CPU; {bare * 1e3:.1f} ms CPU without the table's load, "
                  f"{load_cpu * 1e3:.0f} ms CPU once)")


if __name__ == "__main__":
    main()
