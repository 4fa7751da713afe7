"""Wall time of a Table-5-sized NB201 study (RS, REA, REINFORCE, BOHB x 3 datasets, each searched on
its own, x N seeds at 12,000 simulated s: the per-dataset workload at one budget; the paper-protocol
preset searches cifar10-valid only) through ``harness.runner.compare`` with packs, against a baseline measured in
the same process: the same runs with no metering and no recording (each method's search loop fed
straight from the table's arrays). Prints the study's mean ± std test accuracy per method and
dataset next to the NB201 paper's CIFAR-10 test numbers.

Usage: python benchmarks/perf/table5_study_perf.py [--seeds 500] [--workers 2] [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.budget import Budget  # noqa: E402
from harness.errors import BudgetExhausted  # noqa: E402
from harness.registry import METHODS  # noqa: E402
from harness.run import make_config
from harness.runner import CompareSpec, compare, make_tasks  # noqa: E402
from harness.seeding import stream  # noqa: E402

METHODS_T5 = ("regularized_evolution", "random_search", "reinforce", "bohb-nb201")
DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
PAPER_C10_TEST = {"random_search": "93.70 ± 0.36", "regularized_evolution": "93.92 ± 0.30",
                  "reinforce": "93.85 ± 0.37", "bohb-nb201": "93.61 ± 0.52"}


class _Bare:
    """The evaluator surface with no metering or recording: the baseline's cost floor."""

    def __init__(self, task, budget_s: float) -> None:
        self.space, self._task, self._left = task.space, task, budget_s
        self.fidelities, self.default_fidelity, self.constraint = task.fidelities, task.default_fidelity, None
        self._one = task.evaluate_one  # the table lookup the metered evaluator uses, nothing else

    def evaluate(self, codes, fidelity=None):
        fid = self.default_fidelity if fidelity is None else float(fidelity)
        val, c = self._one(np.asarray(codes), fid)[:2]
        if c > self._left:
            raise BudgetExhausted
        self._left -= c
        return np.float64(val)

    def feasible(self, codes):
        return np.ones(len(np.atleast_2d(codes)), dtype=bool)


def bare_study(tasks, seeds: range) -> None:
    for ds in DATASETS:
        for m in METHODS_T5:
            cls, cfg = METHODS.get(m), make_config(m, None)
            for s in seeds:
                try:
                    cls(tasks[ds].space, stream(s, "method", m), cfg).search(_Bare(tasks[ds], 12000.0))
                except BudgetExhausted:
                    pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cache = os.environ.get("NAS_HARNESS_CACHE") or tempfile.mkdtemp()
    out = Path(tempfile.mkdtemp())
    spec = CompareSpec(benchmark="nb201", datasets=DATASETS, methods=METHODS_T5, seeds=tuple(range(args.seeds)),
                       budget=Budget(max_cost_s=12000.0), out=out, data=args.data, cache=cache,
                       workers=args.workers)
    tasks = make_tasks(spec)  # prepares the table once, outside the timing
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores", file=sys.stderr)
    c0, t0 = time.process_time(), time.perf_counter()
    records = compare(spec)
    study_s = time.perf_counter() - t0
    study_cpu = time.process_time() - c0
    n_base = max(1, args.seeds // 10)
    t0 = time.perf_counter()
    bare_study(tasks, range(n_base))
    base_s = (time.perf_counter() - t0) * args.seeds / n_base  # one process, scaled to the study
    print(f"Table-5 study, {len(records)} runs, {args.workers} workers: {study_s:.1f} s wall "
          f"(parent CPU {study_cpu:.1f} s); bare search loops, 1 process, no metering/recording: "
          f"{base_s:.1f} s ({n_base} seeds/method/dataset, scaled); study/bare {study_s / base_s:.2f}x; "
          f"target < 20 s -> {'OK' if study_s < 20 else 'MISSED'}")
    print("method, dataset: mean ± std test accuracy over seeds (ddof=1)   [NB201 paper, CIFAR-10]")
    for m in METHODS_T5:
        for ds in DATASETS:
            v = np.array([r["report_test"] for r in records if r["method"] == m and r["dataset"] == ds])
            paper = f"   [{PAPER_C10_TEST[m]}]" if ds == "cifar10-valid" else ""
            print(f"  {m:22s} {ds:15s} {np.nanmean(v):.2f} ± {np.nanstd(v, ddof=1):.2f}{paper}")


if __name__ == "__main__":
    main()
