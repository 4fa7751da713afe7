"""What each executor costs per run (docs/scale.md): one RS + REA study on NB201 cifar10-valid
(12,000 simulated seconds per run) through ``local`` (1 and N workers), ``gpus`` (fake devices: one
run per device at a time), ``ray`` (a local instance, its start timed apart) and ``slurm``
(submitit's local mode), each into a fresh store; prints seconds per run, start-up included and not.

Usage: python benchmarks/perf/executor_cost.py [--data DIR] [--seeds 100] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.budget import Budget  # noqa: E402
from harness.runner import CompareSpec, compare  # noqa: E402


def _study(out: Path, args: argparse.Namespace, executor: str, workers: int, **options) -> float:
    spec = CompareSpec(benchmark="nb201", datasets=("cifar10-valid",),
                       methods=("random_search", "regularized_evolution"), seeds=tuple(range(args.seeds)),
                       budget=Budget(max_cost_s=12000), out=out, data=args.data, cache=args.cache,
                       workers=workers, executor=executor, executor_options=options)
    t0 = time.perf_counter()
    runs = compare(spec)
    return (time.perf_counter() - t0) / len(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip", default="", help="comma list of executors not to time (e.g. ray,slurm)")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    n = args.workers
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _study(root / "warm", args, "local", 1)  # the table is prepared once, outside the timings
        print(f"local, 1 worker:   {_study(root / 'l1', args, 'local', 1) * 1e3:8.2f} ms/run")
        print(f"local, {n} workers:  {_study(root / 'ln', args, 'local', n) * 1e3:8.2f} ms/run")
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(n))  # fake devices
        print(f"gpus, {n} devices:   {_study(root / 'g', args, 'gpus', n) * 1e3:8.2f} ms/run (one run per chunk)")
        if "ray" not in skip:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False, configure_logging=False)
            started = time.perf_counter() - t0
            print(f"ray, {n} CPUs:       {_study(root / 'r', args, 'ray', n) * 1e3:8.2f} ms/run "
                  f"(+ {started:.1f} s to start the instance)")
            ray.shutdown()
        if "slurm" not in skip:
            print(f"slurm (local mode): {_study(root / 's', args, 'slurm', n, cluster='local', poll_s=0.2) * 1e3:8.2f} "
                  "ms/run (a process per array element)")


if __name__ == "__main__":
    main()
