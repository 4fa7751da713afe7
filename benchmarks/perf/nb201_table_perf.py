"""Open time, peak memory and query throughput of the prepared NB201 table.

Baseline in the same process: reading the same figures from the public CSV exports (what a user
without a prepared table does). Usage: python benchmarks/perf/nb201_table_perf.py [--data DIR]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.tabular.nb201_sources import read_exports  # noqa: E402
from benchmarks.spaces.nb201 import NB201Space  # noqa: E402
from benchmarks.tabular.nb201_table import ensure_table, open_table  # noqa: E402
from harness.config import FETCH_HINT, data_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--cache", default=tempfile.mkdtemp())
    args = ap.parse_args()
    src = data_dir(args.data, FETCH_HINT)
    path = ensure_table(src, Path(args.cache))

    t0 = time.perf_counter()
    read_exports(src, NB201Space())
    t_csv = time.perf_counter() - t0

    opens = []
    for _ in range(5):
        t0 = time.perf_counter()
        table = open_table(path)
        opens.append(time.perf_counter() - t0)
    tracemalloc.start()
    table = open_table(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rng = np.random.default_rng(0)
    idx = rng.integers(0, 15625, size=1_000_000)
    t0 = time.perf_counter()
    table.query(idx, "cifar10-valid", "valid_acc", 12)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in idx[:20000]:
        table.query([int(i)], "cifar10-valid", "valid_acc", 12)
    t_one = (time.perf_counter() - t0) / 20000

    print(f"prepared table: {path.stat().st_size / 1e6:.1f} MB on disk")
    print(f"open: median {np.median(opens) * 1e3:.1f} ms, peak Python memory {peak / 1e6:.1f} MB "
          f"(process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB)")
    print(f"baseline (parse the CSV exports): {t_csv * 1e3:.0f} ms -> open is {t_csv / np.median(opens):.0f}x faster")
    print(f"vectorised query: {len(idx) / t_vec / 1e6:.1f} M lookups/s; one-by-one: {1 / t_one / 1e3:.0f} k lookups/s")
    print(f"targets: open < 500 ms -> {'OK' if np.median(opens) < 0.5 else 'MISSED'}; "
          f"memory < 100 MB -> {'OK' if peak < 100e6 else 'MISSED'}")


if __name__ == "__main__":
    main()
