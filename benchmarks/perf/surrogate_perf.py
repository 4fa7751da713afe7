"""Queries per second of each surrogate adapter, batched and one at a time (noisy policy, fresh
architectures, so every query is predicted; repeated architectures are answered from a memo).

Usage: python benchmarks/perf/surrogate_perf.py [--data NB201_DIR] [--surrogate FILE] [--nb301 DIR] [--yahpo DIR]
                                                [--jahs DIR]
  --surrogate: a file from `surrogate fit` (default: fit a 3 x 100-tree one on the NB201 table)
  --nb301: NAS-Bench-301 v1.0's unzipped models; --yahpo: YAHPO Gym's data folder;
  --jahs: JAHS-Bench-201's download folder (assembled_surrogates/cifar10/); each skipped when absent
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.config import data_dir  # noqa: E402


def _fresh(task):  # predictions are memoised per architecture: clear them to time the model
    memo = getattr(getattr(task.predictor, "model", None), "_memo", None)
    if memo is not None:
        memo.clear()


def measure(name: str, task, n_batch: int = 2000, n_one: int = 300) -> None:
    codes = task.space.sample(np.random.default_rng(0), n_batch)
    fid = task.default_fidelity
    task.evaluate_keyed(codes[:2], fid, 0, 0)  # load the model
    _fresh(task)
    t0 = time.perf_counter()
    task.evaluate_keyed(codes, fid, 0, 0)
    batched = n_batch / (time.perf_counter() - t0)
    _fresh(task)
    t0 = time.perf_counter()
    for i in range(n_one):
        task.evaluate_keyed(codes[i], fid, 0, i)
    one = n_one / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(n_one):
        task.evaluate_keyed(codes[i], fid, 0, i)
    memo = n_one / (time.perf_counter() - t0)
    print(f"{name:<28} batched {batched:>9,.0f} q/s   one at a time {one:>8,.0f} q/s   "
          f"repeated (memo) {memo:>8,.0f} q/s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--surrogate")
    ap.add_argument("--nb301")
    ap.add_argument("--yahpo")
    ap.add_argument("--jahs")
    ap.add_argument("--cache", default=tempfile.mkdtemp())
    args = ap.parse_args()
    root = data_dir(args.data)
    from benchmarks import nb301_mini, surrogate

    path = args.surrogate
    if path is None:
        from benchmarks.surrogates.fit import FitSettings, fit
        from benchmarks.surrogates.sources import training_data

        model, _ = fit(training_data(root, "nb201", cache=Path(args.cache)), FitSettings(members=3, trees=100))
        path = model.save(Path(args.cache) / "nb201-small.zip")
    measure(f"surrogate ({Path(path).name})", surrogate.make("cifar10-valid", data=path, noise="surrogate"))
    measure("nb301-mini", nb301_mini.make("cifar10", data=root, cache=args.cache, noise="surrogate"))
    if args.nb301:
        from benchmarks import nb301

        measure("nb301 (v1.0 files)", nb301.make("cifar10", data=args.nb301, noise="surrogate"), n_one=100)
    else:
        print("nb301 (v1.0 files)           skipped: pass --nb301 DIR", flush=True)
    if args.yahpo:
        from benchmarks import yahpo_nb301

        measure("yahpo-nb301 (onnx)", yahpo_nb301.make("cifar10", data=args.yahpo), n_one=100)
    else:
        print("yahpo-nb301 (onnx)           skipped: pass --yahpo DIR", flush=True)
    if args.jahs:
        from benchmarks import jahs

        measure("jahs (cifar10)", jahs.make("cifar10", data=args.jahs), n_one=100)
    else:
        print("jahs (assembled_surrogates)  skipped: pass --jahs DIR", flush=True)


if __name__ == "__main__":
    main()
